package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/internal/certs"
	"hotline/internal/client"
	"hotline/internal/server"
	"hotline/internal/servertest"
)

// tlsPair makes a `hotline cert init` pair for the loopback address in a
// temporary folder and returns the folder.
func tlsPair(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := certs.Init(dir, []string{"127.0.0.1", "localhost"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	return dir
}

func startTLSServer(t *testing.T) (*servertest.Server, string) {
	t.Helper()
	dir := tlsPair(t)
	srv := startServer(t, server.Config{TLSCert: filepath.Join(dir, certs.CertFile), TLSKey: filepath.Join(dir, certs.KeyFile)})
	t.Cleanup(func() { srv.Close() })
	if !strings.HasPrefix(srv.URL(), "https://127.0.0.1:") {
		t.Fatalf("URL %q is not https", srv.URL())
	}
	return srv, dir
}

// checkHeaders asserts the headers every response carries (issue 9): a CSP
// without unsafe sources that forbids framing, nosniff, no-referrer, and
// HSTS exactly when the response came over TLS.
func checkHeaders(t *testing.T, what string, res *http.Response, overTLS bool) {
	t.Helper()
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-") {
		t.Errorf("%s: CSP %q", what, csp)
	}
	if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q", what, got)
	}
	if got := res.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("%s: Referrer-Policy %q", what, got)
	}
	hsts := res.Header.Get("Strict-Transport-Security")
	if overTLS && !strings.HasPrefix(hsts, "max-age=") {
		t.Errorf("%s: HSTS %q under TLS", what, hsts)
	}
	if !overTLS && hsts != "" {
		t.Errorf("%s: HSTS %q over plain HTTP", what, hsts)
	}
}

// A page, an API answer and an error answer, over HTTPS and over plain
// HTTP on loopback, all carry the security headers.
func TestSecurityHeadersOverTLSAndNot(t *testing.T) {
	tlsSrv, dir := startTLSServer(t)
	plainSrv := startServer(t, server.Config{})
	t.Cleanup(func() { plainSrv.Close() })
	tlsConfig, err := certs.ClientConfig(filepath.Join(dir, certs.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	hc := certs.HTTPClient(tlsConfig, patience)
	defer hc.CloseIdleConnections()
	for _, c := range []struct {
		srv     *servertest.Server
		overTLS bool
	}{{tlsSrv, true}, {plainSrv, false}} {
		for _, r := range []struct {
			method, path string
			status       int
		}{
			{"GET", "/", http.StatusOK},                       // the page
			{"GET", "/static/app.js", http.StatusOK},          // an asset
			{"POST", "/api/session/challenge", http.StatusOK}, // an API answer
			{"GET", "/api/calls", http.StatusUnauthorized},    // an API error
			{"GET", "/no/such/page", http.StatusNotFound},     // an error
			{"GET", "/ws", http.StatusBadRequest},             // not an upgrade
			{"POST", "/api/enrol", http.StatusBadRequest},     // a bad body
		} {
			req, err := http.NewRequest(r.method, c.srv.URL()+r.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := hc.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", r.method, r.path, err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			what := r.method + " " + c.srv.URL() + r.path
			if r.status != 0 && res.StatusCode/100 != r.status/100 {
				t.Errorf("%s: status %d, want %d", what, res.StatusCode, r.status)
			}
			checkHeaders(t, what, res, c.overTLS)
		}
	}
}

// Native endpoints join over wss:// when they trust the CA, and are told
// plainly what is wrong when they do not.
func TestNativeEndpointsOverTLS(t *testing.T) {
	srv, dir := startTLSServer(t)
	tlsConfig, err := certs.ClientConfig(filepath.Join(dir, certs.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	trusting := func(c *client.Config) { c.TLS = tlsConfig }
	a := join(t, srv, "tls", "ann", trusting)
	b := join(t, srv, "tls", "ben", trusting)
	servertest.Eventually(t, "media both ways over a TLS-signalled call", func() (bool, string) {
		if ok, why := flowing(a, "ann", []string{"ben"}, []string{"audio", "video"}, 5)(); !ok {
			return false, why
		}
		return flowing(b, "ben", []string{"ann"}, []string{"audio", "video"}, 5)()
	})

	// Without the CA (the system roots only): a certificate error that
	// says what to do, and no session.
	cfg := client.Config{Server: srv.URL(), Line: "demo", Call: "tls", Device: demoDevice(t, srv, "cat"), Publish: true, Logger: servertest.Logger()}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	c, err := client.Join(ctx, cfg)
	if err == nil {
		c.Close()
		t.Fatal("joined without trusting the server's certificate")
	}
	for _, want := range []string{"certificate", "not trusted", "--ca"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("untrusted join: %v, want it to mention %q", err, want)
		}
	}
	// A certificate for another name is refused too, even when its CA is
	// trusted.
	other := t.TempDir()
	if _, err := certs.Init(other, []string{"hotline.example"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	misnamed := startServer(t, server.Config{TLSCert: filepath.Join(other, certs.CertFile), TLSKey: filepath.Join(other, certs.KeyFile)})
	t.Cleanup(func() { misnamed.Close() })
	cfg.Server = misnamed.URL()
	if cfg.TLS, err = certs.ClientConfig(filepath.Join(other, certs.CAFile)); err != nil {
		t.Fatal(err)
	}
	c, err = client.Join(ctx, cfg)
	if err == nil {
		c.Close()
		t.Fatal("joined a server whose certificate names another host")
	}
	if !strings.Contains(err.Error(), "not for this address") {
		t.Errorf("misnamed server: %v", err)
	}
}

// Plain HTTP sent to the TLS port gets no page, no API and no header of
// ours: only Go's TLS layer answering that this is an HTTPS server.
func TestPlainHTTPOnTLSPort(t *testing.T) {
	srv, _ := startTLSServer(t)
	addr := strings.TrimPrefix(srv.URL(), "https://")
	for _, path := range []string{"/", "/api/session/challenge", "/healthz"} {
		conn, err := net.DialTimeout("tcp", addr, patience)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(patience))
		io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			conn.Close()
			t.Fatalf("%s: %v", path, err)
		}
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		conn.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", path, res.StatusCode)
		}
		for _, leak := range []string{"<html", "<script", "nonce", "ok"} {
			if strings.Contains(strings.ToLower(string(body)), leak) {
				t.Errorf("%s: plain answer leaks %q: %q", path, leak, body)
			}
		}
		if !strings.Contains(string(body), "HTTPS") {
			t.Errorf("%s: body %q does not say the server speaks HTTPS", path, body)
		}
		if res.Header.Get("Content-Security-Policy") != "" {
			t.Errorf("%s: our handler answered plain HTTP", path)
		}
	}
}

// Plain HTTP off loopback is refused before any socket is opened or the
// data folder touched, with an error naming the flags; loopback, TLS and
// --insecure-http are accepted.
func TestPlainHTTPOffLoopbackRefused(t *testing.T) {
	for _, listen := range []string{"10.77.0.1:8080", "0.0.0.0:8080", ":8080", "[::]:8080", "192.0.2.1:0"} {
		dataDir := filepath.Join(t.TempDir(), "data")
		_, err := server.Start(context.Background(), server.Config{Listen: listen, DataDir: dataDir, UDPPort: 0}, servertest.Logger())
		if !errors.Is(err, server.ErrPlainHTTP) {
			t.Errorf("%s: %v, want ErrPlainHTTP", listen, err)
			continue
		}
		for _, flag := range []string{"--tls-cert", "--tls-key", "--insecure-http"} {
			if !strings.Contains(err.Error(), flag) {
				t.Errorf("%s: error %q does not name %s", listen, err, flag)
			}
		}
		if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: data folder created despite the refusal", listen)
		}
	}
	off := net.ParseIP("10.77.0.1")
	for _, c := range []struct {
		cfg server.Config
		ip  net.IP
	}{
		{server.Config{Listen: "127.0.0.1:8080"}, net.ParseIP("127.0.0.1")},
		{server.Config{Listen: "[::1]:8080"}, net.IPv6loopback},
		{server.Config{Listen: "10.77.0.1:8080", TLSCert: "c.pem", TLSKey: "k.pem"}, off},
		{server.Config{Listen: "10.77.0.1:8080", InsecureHTTP: true}, off},
		{server.Config{Listen: ":8080", InsecureHTTP: true}, nil},
	} {
		if err := server.CheckTransport(c.cfg, c.ip); err != nil {
			t.Errorf("%+v refused: %v", c.cfg, err)
		}
	}
	if err := server.CheckTransport(server.Config{TLSCert: "c.pem"}, nil); err == nil || !strings.Contains(err.Error(), "go together") {
		t.Errorf("--tls-cert without --tls-key: %v", err)
	}
}

// A server does not start on a pair that does not load, and leaves the data
// folder alone.
func TestTLSBadPairRefused(t *testing.T) {
	a, b := tlsPair(t), tlsPair(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	_, err := server.Start(context.Background(), server.Config{Listen: "127.0.0.1:0", DataDir: dataDir,
		TLSCert: filepath.Join(a, certs.CertFile), TLSKey: filepath.Join(b, certs.KeyFile)}, servertest.Logger())
	if !errors.Is(err, certs.ErrPair) {
		t.Fatalf("mismatched pair: %v, want certs.ErrPair", err)
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("data folder created despite the refusal")
	}
}

// A renewal needs no restart: once the files change, new handshakes get the
// new certificate (the files are looked at every few seconds at most).
func TestCertificateRenewedWithoutRestart(t *testing.T) {
	a, b := tlsPair(t), tlsPair(t) // the server serves a's files
	certFile, keyFile := filepath.Join(a, certs.CertFile), filepath.Join(a, certs.KeyFile)
	srv := startServer(t, server.Config{TLSCert: certFile, TLSKey: keyFile})
	t.Cleanup(func() { srv.Close() })

	// The client trusts both CAs and reports which leaf it was served.
	roots := x509.NewCertPool()
	for _, dir := range []string{a, b} {
		data, err := os.ReadFile(filepath.Join(dir, certs.CAFile))
		if err != nil {
			t.Fatal(err)
		}
		roots.AppendCertsFromPEM(data)
	}
	served := func() *x509.Certificate {
		t.Helper()
		conn, err := tls.Dial("tcp", strings.TrimPrefix(srv.URL(), "https://"), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0]
	}
	leafOf := func(dir string) *x509.Certificate {
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, certs.CertFile), filepath.Join(dir, certs.KeyFile))
		if err != nil {
			t.Fatal(err)
		}
		return pair.Leaf
	}
	if !served().Equal(leafOf(a)) {
		t.Fatal("first certificate not served")
	}
	// The renewal: b's pair renamed over a's, as an ACME client or an
	// operator's script would replace them.
	renewed := leafOf(b)
	for _, name := range []string{certs.CertFile, certs.KeyFile} {
		if err := os.Rename(filepath.Join(b, name), filepath.Join(a, name)); err != nil {
			t.Fatal(err)
		}
	}
	servertest.Eventually(t, "renewed certificate served", func() (bool, string) {
		return served().Equal(renewed), "still the old certificate"
	})
}
