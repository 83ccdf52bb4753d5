package browser

import "testing"

// TestJSHarness: the harness passes arguments, returns results, and the
// browser has the WebCrypto primitives the end-to-end code relies on.
func TestJSHarness(t *testing.T) {
	b, _ := jsHarness(t)
	r := runJSModule(t, b, "/harness/selftest.js", map[string]string{"echo": "x"})
	if r.Checked != 3 || string(r.Data) != `{"echo":"x"}` {
		t.Fatalf("result %+v", r)
	}
	b.checkConsole()
}
