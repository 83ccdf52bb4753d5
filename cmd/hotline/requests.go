package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"hotline/internal/apiclient"
	"hotline/internal/certs"
	"hotline/internal/trust"
)

// The officer's queue from the command line (docs/API.md, "Officer
// sessions"): list the requests waiting for the side, approve one (signed
// here, with the authority file; the server receives the credential only)
// or reject one.

// queueFlags registers the flags every queue command takes; open loads the
// authority and signs in as its side's officer.
func queueFlags(fl *flag.FlagSet) (open func(ctx context.Context) (*apiclient.Client, *trust.Authority, error)) {
	server := fl.String("server", "", "the line's server, `URL` http(s)://host:port (required)")
	line := fl.String("line", "", "the `line` whose queue to open (required)")
	key := fl.String("key", "", "authority `file` (required)")
	passFile := fl.String("passphrase-file", "", "passphrase of an encrypted key (or set "+passphraseEnv+")")
	tls := caFlag(fl)
	return func(ctx context.Context) (*apiclient.Client, *trust.Authority, error) {
		if *server == "" || *line == "" || *key == "" {
			return nil, nil, errors.New("--server, --line and --key are required")
		}
		pass, err := authorityPassphrase(*passFile)
		if err != nil {
			return nil, nil, err
		}
		a, err := trust.LoadAuthority(*key, pass)
		if errors.Is(err, trust.ErrPassphraseNeeded) {
			return nil, nil, fmt.Errorf("%s is encrypted: give --passphrase-file or set %s", *key, passphraseEnv)
		}
		if err != nil {
			return nil, nil, err
		}
		tc, err := tls()
		if err != nil {
			return nil, nil, err
		}
		cl, err := apiclient.New(*server, certs.HTTPClient(tc, 30*time.Second))
		if err != nil {
			return nil, nil, fmt.Errorf("--%w", err)
		}
		if err := cl.SignInOfficer(ctx, a, *line); err != nil {
			return nil, nil, err
		}
		return cl, a, nil
	}
}

// authorityRequests implements `hotline authority requests`.
func authorityRequests(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := authorityFlags("requests", stderr)
	open := queueFlags(fl)
	if err := parseAuthorityFlags(fl, args); err != nil {
		return err
	}
	cl, _, err := open(ctx)
	if err != nil {
		return fmt.Errorf("authority requests: %w", err)
	}
	ps, err := cl.Pending(ctx)
	if err != nil {
		return fmt.Errorf("authority requests: %w", err)
	}
	if len(ps) == 0 {
		fmt.Fprintln(stdout, "no request is waiting")
	}
	for _, p := range ps {
		rb, err := trust.VerifyRequest(p.Request)
		if err != nil {
			fmt.Fprintf(stdout, "%s  unreadable request (%v): reject it\n", p.ID, err)
			continue
		}
		roles := make([]string, len(rb.Roles))
		for i, r := range rb.Roles {
			roles[i] = string(r)
		}
		fmt.Fprintf(stdout, "%s  device %s  %q (%s)  sent %s, expires %s\n", p.ID, rb.DeviceID, rb.Name, strings.Join(roles, ","),
			time.Unix(p.Created, 0).UTC().Format(time.RFC3339), time.Unix(p.Expires, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// authorityDecide implements `hotline authority approve` and `reject`.
func authorityDecide(ctx context.Context, approve bool, args []string, stdout, stderr io.Writer) error {
	name := map[bool]string{true: "approve", false: "reject"}[approve]
	fl := authorityFlags(name, stderr)
	open := queueFlags(fl)
	id := fl.String("id", "", "the request's `id` (hotline authority requests lists them; required)")
	valid := fl.Duration("valid", defaultValid, "approve: how long the credential is valid (at most 8784h)")
	if err := parseAuthorityFlags(fl, args); err != nil {
		return err
	}
	if *id == "" {
		return fmt.Errorf("authority %s: --id is required", name)
	}
	if approve && (*valid <= 0 || *valid > maxValid || *valid%time.Second != 0) {
		return fmt.Errorf("authority approve: --valid %v is not whole seconds in (0, %v]", *valid, maxValid)
	}
	cl, a, err := open(ctx)
	if err != nil {
		return fmt.Errorf("authority %s: %w", name, err)
	}
	if !approve {
		if err := cl.Reject(ctx, *id); err != nil {
			return fmt.Errorf("authority reject: %w", err)
		}
		fmt.Fprintf(stdout, "rejected request %s\n", *id)
		return nil
	}
	ps, err := cl.Pending(ctx)
	if err != nil {
		return fmt.Errorf("authority approve: %w", err)
	}
	for _, p := range ps {
		if p.ID != *id {
			continue
		}
		rb, err := trust.VerifyRequest(p.Request)
		if err != nil {
			return fmt.Errorf("authority approve: request %s: %w", p.ID, err)
		}
		now := time.Now().Truncate(time.Second)
		cred, err := a.Sign(p.Request, now, now.Add(*valid))
		if err != nil {
			return fmt.Errorf("authority approve: %w", err)
		}
		if err := cl.Approve(ctx, p.ID, cred); err != nil {
			return fmt.Errorf("authority approve: %w", err)
		}
		fmt.Fprintf(stdout, "approved request %s: %q, device %s, valid until %s\n", p.ID, rb.Name, rb.DeviceID, now.Add(*valid).UTC().Format(time.RFC3339))
		return nil
	}
	return fmt.Errorf("authority approve: no pending request %q for side %s", *id, a.Side)
}
