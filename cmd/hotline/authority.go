package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"hotline/internal/trust"
)

// A side's security officer runs these (docs/PROTOCOL.md, "Keys"): make the
// side's authority, show its fingerprint to read to the other officer, and
// sign enrolment requests into credentials. The server never sees the key.

const authorityUsage = `usage:
  hotline authority init --side NAME --out FILE [--passphrase-file F]
  hotline authority show --key FILE [--passphrase-file F]
  hotline authority sign --key FILE --request REQ [--valid 720h] [--out CRED] [--passphrase-file F]
  hotline authority requests --server URL --line L --key FILE [--passphrase-file F] [--ca F]
  hotline authority approve  --server URL --line L --key FILE --id ID [--valid 720h] [--passphrase-file F] [--ca F]
  hotline authority reject   --server URL --line L --key FILE --id ID [--passphrase-file F] [--ca F]
  hotline authority revoke   --line L --key FILE --serial N --devices ID,ID [--server URL] [--out F] [--passphrase-file F] [--ca F]

requests, approve and reject sign in to the server as the side's officer
with the authority key (which never leaves this machine) and work on the
side's queue of enrolment requests. revoke signs the side's revocation list
(every revoked device, a serial above the last list's) and, with --server,
delivers it: the devices are refused at once and leave live calls.

The passphrase comes from --passphrase-file (its trailing newline is not part
of it) or from the HOTLINE_PASSPHRASE environment variable.
`

const (
	// passphraseEnv is read when no --passphrase-file is given.
	passphraseEnv = "HOTLINE_PASSPHRASE"
	// minPassphrase refuses passphrases that PBKDF2 cannot make strong.
	minPassphrase = 8
	// maxValid bounds a credential's lifetime: a lost device stays
	// trusted until its credential expires.
	maxValid     = 366 * 24 * time.Hour
	defaultValid = 720 * time.Hour
	// maxRequestFile bounds what we read of a request file.
	maxRequestFile = 64 << 10
)

func runAuthority(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, authorityUsage)
		return errors.New("authority: no subcommand (init, show, sign, requests, approve, reject or revoke)")
	}
	switch args[0] {
	case "init":
		return authorityInit(args[1:], stdout, stderr)
	case "show":
		return authorityShow(args[1:], stdout, stderr)
	case "sign":
		return authoritySign(args[1:], stdout, stderr)
	case "requests":
		return authorityRequests(ctx, args[1:], stdout, stderr)
	case "approve":
		return authorityDecide(ctx, true, args[1:], stdout, stderr)
	case "reject":
		return authorityDecide(ctx, false, args[1:], stdout, stderr)
	case "revoke":
		return authorityRevoke(ctx, args[1:], stdout, stderr)
	case "help", "--help", "-h", "-help":
		fmt.Fprint(stdout, authorityUsage)
		return nil
	default:
		fmt.Fprint(stderr, authorityUsage)
		return fmt.Errorf("authority: unknown subcommand %q", args[0])
	}
}

// authorityFlags makes a flag set that prints the authority usage.
func authorityFlags(name string, stderr io.Writer) *flag.FlagSet {
	fl := flag.NewFlagSet("authority "+name, flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprint(stderr, authorityUsage)
		fl.PrintDefaults()
	}
	return fl
}

func parseAuthorityFlags(fl *flag.FlagSet, args []string) error {
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fl.Name(), fl.Arg(0))
	}
	return nil
}

// authorityPassphrase reads the passphrase from the file if one is named, else from
// the environment; nil when neither gives one.
func authorityPassphrase(file string) ([]byte, error) {
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("passphrase file: %w", err)
		}
		// One trailing newline is how editors and echo end a file.
		data = bytes.TrimSuffix(data, []byte("\n"))
		data = bytes.TrimSuffix(data, []byte("\r"))
		if len(data) == 0 {
			return nil, fmt.Errorf("passphrase file %s is empty", file)
		}
		return data, nil
	}
	if p := os.Getenv(passphraseEnv); p != "" {
		return []byte(p), nil
	}
	return nil, nil
}

func authorityInit(args []string, stdout, stderr io.Writer) error {
	fl := authorityFlags("init", stderr)
	side := fl.String("side", "", "the side's `name`: 1-32 of a-z, 0-9 and '-' (required)")
	out := fl.String("out", "", "authority `file` to write, mode 0600; never overwritten (required)")
	passFile := fl.String("passphrase-file", "", "encrypt the key with the passphrase in this `file` (or set "+passphraseEnv+")")
	if err := parseAuthorityFlags(fl, args); err != nil {
		return err
	}
	if *side == "" || *out == "" {
		fl.Usage()
		return errors.New("authority init: --side and --out are required")
	}
	if err := trust.ValidSide(*side); err != nil {
		return fmt.Errorf("authority init: --side %q: %w", *side, err)
	}
	if _, err := os.Lstat(*out); err == nil {
		return fmt.Errorf("authority init: %s already exists; refusing to overwrite an authority file", *out)
	}
	pass, err := authorityPassphrase(*passFile)
	if err != nil {
		return fmt.Errorf("authority init: %w", err)
	}
	if pass != nil && len([]rune(string(pass))) < minPassphrase {
		return fmt.Errorf("authority init: the passphrase is shorter than %d characters", minPassphrase)
	}
	a, err := trust.NewAuthority(*side)
	if err != nil {
		return fmt.Errorf("authority init: %w", err)
	}
	if err := a.Save(*out, pass, false); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("authority init: %s already exists; refusing to overwrite an authority file", *out)
		}
		return fmt.Errorf("authority init: %w", err)
	}
	if pass == nil {
		fmt.Fprintf(stderr, "warning: no passphrase: the private key in %s is stored in clear, protected only by the file's mode (0600).\n"+
			"         Use --passphrase-file or %s to encrypt it.\n", *out, passphraseEnv)
	}
	fmt.Fprintf(stdout, "authority for side %q written to %s (key %s)\n", a.Side, *out, authorityKeyForm(a.Encrypted || pass != nil))
	printAuthority(stdout, a.Side, a.Public)
	fmt.Fprintln(stdout, "Read the fingerprint to the other side's officer over a channel you trust.")
	return nil
}

func authorityKeyForm(encrypted bool) string {
	if encrypted {
		return "encrypted with a passphrase"
	}
	return "in clear"
}

func printAuthority(w io.Writer, side string, pub []byte) {
	fmt.Fprintf(w, "side:        %s\n", side)
	fmt.Fprintf(w, "public key:  %s\n", trust.B64(pub))
	fmt.Fprintf(w, "fingerprint: %s\n", trust.Fingerprint(pub))
}

func authorityShow(args []string, stdout, stderr io.Writer) error {
	fl := authorityFlags("show", stderr)
	key := fl.String("key", "", "authority `file` (required)")
	passFile := fl.String("passphrase-file", "", "unlock an encrypted key to check it (or set "+passphraseEnv+")")
	if err := parseAuthorityFlags(fl, args); err != nil {
		return err
	}
	if *key == "" {
		fl.Usage()
		return errors.New("authority show: --key is required")
	}
	info, err := trust.PeekAuthority(*key)
	if err != nil {
		return fmt.Errorf("authority show: %w", err)
	}
	pass, err := authorityPassphrase(*passFile)
	if err != nil {
		return fmt.Errorf("authority show: %w", err)
	}
	// A key in clear is always loaded (which checks that the key pair
	// matches and the file mode); an encrypted one when a passphrase is
	// at hand.
	state := authorityKeyForm(info.Encrypted)
	if !info.Encrypted || pass != nil {
		if _, err := trust.LoadAuthority(*key, pass); err != nil {
			return fmt.Errorf("authority show: %w", err)
		}
		if info.Encrypted {
			state += ", unlocked and checked"
		}
	} else {
		state += " (not unlocked: no passphrase given)"
	}
	if err := trust.CheckMode(*key); err != nil {
		fmt.Fprintf(stderr, "warning: %v\n", err)
	}
	printAuthority(stdout, info.Side, info.Public)
	fmt.Fprintf(stdout, "key:         %s\n", state)
	if info.Demo {
		fmt.Fprintln(stdout, "demo:        yes (made by hotline demo; not for a real line)")
	}
	return nil
}

func authoritySign(args []string, stdout, stderr io.Writer) error {
	fl := authorityFlags("sign", stderr)
	key := fl.String("key", "", "authority `file` (required)")
	reqPath := fl.String("request", "", "enrolment request `file`, {\"body\",\"sig\"} (required)")
	valid := fl.Duration("valid", defaultValid, "how long the credential is valid (at most 8784h)")
	out := fl.String("out", "", "credential `file` to write (default: standard output); never overwritten")
	passFile := fl.String("passphrase-file", "", "passphrase of an encrypted key (or set "+passphraseEnv+")")
	if err := parseAuthorityFlags(fl, args); err != nil {
		return err
	}
	if *key == "" || *reqPath == "" {
		fl.Usage()
		return errors.New("authority sign: --key and --request are required")
	}
	if *valid <= 0 || *valid > maxValid {
		return fmt.Errorf("authority sign: --valid %v is outside (0, %v]", *valid, maxValid)
	}
	if *valid%time.Second != 0 {
		return fmt.Errorf("authority sign: --valid %v is not whole seconds", *valid)
	}
	if *out != "" {
		if _, err := os.Lstat(*out); err == nil {
			return fmt.Errorf("authority sign: %s already exists; refusing to overwrite it", *out)
		}
	}
	req, err := readAuthorityRequest(*reqPath)
	if err != nil {
		return fmt.Errorf("authority sign: request %s: %w", *reqPath, err)
	}
	rb, err := trust.VerifyRequest(req)
	if err != nil {
		return fmt.Errorf("authority sign: request %s: %w", *reqPath, err)
	}
	pass, err := authorityPassphrase(*passFile)
	if err != nil {
		return fmt.Errorf("authority sign: %w", err)
	}
	a, err := trust.LoadAuthority(*key, pass)
	if errors.Is(err, trust.ErrPassphraseNeeded) {
		return fmt.Errorf("authority sign: %s is encrypted: give --passphrase-file or set %s", *key, passphraseEnv)
	}
	if err != nil {
		return fmt.Errorf("authority sign: %w", err)
	}
	if rb.Side != a.Side {
		return fmt.Errorf("authority sign: the request is for side %q; this authority signs for %q", rb.Side, a.Side)
	}
	now := time.Now().Truncate(time.Second)
	cred, err := a.Sign(req, now, now.Add(*valid))
	if err != nil {
		return fmt.Errorf("authority sign: %w", err)
	}
	// The summary goes where the credential does not.
	info := stdout
	if *out == "" {
		info = stderr
	}
	roles := make([]string, len(rb.Roles))
	for i, r := range rb.Roles {
		roles[i] = string(r)
	}
	fmt.Fprintf(info, "signing for side %q (authority %s):\n", a.Side, a.Fingerprint())
	fmt.Fprintf(info, "  name:      %s\n", rb.Name)
	fmt.Fprintf(info, "  roles:     %s\n", strings.Join(roles, ", "))
	fmt.Fprintf(info, "  device id: %s\n", rb.DeviceID)
	fmt.Fprintf(info, "  valid:     %s until %s\n", now.UTC().Format(time.RFC3339), now.Add(*valid).UTC().Format(time.RFC3339))
	if *out == "" {
		_, err := stdout.Write(trust.Signed(cred).MarshalIndent())
		return err
	}
	if err := trust.Signed(cred).WriteFile(*out); err != nil {
		return fmt.Errorf("authority sign: %w", err)
	}
	fmt.Fprintf(info, "credential written to %s\n", *out)
	return nil
}

func readAuthorityRequest(path string) (trust.Request, error) {
	f, err := os.Open(path)
	if err != nil {
		return trust.Request{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRequestFile+1))
	if err != nil {
		return trust.Request{}, err
	}
	if len(data) > maxRequestFile {
		return trust.Request{}, fmt.Errorf("larger than %d bytes", maxRequestFile)
	}
	return trust.ParseRequest(data)
}
