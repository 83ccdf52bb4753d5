package web

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestBypassOnlyInBypassBuild: static/e2ee/build.js, which the media worker
// and the page read before honouring ?e2ee=bypass, says BYPASS_BUILD = true
// exactly when the binary was built with -tags e2eebypass, and false in
// every other build (the production binary has no way to turn it on).
func TestBypassOnlyInBypassBuild(t *testing.T) {
	res := get(t, Handler(), http.MethodGet, "/static/e2ee/build.js")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("build.js: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	want := "export const BYPASS_BUILD = false;"
	if bypassBuild {
		want = "export const BYPASS_BUILD = true;"
	}
	if strings.Count(string(body), "BYPASS_BUILD =") != 1 || !strings.Contains(string(body), want) {
		t.Errorf("bypassBuild %v: build.js is\n%s\nwant it to contain %q and no other assignment", bypassBuild, body, want)
	}
}
