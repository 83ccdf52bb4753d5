package browser

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"hotline/internal/web"
)

// jsHarness serves, on one loopback origin, the embedded web client (as the
// server does, under /static/), the repository's shared vectors under
// /testdata/ and the harness modules of test/browser/harness under /harness/.
// Tests of the browser's crypto code run there: the code under test is the
// embedded copy, byte for byte what the binary serves.
func jsHarness(t testing.TB) (*browser, string) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/static/", web.Handler())
	mux.Handle("/testdata/", http.StripPrefix("/testdata/", http.FileServer(http.Dir("../../testdata"))))
	mux.Handle("/harness/", http.StripPrefix("/harness/", http.FileServer(http.Dir("harness"))))
	if dir := os.Getenv("HOTLINE_NOBLE"); dir != "" {
		// @noble/ciphers unpacked, for BenchmarkSFrameWorker's comparison only.
		mux.Handle("/noble/", http.StripPrefix("/noble/", http.FileServer(http.Dir(dir))))
	}
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	b := newBrowser(t, "vectors", 800, 600)
	b.navigate(ts.URL + "/harness/index.html")
	return b, ts.URL
}

// JSResult is what a harness module's run() resolves to.
type JSResult struct {
	Checked  int             `json:"checked"`  // vectors or cases checked
	Failures []string        `json:"failures"` // one line per failed check
	Data     json.RawMessage `json:"data"`     // anything the module hands back to Go
}

// runJSModule imports a module on the harness page and awaits run(arg);
// arg is passed as JSON. A thrown error fails the test.
func runJSModule(t testing.TB, b *browser, module string, arg any) JSResult {
	t.Helper()
	a, err := json.Marshal(arg)
	if err != nil {
		t.Fatal(err)
	}
	js := fmt.Sprintf(`import(%q).then(m => m.run(%s)).then(r => JSON.stringify(r), e => JSON.stringify({failures: ["threw: " + (e && e.stack || e)]}))`, module, a)
	out := eval[string](b, js)
	var r JSResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%s: result %q: %v", module, out, err)
	}
	if len(r.Failures) > 0 {
		t.Errorf("%s: %d failures:\n%s", module, len(r.Failures), strings.Join(r.Failures, "\n"))
	}
	return r
}

// navigate loads a page that is not the app (no window.hotline to wait for).
func (b *browser) navigate(url string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("%s: navigate %s: %v", b.name, url, err)
	}
}
