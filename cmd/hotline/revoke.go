package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"hotline/internal/api"
	"hotline/internal/apiclient"
	"hotline/internal/certs"
	"hotline/internal/trust"
)

// authorityRevoke implements `hotline authority revoke` (docs/PROTOCOL.md,
// "Revocation"): the side's authority signs a revocation list — every
// device of the side that is no longer to be trusted, with a serial above
// the last list's — and, with --server, delivers it. The server refuses
// the devices at once and takes them out of live calls; every client
// checks the list against its own pins. A list replaces the side's
// previous one, so it names every revoked device still valid, and an
// empty list withdraws them all.
func authorityRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := authorityFlags("revoke", stderr)
	key := fl.String("key", "", "authority `file` (required)")
	line := fl.String("line", "", "the `line` the list is for (required)")
	serial := fl.Int64("serial", 0, "the list's `serial`, above every earlier list's of the side (required)")
	devices := fl.String("devices", "", "the revoked device `ids`, comma-separated (hotline authority requests and the call page show them); empty: none")
	server := fl.String("server", "", "deliver the list to the line's server at `URL` http(s)://host:port")
	out := fl.String("out", "", "also write the list to this `file` (never overwritten)")
	passFile := fl.String("passphrase-file", "", "passphrase of an encrypted key (or set "+passphraseEnv+")")
	tls := caFlag(fl)
	if err := parseAuthorityFlags(fl, args); err != nil {
		return err
	}
	if *key == "" || *line == "" || *serial <= 0 {
		fl.Usage()
		return errors.New("authority revoke: --key, --line and a --serial above 0 are required")
	}
	var ids []string
	for _, d := range strings.Split(*devices, ",") {
		if d = strings.TrimSpace(d); d != "" {
			ids = append(ids, d)
		}
	}
	if *out != "" {
		if _, err := os.Lstat(*out); err == nil {
			return fmt.Errorf("authority revoke: %s already exists; refusing to overwrite it", *out)
		}
	}
	pass, err := authorityPassphrase(*passFile)
	if err != nil {
		return fmt.Errorf("authority revoke: %w", err)
	}
	a, err := trust.LoadAuthority(*key, pass)
	if errors.Is(err, trust.ErrPassphraseNeeded) {
		return fmt.Errorf("authority revoke: %s is encrypted: give --passphrase-file or set %s", *key, passphraseEnv)
	}
	if err != nil {
		return fmt.Errorf("authority revoke: %w", err)
	}
	r, err := a.Revoke(*line, *serial, time.Now(), ids)
	if err != nil {
		return fmt.Errorf("authority revoke: %w", err)
	}
	fmt.Fprintf(stderr, "revocation list %d of side %q on line %s (authority %s): %d device(s)\n", *serial, a.Side, *line, a.Fingerprint(), len(ids))
	if *out != "" {
		if err := trust.Signed(r).WriteFile(*out); err != nil {
			return fmt.Errorf("authority revoke: %w", err)
		}
		fmt.Fprintf(stderr, "list written to %s\n", *out)
	}
	if *server == "" {
		if *out == "" {
			_, err := stdout.Write(trust.Signed(r).MarshalIndent())
			return err
		}
		return nil
	}
	tc, err := tls()
	if err != nil {
		return fmt.Errorf("authority revoke: %w", err)
	}
	cl, err := apiclient.New(*server, certs.HTTPClient(tc, 30*time.Second))
	if err != nil {
		return fmt.Errorf("authority revoke: --%w", err)
	}
	var st api.RevocationState
	if _, err := cl.Do(ctx, "POST", "/api/lines/"+url.PathEscape(*line)+"/revocations", api.RevocationBody{Revocation: r}, &st); err != nil {
		return fmt.Errorf("authority revoke: %w", err)
	}
	fmt.Fprintf(stdout, "the server holds list %d of side %s: %d revoked device(s) %s\n", st.Serial, st.Side, len(st.Devices), strings.Join(st.Devices, " "))
	return nil
}
