package server

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"hotline/internal/peer"
)

// Limits bound what clients, and strangers above all, can hold of a server
// (docs/THREAT_MODEL.md, "Resource bounds"). A zero field takes its
// default; a negative bound (MaxConns, MaxConnsPerAddress) is no bound.
type Limits struct {
	// JoinTimeout closes a WebSocket that has not completed a join this
	// long after it opened (close status 1008).
	JoinTimeout time.Duration
	// WriteTimeout bounds the write of one signalling message to a client:
	// a client that stops reading has its session ended.
	WriteTimeout time.Duration
	// MaxConns bounds the open TCP connections (HTTP, WebSockets) in total;
	// MaxConnsPerAddress those from one source address (IPv6: one /64).
	// Over either, a new connection is closed as soon as it is accepted.
	MaxConns, MaxConnsPerAddress int
	// ReadTimeout bounds reading one request, headers and body; IdleTimeout
	// how long a keep-alive connection may wait for its next request.
	ReadTimeout, IdleTimeout time.Duration
	// EnrolBurst requests for an officer (POST /api/requests) may come from
	// one address at once, then one per EnrolEvery.
	EnrolBurst int
	EnrolEvery time.Duration
	// PendingTTL: a request no officer approved or rejected in this time
	// expires and is deleted.
	PendingTTL time.Duration
}

// Fixed bounds.
const (
	maxHeaderBytes = 16 << 10 // request line and headers
	maxRateKeys    = 10000    // source addresses a rate limit remembers
)

// Defaults of Limits (README, "Limits").
const (
	DefaultJoinTimeout        = peer.DefaultJoinTimeout  // 10 s
	DefaultWriteTimeout       = peer.DefaultWriteTimeout // 5 s
	DefaultMaxConns           = 1024
	DefaultMaxConnsPerAddress = 64
	DefaultReadTimeout        = 15 * time.Second
	DefaultIdleTimeout        = 30 * time.Second
	DefaultEnrolBurst         = 10
	DefaultEnrolEvery         = 6 * time.Minute // 10 an hour
	DefaultPendingTTL         = 72 * time.Hour
)

// withDefaults fills the zero fields and turns "no bound" into 0 for
// internal/limit.
func (l Limits) withDefaults() Limits {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	bound := func(n *int, v int) {
		switch {
		case *n == 0:
			*n = v
		case *n < 0:
			*n = 0
		}
	}
	def(&l.JoinTimeout, DefaultJoinTimeout)
	def(&l.WriteTimeout, DefaultWriteTimeout)
	def(&l.ReadTimeout, DefaultReadTimeout)
	def(&l.IdleTimeout, DefaultIdleTimeout)
	def(&l.EnrolEvery, DefaultEnrolEvery)
	def(&l.PendingTTL, DefaultPendingTTL)
	bound(&l.MaxConns, DefaultMaxConns)
	bound(&l.MaxConnsPerAddress, DefaultMaxConnsPerAddress)
	if l.EnrolBurst <= 0 {
		l.EnrolBurst = DefaultEnrolBurst
	}
	return l
}

// ErrHostName: a --host that is not a DNS name.
var ErrHostName = errors.New("server: not a host name")

// hostNames are the names the server answers to in the Host header
// (httpapi.Config.Hosts): the configured ones, or by default "localhost"
// and, with a certificate, the DNS names it is issued for. IP addresses
// are always answered to: DNS rebinding needs a name the attacker
// controls, and an address literal is not one.
func hostNames(cfg Config) ([]string, error) {
	if len(cfg.Hosts) > 0 {
		out := make([]string, 0, len(cfg.Hosts))
		for _, h := range cfg.Hosts {
			h = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
			if h == "" || len(h) > 253 || strings.ContainsAny(h, "/:@ \t[]") {
				return nil, fmt.Errorf("%w: %q", ErrHostName, h)
			}
			out = append(out, h)
		}
		return out, nil
	}
	names := []string{"localhost"}
	if cfg.TLSCert == "" {
		return names, nil
	}
	data, err := os.ReadFile(cfg.TLSCert)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if b, _ := pem.Decode(data); b != nil {
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			for _, n := range c.DNSNames {
				names = append(names, strings.ToLower(n))
			}
		}
	}
	return names, nil
}
