package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ErrCA is returned for a --ca file that holds no usable certificate.
var ErrCA = errors.New("certs: CA file")

// ClientConfig is the TLS configuration of every native command that talks
// to a server: the system roots (on Linux Go reads them from SSL_CERT_FILE
// and SSL_CERT_DIR when set, else from the distribution's bundle) plus the
// certificates in caFile, if given (PEM, one or more).
func ClientConfig(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil // RootCAs nil: the system roots
	}
	data, err := readBounded(caFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCA, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%w: %s holds no PEM certificate", ErrCA, caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// HTTPClient is an HTTP client over tlsConfig (nil: the system roots).
// It speaks HTTP/1.1 only, which the signalling WebSocket needs (RFC 6455
// upgrades an HTTP/1.1 request), so one client serves the API and the
// socket. timeout 0 means none (the WebSocket dialer refuses a timeout:
// its context bounds it).
func HTTPClient(tlsConfig *tls.Config, timeout time.Duration) *http.Client {
	if tlsConfig == nil {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSClientConfig:     tlsConfig.Clone(),
			TLSHandshakeTimeout: 10 * time.Second,
			IdleConnTimeout:     90 * time.Second,
			MaxIdleConns:        16,
		},
	}
}

// Explain adds what to do to an error that is a certificate the client does
// not trust; other errors are returned unchanged.
func Explain(err error) error {
	var unknown x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	var hostname x509.HostnameError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &hostname):
		return fmt.Errorf("%w (the server's certificate is not for this address: use a host name or IP address it lists)", err)
	case errors.As(err, &unknown), errors.As(err, &verify):
		return fmt.Errorf("%w (the server's certificate is not trusted here: pass its CA with --ca FILE, or set SSL_CERT_FILE)", err)
	}
	return err
}
