package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"hotline/internal/certs"
)

// runCert implements `hotline cert init`: a local CA and a server
// certificate for a LAN trial without a PKI.
func runCert(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "init" {
		return errors.New("cert: the only subcommand is init (hotline cert init --host H[,H...] --out DIR)")
	}
	fs := flag.NewFlagSet("cert init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hostList := fs.String("host", "", "comma-separated host `names` and IP addresses the server is reached at (required)")
	out := fs.String("out", "", "`folder` to write ca.pem, ca-key.pem, cert.pem and key.pem to (required; existing files are never overwritten)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("cert init: unexpected argument %q", fs.Arg(0))
	}
	if *hostList == "" || *out == "" {
		return errors.New("cert init: --host and --out are required")
	}
	hosts, err := certs.ParseHosts(*hostList)
	if err != nil {
		return fmt.Errorf("cert init: --host: %w", err)
	}
	is, err := certs.Init(*out, hosts, time.Now())
	if err != nil {
		return fmt.Errorf("cert init: %w", err)
	}
	ca, caKey, cert, key := is.Files[0], is.Files[1], is.Files[2], is.Files[3]
	fmt.Fprintf(stdout, "A local CA and a server certificate for %v (valid until %s) in %s.\n\n", hosts, is.Leaf.NotAfter.UTC().Format("2006-01-02"), filepath.Clean(*out))
	fmt.Fprintf(stdout, "CA fingerprint (SHA-256): %s\n\n", certs.Fingerprint(is.CA))
	fmt.Fprintf(stdout, "Serve with:\n  hotline serve --listen ADDR --tls-cert %s --tls-key %s\n\n", cert, key)
	fmt.Fprintln(stdout, "Trust the CA on every machine that connects (and compare the fingerprint above")
	fmt.Fprintln(stdout, "with what the machine shows; the CA can vouch only for the hosts listed):")
	fmt.Fprintf(stdout, "  browsers:        import %s as a certificate authority\n", ca)
	fmt.Fprintln(stdout, "                   (Chromium: Settings > Privacy and security > Security > Manage certificates;")
	fmt.Fprintln(stdout, "                   Firefox: Settings > Privacy & Security > View Certificates > Authorities > Import)")
	fmt.Fprintf(stdout, "  native commands: hotline join|call|bench ... --ca %s\n", ca)
	fmt.Fprintf(stdout, "                   or SSL_CERT_FILE=%s (replaces the system roots for that process)\n\n", ca)
	fmt.Fprintf(stdout, "Keep %s and %s secret (mode 0600).\n", caKey, key)
	fmt.Fprintln(stdout, "This is for a trial: real deployments bring a certificate from their own PKI.")
	return nil
}
