package main

import (
	"crypto/tls"
	"flag"
	"fmt"

	"hotline/internal/certs"
	"hotline/internal/server"
)

// serverTLSFlags registers the TLS flags of serve and demo on fs.
func serverTLSFlags(fs *flag.FlagSet, cfg *server.Config) {
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "serve HTTPS only, with this PEM certificate `file` (leaf first, then intermediates; reloaded when it changes)")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "the PEM private key `file` of --tls-cert")
	fs.BoolVar(&cfg.InsecureHTTP, "insecure-http", false, "allow plain HTTP on a non-loopback address (only behind a proxy that terminates TLS)")
}

// caFlag registers --ca on fs; the function it returns builds the TLS
// configuration of every connection the command makes to a server: the
// system roots (or SSL_CERT_FILE) plus that file.
func caFlag(fs *flag.FlagSet) func() (*tls.Config, error) {
	ca := fs.String("ca", "", "also trust the CA certificates in this PEM `file` (e.g. the ca.pem of hotline cert init); the system roots and SSL_CERT_FILE are always trusted")
	return func() (*tls.Config, error) {
		cfg, err := certs.ClientConfig(*ca)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		return cfg, nil
	}
}
