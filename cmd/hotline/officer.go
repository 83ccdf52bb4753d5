package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"sync"

	"hotline/internal/api"
	"hotline/internal/apiclient"
	"hotline/internal/approval"
	"hotline/internal/trust"
)

// DefaultOfficerListen is where `hotline officer` serves its page.
const DefaultOfficerListen = "127.0.0.1:8791"

// runOfficer implements `hotline officer`: the side's approval page, served
// by this binary on a loopback address. The binary reads the authority file
// and signs the credentials; the page (plain forms, no script) and the line
// server never see the key (docs/THREAT_MODEL.md, "Local client mode").
func runOfficer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("officer", flag.ContinueOnError)
	fl.SetOutput(stderr)
	open := queueFlags(fl)
	listen := fl.String("listen", DefaultOfficerListen, "loopback `address` to serve the page on")
	if err := parseAuthorityFlags(fl, args); err != nil {
		return err
	}
	cl, a, err := open(ctx)
	if err != nil {
		return fmt.Errorf("officer: %w", err)
	}
	ln, err := listenLoopback(*listen)
	if err != nil {
		return fmt.Errorf("officer: %w", err)
	}
	line, server := fl.Lookup("line").Value.String(), fl.Lookup("server").Value.String()
	fmt.Fprintf(stdout, "officer of side %s on line %s (authority %s), signed in at %s\n", a.Side, line, a.Fingerprint(), server)
	fmt.Fprintf(stdout, "open http://%s/ in your browser to approve devices\n", ln.Addr())
	h := approval.New(approval.Config{Queue: &officerQueue{cl: cl, open: open}, Authority: a, Line: line, Server: server, MaxValid: maxValid})
	if err := serveLoopback(ctx, ln, h); err != nil {
		return fmt.Errorf("officer: %w", err)
	}
	return nil
}

// officerQueue is the officer's queue on the server; an officer session
// lasts an hour, so an expired one is opened again (a new challenge signed
// with the authority) and the call retried once.
type officerQueue struct {
	mu   sync.Mutex
	cl   *apiclient.Client
	open func(context.Context) (*apiclient.Client, *trust.Authority, error)
}

func (q *officerQueue) do(ctx context.Context, f func(*apiclient.Client) error) error {
	q.mu.Lock()
	cl := q.cl
	q.mu.Unlock()
	err := f(cl)
	if apiclient.Status(err) != http.StatusUnauthorized {
		return err
	}
	cl, _, err = q.open(ctx)
	if err != nil {
		return err
	}
	q.mu.Lock()
	q.cl = cl
	q.mu.Unlock()
	return f(cl)
}

func (q *officerQueue) Pending(ctx context.Context) (ps []api.Pending, err error) {
	err = q.do(ctx, func(cl *apiclient.Client) error { ps, err = cl.Pending(ctx); return err })
	return ps, err
}

func (q *officerQueue) Approve(ctx context.Context, id string, cred trust.Credential) error {
	return q.do(ctx, func(cl *apiclient.Client) error { return cl.Approve(ctx, id, cred) })
}

func (q *officerQueue) Reject(ctx context.Context, id string) error {
	return q.do(ctx, func(cl *apiclient.Client) error { return cl.Reject(ctx, id) })
}
