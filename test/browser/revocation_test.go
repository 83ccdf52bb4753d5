package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"hotline/internal/api"
	"hotline/internal/apiclient"
	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/servertest"
)

// TestRevocationVectorsJS (PROTOCOL.md, "Revocation"): the browser's
// e2ee/revocation.js gives every verdict of testdata/revocation.json, the
// same as internal/trust's VerifyRevocation (TestRevocationVectors), and
// applies the same serial rule to the sequence of lists: a list never goes
// back.
func TestRevocationVectorsJS(t *testing.T) {
	data, err := os.ReadFile("../../testdata/revocation.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cases    []json.RawMessage `json:"cases"`
		Sequence []json.RawMessage `json:"sequence"`
	}
	if err := json.Unmarshal(data, &v); err != nil || len(v.Cases) == 0 || len(v.Sequence) == 0 {
		t.Fatalf("revocation.json: %d cases, %d offers, %v", len(v.Cases), len(v.Sequence), err)
	}
	b, _ := jsHarness(t)
	r := runJSModule(t, b, "/harness/revocation_vectors.js", nil)
	if r.Checked != len(v.Cases)+len(v.Sequence) {
		t.Errorf("JS checked %d, the file holds %d", r.Checked, len(v.Cases)+len(v.Sequence))
	}
	var held struct {
		East, West int
		Revoked    []string
	}
	if err := json.Unmarshal(r.Data, &held); err != nil {
		t.Fatal(err)
	}
	if held.East != 3 || held.West != 1 || len(held.Revoked) != 1 {
		t.Errorf("after the sequence the browser holds %+v, want east 3, west 1, one device", held)
	}
	b.checkConsole()
}

// TestBrowserRevocation (PROTOCOL.md, "Revocation"): a browser in a call
// with a native endpoint whose device west's authority then revokes. The
// server takes the endpoint out at once; the page's roster drops it, its
// E2EE session holds west's signed list (verified in the page against its
// own pins) naming the device, and the header shows until when the page's
// own credential is valid.
func TestBrowserRevocation(t *testing.T) {
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitTimeout)
	defer cancel()
	dev := enrolDevice(t, srv, "native")
	native, err := client.Join(ctx, client.Config{Server: srv.URL(), Line: demo.Line, Call: "rv", Device: dev, Publish: true})
	if err != nil {
		t.Fatalf("native endpoint: join: %v", err)
	}
	t.Cleanup(func() { native.Close() })
	web := newBrowser(t, "web", 1280, 720)
	web.open(srv.URL() + "/call/rv?name=web&autojoin=1")
	web.waitVideoGrowing("native")

	list, err := srv.Demo.Authority(demo.West).Revoke(demo.Line, 1, time.Now(), []string{dev.ID()})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := apiclient.New(srv.URL(), &http.Client{Timeout: waitTimeout})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Do(ctx, "POST", "/api/lines/"+demo.Line+"/revocations", api.RevocationBody{Revocation: list}, nil); err != nil {
		t.Fatalf("posting the list: %v", err)
	}
	select {
	case <-native.Done():
	case <-ctx.Done():
		t.Fatal("the revoked endpoint is still in the call")
	}
	servertest.Eventually(t, "the page to drop the revoked endpoint and hold the list", func() (bool, string) {
		s := web.state()
		revoked := eval[[]string](web, `window.hotline.state().e2ee?.revoked ?? []`)
		return len(s.Roster) == 1 && len(revoked) == 1 && revoked[0] == dev.ID(), fmt.Sprintf("roster %v, revoked %v", s.Roster, revoked)
	})
	expiry := eval[string](web, `document.getElementById('credential-expiry')?.textContent ?? ''`)
	if !strings.HasPrefix(expiry, "credential valid until ") {
		t.Errorf("the header shows %q, want the credential's expiry", expiry)
	}
	web.checkClean()
}
