package trust

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/internal/role"
)

func TestAuthorityFileClear(t *testing.T) {
	a := mustAuthority(t, "east", 1)
	path := filepath.Join(t.TempDir(), "east.json")
	if err := a.Save(path, nil, false); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	data, _ := os.ReadFile(path)
	want := `{"hotline_authority":1,"side":"east","public_key":"` + B64(a.Public) + `","private_key":"` + B64(seed(1)) + `"}` + "\n"
	if string(data) != want {
		t.Fatalf("file\n%s\nwant\n%s", data, want)
	}
	b, err := LoadAuthority(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Side != "east" || !b.Public.Equal(a.Public) || b.Encrypted || b.Demo || !bytes.Equal(b.private, a.private) {
		t.Fatalf("loaded %+v", b)
	}
	// Never over an existing file, and nothing left behind.
	if err := mustAuthority(t, "east", 9).Save(path, nil, false); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("overwrite: %v", err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, data) {
		t.Fatal("file changed by a refused save")
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Fatalf("directory holds %d entries", len(ents))
	}
	// A key in clear that others can read is refused.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAuthority(path, nil); !errors.Is(err, ErrInsecureMode) {
		t.Fatalf("mode 0644: %v", err)
	}
}

func TestAuthorityFileEncrypted(t *testing.T) {
	a := mustAuthority(t, "west", 2)
	dir := t.TempDir()
	path := filepath.Join(dir, "west.json")
	pass := []byte("correct horse battery staple")
	if err := a.Save(path, pass, true); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if bytes.Contains(data, []byte(B64(seed(2)))) || bytes.Contains(data, []byte("private_key")) {
		t.Fatalf("key in clear: %s", data)
	}
	var f authorityFile
	if err := json.Unmarshal(data, &f); err != nil || f.Encrypted == nil || f.Encrypted.Iterations != 600000 || f.Encrypted.KDF != "pbkdf2-sha256" || !f.Demo {
		t.Fatalf("file %s (%v)", data, err)
	}
	b, err := LoadAuthority(path, pass)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Public.Equal(a.Public) || !b.Encrypted || !b.Demo || !bytes.Equal(b.private, a.private) {
		t.Fatalf("loaded %+v", b)
	}
	if _, err := LoadAuthority(path, nil); !errors.Is(err, ErrPassphraseNeeded) {
		t.Errorf("no passphrase: %v", err)
	}
	if _, err := LoadAuthority(path, []byte("wrong")); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	// The sealed key is bound to its side and public key: moving it to
	// another side's file does not open.
	other := bytes.Replace(data, []byte(`"side":"west"`), []byte(`"side":"wesT"`), 1)
	if _, err := ParseAuthority(other, pass); !errors.Is(err, ErrMalformed) {
		t.Errorf("invalid side: %v", err)
	}
	other = bytes.Replace(data, []byte(`"side":"west"`), []byte(`"side":"east"`), 1)
	if _, err := ParseAuthority(other, pass); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("side changed: %v", err)
	}
	// Encrypted files are not refused for their mode (the key is sealed).
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAuthority(path, pass); err != nil {
		t.Errorf("mode 0640, encrypted: %v", err)
	}
	if err := CheckMode(path); !errors.Is(err, ErrInsecureMode) {
		t.Errorf("CheckMode: %v", err)
	}
}

func TestAuthorityFileMalformed(t *testing.T) {
	a := mustAuthority(t, "east", 1)
	pub, priv := B64(a.Public), B64(seed(1))
	good := `{"hotline_authority":1,"side":"east","public_key":"` + pub + `","private_key":"` + priv + `"}`
	if _, err := ParseAuthority([]byte(good), nil); err != nil {
		t.Fatal(err)
	}
	enc := `"encrypted":{"kdf":"pbkdf2-sha256","iterations":600000,"salt":"AAAAAAAAAAAAAAAAAAAAAA","nonce":"AAAAAAAAAAAAAAAA","ciphertext":"` + B64(make([]byte, 48)) + `"}`
	cases := map[string]struct {
		file string
		want error
	}{
		"version 2":       {strings.Replace(good, `:1,`, `:2,`, 1), ErrMalformed},
		"unknown field":   {strings.Replace(good, `"side"`, `"x":1,"side"`, 1), ErrMalformed},
		"trailing":        {good + `{}`, ErrMalformed},
		"no key":          {strings.Replace(good, `,"private_key":"`+priv+`"`, ``, 1), ErrMalformed},
		"both keys":       {strings.Replace(good, `}`, `,`+enc+`}`, 1), ErrMalformed},
		"short key":       {strings.Replace(good, priv, priv[:40], 1), ErrMalformed},
		"other public":    {strings.Replace(good, pub, B64(mustAuthority(t, "east", 5).Public), 1), ErrKeyMismatch},
		"bad kdf":         {strings.Replace(good, `,"private_key":"`+priv+`"`, `,`+strings.Replace(enc, "pbkdf2-sha256", "scrypt", 1), 1), ErrMalformed},
		"few iterations":  {strings.Replace(good, `,"private_key":"`+priv+`"`, `,`+strings.Replace(enc, "600000", "1000", 1), 1), ErrMalformed},
		"many iterations": {strings.Replace(good, `,"private_key":"`+priv+`"`, `,`+strings.Replace(enc, "600000", "100000000", 1), 1), ErrMalformed},
		"short salt":      {strings.Replace(good, `,"private_key":"`+priv+`"`, `,`+strings.Replace(enc, `"AAAAAAAAAAAAAAAAAAAAAA"`, `"AAAA"`, 1), 1), ErrMalformed},
	}
	for name, c := range cases {
		if _, err := ParseAuthority([]byte(c.file), []byte("x")); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestDeviceFile(t *testing.T) {
	d, cred, pins := enrolled(t)
	path := filepath.Join(t.TempDir(), "device.json")
	// Not yet enrolled: keys only.
	if err := d.Save(path); err != nil {
		t.Fatal(err)
	}
	e, err := LoadDevice(path)
	if err != nil {
		t.Fatal(err)
	}
	if !e.SigPublic().Equal(d.SigPublic()) || !bytes.Equal(e.KEMPublic(), d.KEMPublic()) || e.Credential != nil || e.Pins != nil {
		t.Fatalf("loaded %v", e)
	}
	if _, err := e.Identity(t0); err == nil {
		t.Fatal("identity without a credential")
	}
	// Enrolled: the file is replaced and keeps credential and pins.
	d.Credential, d.Pins = &cred, pins
	if err := d.Save(path); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	e, err = LoadDevice(path)
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.Identity(t0.Add(time.Minute))
	if err != nil || id.Name != "Alice" || len(e.Pins) != 2 || e.Pins[1].Side != "west" {
		t.Fatalf("identity %+v %v", id, err)
	}
	// Printing a device shows no key material.
	if s := strings.Join([]string{e.String(), e.GoString()}, " "); strings.Contains(s, B64(seed(10))) || !strings.Contains(s, e.ID()) {
		t.Errorf("printed: %s", s)
	}
	if err := os.Chmod(path, 0o604); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDevice(path); !errors.Is(err, ErrInsecureMode) {
		t.Fatalf("mode 0604: %v", err)
	}
	if _, err := parseDevice([]byte(`{"hotline_device":1,"sig_seed":"x","kem_seed":"y"}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad seeds: %v", err)
	}
	if _, err := parseDevice([]byte(`{"hotline_device":1,"sig_seed":"` + B64(seed(1)) + `","kem_seed":"` + B64(seed(2)) + `","pins":[{"side":"East","key":"` + B64(seed(3)) + `"}]}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad pin: %v", err)
	}
}

// NewDevice and NewAuthority make distinct, working keys.
func TestFreshKeys(t *testing.T) {
	d1, err := NewDevice()
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := NewDevice()
	if d1.SigPublic().Equal(d2.SigPublic()) || bytes.Equal(d1.KEMPublic(), d2.KEMPublic()) || len(d1.KEMPublic()) != KEMKeySize {
		t.Fatal("fresh devices share keys")
	}
	a, err := NewAuthority("east")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewAuthority("East"); err == nil {
		t.Fatal("invalid side accepted")
	}
	req, _ := d1.Request("east", "Alice", []role.Role{role.Operator}, t0)
	cred, err := a.Sign(req, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyCredential(cred, []Pin{a.Pin()}, t0); err != nil {
		t.Fatal(err)
	}
}
