package main

import (
	"context"
	"crypto/tls"
	"log/slog"
	"time"

	"hotline/internal/apiclient"
	"hotline/internal/certs"
	"hotline/internal/client"
)

// witnessEvery is how often `hotline join --witness` looks at the code.
const witnessEvery = time.Second

// witnessCodes signs a witness statement and hands it to the server each
// time the endpoint's verification code settles on a new value
// (docs/PROTOCOL.md, "Signed statements"), until stop is called.
func witnessCodes(ctx context.Context, a *client.Attendee, server, line string, tlsConfig *tls.Config, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		cl, err := apiclient.New(server, certs.HTTPClient(tlsConfig, 30*time.Second))
		if err != nil {
			log.Warn("witness", "err", err)
			return
		}
		t := time.NewTicker(witnessEvery)
		defer t.Stop()
		last := ""
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			c := a.Client()
			if c == nil {
				continue
			}
			code, ok := c.Keys().Code()
			if !ok || code == last {
				continue
			}
			st, err := c.Witness("")
			if err == nil {
				_, err = cl.PostWitness(ctx, line, st)
			}
			if err != nil {
				log.Warn("witness statement", "err", certs.Explain(err))
				continue
			}
			last = code
			log.Info("witness statement in the call record", "code", code)
		}
	}()
	return func() { cancel(); <-done }
}
