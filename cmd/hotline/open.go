package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"hotline/internal/certs"
	"hotline/internal/web"
)

// DefaultOpenListen is where `hotline open` serves the client. The port is
// part of the page's origin, which the line server lists per line and
// under which the browser keeps the device's keys: keep it the same from
// one run to the next.
const DefaultOpenListen = "127.0.0.1:8790"

// runOpen implements `hotline open`: the web client from this binary on a
// loopback address, talking to a remote line server (local client mode,
// docs/ARCHITECTURE.md). The code that holds the keys then comes from the
// binary its side installed and checked, never from the server.
func runOpen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("open", flag.ContinueOnError)
	fs.SetOutput(stderr)
	serverURL := fs.String("server", "", "the line server, https://HOST[:PORT] (required)")
	listen := fs.String("listen", DefaultOpenListen, "loopback `address` to serve the client on (its origin must be listed on the server with --local-origin)")
	tlsConfig := caFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("open: unexpected argument %q", fs.Arg(0))
	}
	if *serverURL == "" {
		return errors.New("open: --server URL is required")
	}
	server, err := web.ServerOrigin(*serverURL)
	if err != nil {
		return fmt.Errorf("open: --server: %w", err)
	}
	tc, err := tlsConfig()
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	ln, err := listenLoopback(*listen)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	local := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "hotline client from this binary, for the line server %s\n", server)
	fmt.Fprintf(stdout, "open %s/ in your browser (enrol: %s/enrol, schedule: %s/schedule)\n", local, local, local)
	fmt.Fprintln(stdout, originAccepted(ctx, certs.HTTPClient(tc, 15*time.Second), server.String(), local))
	if err := serveLoopback(ctx, ln, web.Local(server)); err != nil {
		return fmt.Errorf("open: %w", err)
	}
	return nil
}

// serveLoopback serves h on ln until ctx ends, with the bounds of any
// HTTP server of ours.
func serveLoopback(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-done:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// originAccepted asks the server, as the browser will (a CORS preflight
// of the sign-in), whether it accepts the page's origin, and says what to
// do if not. It only informs: the server decides at every request.
func originAccepted(ctx context.Context, hc *http.Client, server, origin string) string {
	hint := "the server's operator must list this origin for your line: hotline serve … --local-origin LINE=" + origin
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, server+"/api/session", nil)
	if err != nil {
		return "warning: " + err.Error()
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", http.MethodPost)
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Sprintf("warning: the line server did not answer (%v); %s", certs.Explain(err), hint)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusNoContent && res.Header.Get("Access-Control-Allow-Origin") == origin {
		return "the line server accepts this origin (for the lines that list it)"
	}
	return fmt.Sprintf("warning: the line server refuses this origin (HTTP %d); %s", res.StatusCode, hint)
}

// listenLoopback listens on addr, which must be a loopback IP address: a
// page on 127.0.0.1 is a secure context without a certificate, and nobody
// else on the network can reach it.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("--listen %q: the client is served on a loopback address only (127.0.0.1 or ::1)", addr)
	}
	return net.Listen("tcp", addr)
}
