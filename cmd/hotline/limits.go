package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"hotline/internal/alert"
	"hotline/internal/call"
	"hotline/internal/httpapi"
	"hotline/internal/readiness"
	"hotline/internal/server"
)

// serverLimitFlags registers the bounds of serve and demo on fs (README,
// "Limits"); check validates them after parsing.
func serverLimitFlags(fs *flag.FlagSet, cfg *server.Config) (check func() error) {
	l := &cfg.Limits
	fs.DurationVar(&l.JoinTimeout, "join-timeout", server.DefaultJoinTimeout, "close a WebSocket that has not joined this long after it opened (status 1008)")
	fs.IntVar(&l.MaxConns, "max-conns", server.DefaultMaxConns, "open TCP connections allowed in total (-1: no bound)")
	fs.IntVar(&l.MaxConnsPerAddress, "max-conns-per-address", server.DefaultMaxConnsPerAddress,
		"open TCP connections allowed from one source address, IPv6 /64 (-1: no bound; raise it behind a proxy, where every connection comes from the proxy)")
	fs.DurationVar(&cfg.EmptyCallGrace, "empty-call-grace", call.DefaultEmptyGrace, "keep a live call open this long after its last member left, so that everyone dropping at once (a network blip, a restart) does not end the talks; then it closes and its booked call ends")
	fs.DurationVar(&l.PendingTTL, "pending-ttl", server.DefaultPendingTTL, "delete an enrolment request no officer answered within this time")
	fs.Func("host", "a DNS `name` this server answers to in the Host header (repeat or comma-separate; default localhost and the certificate's names; IP addresses are always answered to)", func(v string) error {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				cfg.Hosts = append(cfg.Hosts, h)
			}
		}
		return nil
	})
	fs.Func("local-origin", "`LINE=ORIGIN`: a local client page (hotline open on a participant's machine, e.g. east-west=http://127.0.0.1:8790) may use this line (repeat for more)", func(v string) error {
		line, origin, ok := strings.Cut(v, "=")
		if !ok {
			return fmt.Errorf("%q is not LINE=ORIGIN", v)
		}
		o, err := httpapi.ParseLocalOrigin(origin)
		if err != nil {
			return err
		}
		if cfg.LocalOrigins == nil {
			cfg.LocalOrigins = httpapi.LocalOrigins{}
		}
		cfg.LocalOrigins[line] = append(cfg.LocalOrigins[line], o)
		return nil
	})
	return func() error {
		switch {
		case l.JoinTimeout <= 0:
			return fmt.Errorf("--join-timeout %v must be positive", l.JoinTimeout)
		case l.MaxConns == 0 || l.MaxConns < -1:
			return fmt.Errorf("--max-conns %d: give a positive number, or -1 for no bound", l.MaxConns)
		case l.MaxConnsPerAddress == 0 || l.MaxConnsPerAddress < -1:
			return fmt.Errorf("--max-conns-per-address %d: give a positive number, or -1 for no bound", l.MaxConnsPerAddress)
		case cfg.EmptyCallGrace <= 0:
			return fmt.Errorf("--empty-call-grace %v must be positive", cfg.EmptyCallGrace)
		case l.PendingTTL <= 0:
			return fmt.Errorf("--pending-ttl %v must be positive", l.PendingTTL)
		}
		return nil
	}
}

// readinessFlags registers the readiness probes' settings of serve and
// demo (README, "Readiness"): webhooks and the results' retention.
func readinessFlags(fs *flag.FlagSet, cfg *server.Config) (check func() error) {
	fs.Func("webhook", "POST readiness alerts (line degraded or down, recovered) as JSON to this `URL` (repeatable)", func(v string) error {
		if err := alert.CheckURL(v); err != nil {
			return err
		}
		cfg.Webhooks = append(cfg.Webhooks, v)
		return nil
	})
	fs.DurationVar(&cfg.ProbeRetention, "probe-retention", readiness.DefaultRetention, "delete readiness probe results older than this")
	return func() error {
		if cfg.ProbeRetention < time.Hour {
			return fmt.Errorf("--probe-retention %v: at least an hour", cfg.ProbeRetention)
		}
		return nil
	}
}
