package httpapi_test

import (
	"errors"
	"strings"
	"testing"

	"hotline/internal/httpapi"
)

func TestParseLocalOrigin(t *testing.T) {
	good := map[string]string{
		"http://127.0.0.1:8790":  "http://127.0.0.1:8790",
		"http://127.0.0.1:8790/": "http://127.0.0.1:8790",
		"http://LOCALHOST:1":     "http://localhost:1",
		"http://[::1]:65535":     "http://[::1]:65535",
	}
	for in, want := range good {
		got, err := httpapi.ParseLocalOrigin(in)
		if err != nil || got != want {
			t.Errorf("ParseLocalOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "null", "127.0.0.1:8790", "https://127.0.0.1:8790", "http://127.0.0.1", "http://127.0.0.1:0",
		"http://127.0.0.1:65536", "http://127.0.0.1:08790", "http://10.0.0.1:8790", "http://example.org:8790",
		"http://127.0.0.2.example:80", "http://127.0.0.1:8790/x", "http://127.0.0.1:8790?", "http://a@127.0.0.1:8790",
		"http://127.0.0.1:8790#f", "ws://127.0.0.1:8790", "http://" + strings.Repeat("a", 200) + ":1",
	} {
		if got, err := httpapi.ParseLocalOrigin(in); !errors.Is(err, httpapi.ErrOrigin) {
			t.Errorf("ParseLocalOrigin(%q) = %q, %v; want ErrOrigin", in, got, err)
		}
	}
	if err := (httpapi.LocalOrigins{"demo": {"http://LOCALHOST:1"}}).Check(); err == nil {
		t.Error("Check accepted a non-canonical origin")
	}
	if err := (httpapi.LocalOrigins{"no/line": {"http://localhost:1"}}).Check(); err == nil {
		t.Error("Check accepted an invalid line name")
	}
}

// FuzzParseLocalOrigin: whatever the input (an Origin header, a flag), the
// parser does not panic, and what it accepts is canonical and loopback.
func FuzzParseLocalOrigin(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:8790", "http://[::1]:1", "http://localhost:80/", "https://x", "null", "http://%41:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := httpapi.ParseLocalOrigin(s)
		if err != nil {
			return
		}
		again, err := httpapi.ParseLocalOrigin(got)
		if err != nil || again != got {
			t.Fatalf("%q → %q is not canonical (%q, %v)", s, got, again, err)
		}
		if !strings.HasPrefix(got, "http://127.0.0.1:") && !strings.HasPrefix(got, "http://localhost:") && !strings.HasPrefix(got, "http://[::1]:") {
			t.Fatalf("%q accepted as %q, not a loopback origin", s, got)
		}
	})
}
