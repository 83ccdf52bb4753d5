// Package certs is hotline's TLS: the server's certificate, reloaded from
// its files when they change (so that a renewal needs no restart), a local
// CA for a trial without a PKI (`hotline cert init`), and the trust of the
// native commands (system roots, SSL_CERT_FILE, --ca).
package certs

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// ErrPair is returned when a certificate and key file do not make a usable
// pair (unreadable, not PEM, mismatched, or expired).
var ErrPair = errors.New("certs: certificate and key")

// DefaultCheckInterval is how often, at most, a Reloader looks at its files
// again (on a TLS handshake; there is no background goroutine).
const DefaultCheckInterval = 3 * time.Second

// Reloader serves a certificate read from a PEM certificate file (the leaf
// first, then any intermediates) and a PEM key file, and reads them again
// when either file's modification time or size changes. A new pair that
// does not load keeps the old one in service and logs an error, once per
// change of the files.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger
	interval          time.Duration
	now               func() time.Time

	mu       sync.Mutex
	cert     *tls.Certificate
	served   fileState // the files the served certificate came from
	seen     fileState // the files last looked at (a failed load included)
	nextLook time.Time
}

// fileState is what a Reloader compares to notice a change.
type fileState struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// NewReloader loads the pair once; a pair that does not load is an error
// here (a server must not start without a certificate). interval bounds how
// often the files are looked at again (0: DefaultCheckInterval; negative:
// on every handshake, for tests).
func NewReloader(certFile, keyFile string, interval time.Duration, log *slog.Logger) (*Reloader, error) {
	if log == nil {
		log = slog.Default()
	}
	if interval == 0 {
		interval = DefaultCheckInterval
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log, interval: interval, now: time.Now}
	st, err := r.stat()
	if err != nil {
		return nil, err
	}
	cert, err := loadPair(certFile, keyFile, r.now())
	if err != nil {
		return nil, err
	}
	r.cert, r.served, r.seen = cert, st, st
	r.nextLook = r.now().Add(interval)
	return r, nil
}

// GetCertificate is for tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.Current(), nil
}

// Current returns the certificate in service, having first looked at the
// files again if the interval has passed.
func (r *Reloader) Current() *tls.Certificate {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if r.interval > 0 && now.Before(r.nextLook) {
		return r.cert
	}
	r.nextLook = now.Add(r.interval)
	st, err := r.stat()
	if err != nil {
		if st != r.seen {
			r.seen = st
			r.log.Error("TLS certificate files unreadable; still serving the previous certificate", "err", err)
		}
		return r.cert
	}
	if st == r.served || st == r.seen {
		return r.cert // unchanged, or a broken pair already reported
	}
	r.seen = st
	cert, err := loadPair(r.certFile, r.keyFile, now)
	if err != nil {
		r.log.Error("new TLS certificate not loaded; still serving the previous one", "err", err)
		return r.cert
	}
	r.cert, r.served = cert, st
	r.log.Info("TLS certificate reloaded", "cert", r.certFile, "subject", cert.Leaf.Subject.String(), "not_after", cert.Leaf.NotAfter.UTC())
	return r.cert
}

// ServerConfig is a TLS configuration serving the Reloader's certificate:
// TLS 1.2 at least, Go's default cipher suites (all AEAD, forward secret).
func (r *Reloader) ServerConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}

func (r *Reloader) stat() (fileState, error) {
	var st fileState
	ci, err := os.Stat(r.certFile)
	if err != nil {
		return st, fmt.Errorf("%w: %w", ErrPair, err)
	}
	ki, err := os.Stat(r.keyFile)
	if err != nil {
		return st, fmt.Errorf("%w: %w", ErrPair, err)
	}
	return fileState{certMod: ci.ModTime(), keyMod: ki.ModTime(), certSize: ci.Size(), keySize: ki.Size()}, nil
}

// maxPEMBytes bounds what is read from either file: a chain of a few
// certificates is a few kilobytes.
const maxPEMBytes = 1 << 20

// loadPair reads and checks one pair: the key must match the leaf, and the
// leaf must be valid now (serving an expired certificate would only move
// the failure to every client).
func loadPair(certFile, keyFile string, now time.Time) (*tls.Certificate, error) {
	certPEM, err := readBounded(certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readBounded(keyFile)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: %s, %s: %w", ErrPair, certFile, keyFile, err)
	}
	// Go 1.23+ fills Leaf in X509KeyPair.
	if now.Before(cert.Leaf.NotBefore) || now.After(cert.Leaf.NotAfter) {
		return nil, fmt.Errorf("%w: %s is valid from %s to %s, not now", ErrPair, certFile,
			cert.Leaf.NotBefore.UTC().Format(time.RFC3339), cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return &cert, nil
}

func readBounded(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPair, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPEMBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrPair, name, err)
	}
	if len(data) > maxPEMBytes {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrPair, name, maxPEMBytes)
	}
	return data, nil
}
