package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"hotline/internal/demo"
	"hotline/internal/httpapi"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
)

// TestOpenServesTheClient: `hotline open` serves the embedded client on a
// loopback address, prints where, and names the line server in the page.
func TestOpenServesTheClient(t *testing.T) {
	tier.Integration(t)
	ctx, cancel := context.WithCancel(context.Background())
	const listed = "http://127.0.0.1:8790"
	srv := servertest.Start(t, server.Config{LocalOrigins: httpapi.LocalOrigins{demo.Line: {listed}}}, nil)
	base, done := startPrinting(t, ctx, "open", "--server", srv.URL(), "--listen", "127.0.0.1:0")
	res, err := (&http.Client{Timeout: time.Minute}).Get(base + "/enrol")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `content="`+srv.URL()+`"`) {
		t.Fatalf("GET /enrol: %d\n%.500s", res.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("open after interrupt: %v", err)
	}
	// What open says of its origin, asked as the browser will ask.
	for origin, want := range map[string]string{listed: "accepts this origin", base: "refuses this origin (HTTP 403)"} {
		if got := originAccepted(context.Background(), http.DefaultClient, srv.URL(), origin); !strings.Contains(got, want) {
			t.Errorf("origin %s: %q, want %q", origin, got, want)
		}
	}
}

// startPrinting runs a hotline command that serves until ctx ends and
// prints "open URL …"; it returns that URL and the command's result.
func startPrinting(t *testing.T, ctx context.Context, args ...string) (string, <-chan error) {
	t.Helper()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, pw, io.Discard)
		pw.Close()
	}()
	var base string
	sc := bufio.NewScanner(pr)
	for base == "" && sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "open "); ok {
			base = strings.TrimSuffix(strings.Fields(rest)[0], "/")
		}
	}
	go io.Copy(io.Discard, pr)
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("%s printed no local address (%q)", args[0], base)
	}
	return base, done
}

func TestOpenBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"open"},
		{"open", "--server", "http://10.0.0.1:8080"},
		{"open", "--server", "https://x/path"},
		{"open", "--server", "https://x", "--listen", "0.0.0.0:0"},
		{"open", "--server", "https://x", "--listen", "10.1.2.3:8790"},
		{"open", "--server", "https://x", "extra"},
	} {
		if _, _, err := runCmd(args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	if _, _, err := runCmd("serve", "--local-origin", "demo=http://10.0.0.1:80"); err == nil || !strings.Contains(err.Error(), "local client origin") {
		t.Errorf("serve --local-origin with a non-loopback origin: %v", err)
	}
}
