package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/internal/role"
	"hotline/internal/trust"
)

// dirEntries lists a directory's names, to check that refused commands
// leave nothing behind.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestAuthorityInitClear(t *testing.T) {
	t.Setenv(passphraseEnv, "")
	dir := t.TempDir()
	key := filepath.Join(dir, "east.json")
	out, errOut, err := runCmd("authority", "init", "--side", "east", "--out", key)
	if err != nil {
		t.Fatalf("init: %v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "stored in clear") || !strings.Contains(errOut, "0600") {
		t.Errorf("no clear-key warning on stderr: %q", errOut)
	}
	fi, err := os.Stat(key)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	a, err := trust.LoadAuthority(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Side != "east" || a.Encrypted || !strings.Contains(out, a.Fingerprint()) || !strings.Contains(out, trust.B64(a.Public)) {
		t.Errorf("output %q for %v", out, a)
	}
	before, _ := os.ReadFile(key)
	if _, _, err := runCmd("authority", "init", "--side", "east", "--out", key); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second init over the file: %v", err)
	}
	if after, _ := os.ReadFile(key); !bytes.Equal(before, after) {
		t.Fatal("a refused init changed the key file")
	}
}

func TestAuthorityInitEncrypted(t *testing.T) {
	t.Setenv(passphraseEnv, "")
	dir := t.TempDir()
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte("a long passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "west.json")
	_, errOut, err := runCmd("authority", "init", "--side", "west", "--out", key, "--passphrase-file", passFile)
	if err != nil {
		t.Fatalf("init: %v\n%s", err, errOut)
	}
	if strings.Contains(errOut, "warning") {
		t.Errorf("warning for an encrypted key: %q", errOut)
	}
	// The file's trailing newline is not part of the passphrase.
	if a, err := trust.LoadAuthority(key, []byte("a long passphrase")); err != nil || !a.Encrypted || a.Side != "west" {
		t.Fatalf("load: %v %v", a, err)
	}
	// The environment works as well.
	t.Setenv(passphraseEnv, "from the environment")
	key2 := filepath.Join(dir, "west2.json")
	if _, errOut, err := runCmd("authority", "init", "--side", "west", "--out", key2); err != nil || strings.Contains(errOut, "warning") {
		t.Fatalf("init with %s: %v %q", passphraseEnv, err, errOut)
	}
	if _, err := trust.LoadAuthority(key2, []byte("from the environment")); err != nil {
		t.Fatal(err)
	}
}

func TestAuthorityInitBadInput(t *testing.T) {
	t.Setenv(passphraseEnv, "")
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	empty := filepath.Join(dir, "empty")
	os.WriteFile(short, []byte("abc\n"), 0o600)
	os.WriteFile(empty, []byte("\n"), 0o600)
	key := filepath.Join(dir, "k.json")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--out", key}, "required"},
		{[]string{"--side", "east"}, "required"},
		{[]string{"--side", "East", "--out", key}, "--side"},
		{[]string{"--side", "east side", "--out", key}, "--side"},
		{[]string{"--side", "east", "--out", key, "--passphrase-file", short}, "shorter than 8"},
		{[]string{"--side", "east", "--out", key, "--passphrase-file", empty}, "is empty"},
		{[]string{"--side", "east", "--out", key, "--passphrase-file", filepath.Join(dir, "missing")}, "passphrase file"},
		{[]string{"--side", "east", "--out", filepath.Join(dir, "no", "such", "dir.json")}, "no such file"},
		{[]string{"--side", "east", "--out", key, "extra"}, "unexpected argument"},
		{[]string{"--nope"}, "flag provided but not defined"},
	}
	for _, c := range cases {
		_, _, err := runCmd(append([]string{"authority", "init"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
	if names := dirEntries(t, dir); len(names) != 2 {
		t.Errorf("refused commands left files: %v", names)
	}
	if _, _, err := runCmd("authority", "explode"); err == nil || !strings.Contains(err.Error(), "unknown subcommand") {
		t.Errorf("unknown subcommand: %v", err)
	}
	if _, _, err := runCmd("authority"); err == nil {
		t.Error("no subcommand accepted")
	}
}

func TestAuthorityShow(t *testing.T) {
	t.Setenv(passphraseEnv, "")
	dir := t.TempDir()
	a, _ := trust.NewAuthority("east")
	clearKey := filepath.Join(dir, "clear.json")
	if err := a.Save(clearKey, nil, true); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd("authority", "show", "--key", clearKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"east", trust.B64(a.Public), a.Fingerprint(), "key:         in clear", "demo"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}

	sealed := filepath.Join(dir, "sealed.json")
	if err := a.Save(sealed, []byte("correct horse"), false); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCmd("authority", "show", "--key", sealed)
	if err != nil || !strings.Contains(out, a.Fingerprint()) || !strings.Contains(out, "not unlocked") {
		t.Fatalf("show encrypted without passphrase: %v\n%s", err, out)
	}
	t.Setenv(passphraseEnv, "correct horse")
	if out, _, err = runCmd("authority", "show", "--key", sealed); err != nil || !strings.Contains(out, "unlocked and checked") {
		t.Fatalf("show encrypted with passphrase: %v\n%s", err, out)
	}
	t.Setenv(passphraseEnv, "wrong horse")
	if _, _, err = runCmd("authority", "show", "--key", sealed); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Fatalf("show with a wrong passphrase: %v", err)
	}
	t.Setenv(passphraseEnv, "")
	// A key in clear readable by others is refused; an encrypted one is
	// shown with a warning.
	os.Chmod(clearKey, 0o644)
	if _, _, err := runCmd("authority", "show", "--key", clearKey); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("show of a 0644 clear key: %v", err)
	}
	os.Chmod(sealed, 0o644)
	if _, errOut, err := runCmd("authority", "show", "--key", sealed); err != nil || !strings.Contains(errOut, "warning") {
		t.Errorf("show of a 0644 encrypted key: %v %q", err, errOut)
	}
	garbage := filepath.Join(dir, "garbage.json")
	os.WriteFile(garbage, []byte(`{"hotline_authority":1}`), 0o600)
	if _, _, err := runCmd("authority", "show", "--key", garbage); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("show of a malformed file: %v", err)
	}
	if _, _, err := runCmd("authority", "show"); err == nil || !strings.Contains(err.Error(), "required") {
		t.Errorf("show without --key: %v", err)
	}
}

// signSetup makes an east authority file (encrypted with pass if given)
// and a request file for side.
func signSetup(t *testing.T, dir string, pass []byte, side string) (key, req string, a *trust.Authority, d *trust.Device) {
	t.Helper()
	a, _ = trust.NewAuthority("east")
	key = filepath.Join(dir, "east.json")
	if err := a.Save(key, pass, false); err != nil {
		t.Fatal(err)
	}
	d, _ = trust.NewDevice()
	r, err := d.Request(side, "Zoë Alpha", []role.Role{role.Principal, role.Interpreter}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req = filepath.Join(dir, "req-"+side+".json")
	if err := trust.Signed(r).WriteFile(req); err != nil {
		t.Fatal(err)
	}
	return key, req, a, d
}

func TestAuthoritySign(t *testing.T) {
	t.Setenv(passphraseEnv, "")
	dir := t.TempDir()
	key, req, a, d := signSetup(t, dir, nil, "east")
	credPath := filepath.Join(dir, "cred.json")
	start := time.Now().Truncate(time.Second)
	out, _, err := runCmd("authority", "sign", "--key", key, "--request", req, "--valid", "48h", "--out", credPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Zoë Alpha", "principal, interpreter", d.ID(), a.Fingerprint(), credPath} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	data, _ := os.ReadFile(credPath)
	cred, err := trust.ParseCredential(data)
	if err != nil {
		t.Fatal(err)
	}
	id, err := trust.VerifyCredential(cred, []trust.Pin{a.Pin()}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !id.SigKey.Equal(d.SigPublic()) || id.Issued.Before(start) || id.Expires.Sub(id.Issued) != 48*time.Hour {
		t.Fatalf("credential %+v", id)
	}
	// Without --out the credential goes to stdout, the summary to stderr.
	out, errOut, err := runCmd("authority", "sign", "--key", key, "--request", req)
	if err != nil {
		t.Fatal(err)
	}
	cred2, err := trust.ParseCredential([]byte(out))
	if err != nil || !strings.Contains(errOut, d.ID()) {
		t.Fatalf("stdout %q stderr %q: %v", out, errOut, err)
	}
	if id, err := trust.VerifyCredential(cred2, []trust.Pin{a.Pin()}, time.Now()); err != nil || id.Expires.Sub(id.Issued) != 720*time.Hour {
		t.Fatalf("default validity: %v %v", id, err)
	}
}

func TestAuthoritySignBadInput(t *testing.T) {
	t.Setenv(passphraseEnv, "")
	dir := t.TempDir()
	key, req, _, _ := signSetup(t, dir, []byte("open sesame!"), "east")
	_, westReq, _, _ := signSetup(t, t.TempDir(), nil, "west")
	tampered := filepath.Join(dir, "tampered.json")
	data, _ := os.ReadFile(req)
	r, _ := trust.ParseRequest(data)
	r.Sig = trust.B64(make([]byte, 64))
	trust.Signed(r).WriteFile(tampered)
	junk := filepath.Join(dir, "junk.json")
	os.WriteFile(junk, []byte(`{"body":"x","sig":"y","extra":1}`), 0o600)
	existing := filepath.Join(dir, "existing.json")
	os.WriteFile(existing, []byte("keep me"), 0o600)
	passFile := filepath.Join(dir, "pass")
	os.WriteFile(passFile, []byte("open sesame!"), 0o600)
	wrongPass := filepath.Join(dir, "wrong")
	os.WriteFile(wrongPass, []byte("open sesame?"), 0o600)
	out := filepath.Join(dir, "cred.json")
	before := dirEntries(t, dir)

	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--request", req}, "required"},
		{[]string{"--key", key}, "required"},
		{[]string{"--key", key, "--request", req, "--out", out}, "--passphrase-file or set HOTLINE_PASSPHRASE"},
		{[]string{"--key", key, "--request", req, "--out", out, "--passphrase-file", wrongPass}, "wrong passphrase"},
		{[]string{"--key", key, "--request", westReq, "--out", out, "--passphrase-file", passFile}, `request is for side "west"`},
		{[]string{"--key", key, "--request", tampered, "--out", out, "--passphrase-file", passFile}, "signature does not verify"},
		{[]string{"--key", key, "--request", junk, "--out", out, "--passphrase-file", passFile}, "malformed"},
		{[]string{"--key", key, "--request", filepath.Join(dir, "missing.json"), "--out", out, "--passphrase-file", passFile}, "no such file"},
		{[]string{"--key", key, "--request", req, "--out", existing, "--passphrase-file", passFile}, "already exists"},
		{[]string{"--key", key, "--request", req, "--valid", "0s", "--passphrase-file", passFile}, "--valid"},
		{[]string{"--key", key, "--request", req, "--valid", "-1h", "--passphrase-file", passFile}, "--valid"},
		{[]string{"--key", key, "--request", req, "--valid", "9000h", "--passphrase-file", passFile}, "--valid"},
		{[]string{"--key", key, "--request", req, "--valid", "1500ms", "--passphrase-file", passFile}, "whole seconds"},
		{[]string{"--key", key, "--request", req, "--valid", "soon", "--passphrase-file", passFile}, "invalid value"},
	}
	for _, c := range cases {
		stdout, _, err := runCmd(append([]string{"authority", "sign"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
		if stdout != "" {
			t.Errorf("%v: wrote %q to stdout", c.args, stdout)
		}
	}
	if after := dirEntries(t, dir); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("refused commands changed the directory: %v → %v", before, after)
	}
	if got, _ := os.ReadFile(existing); string(got) != "keep me" {
		t.Error("existing --out file overwritten")
	}
	// The right passphrase signs.
	if _, _, err := runCmd("authority", "sign", "--key", key, "--request", req, "--out", out, "--passphrase-file", passFile); err != nil {
		t.Fatal(err)
	}
}
