package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseHosts(t *testing.T) {
	got, err := ParseHosts(" Hotline.Example ,10.77.0.1,::1,hotline.example, localhost")
	if err != nil {
		t.Fatal(err)
	}
	if want := "hotline.example,10.77.0.1,::1,localhost"; strings.Join(got, ",") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	for _, bad := range []string{"", " , ", "*.example", "a..b", "-a.example", "a_b.example", "host name", strings.Repeat("a", 64) + ".example",
		manyHosts(40)} {
		if _, err := ParseHosts(bad); !errors.Is(err, ErrHost) {
			t.Errorf("%q: %v, want ErrHost", bad, err)
		}
	}
}

func manyHosts(n int) string {
	var hs []string
	for i := range n {
		hs = append(hs, fmt.Sprintf("h%d.example", i))
	}
	return strings.Join(hs, ",")
}

// Init writes the four files with their modes, a P-256 CA constrained to the
// hosts and a leaf within the browsers' validity limit, and refuses to
// overwrite anything.
func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Now()
	is, err := Init(dir, []string{"hotline.example", "127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	wantModes := map[string]os.FileMode{CAFile: 0o644, CAKeyFile: 0o600, CertFile: 0o644, KeyFile: 0o600}
	for name, mode := range wantModes {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode().Perm(), mode)
		}
	}
	if k, ok := is.Leaf.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("leaf key %T, want ECDSA P-256", is.Leaf.PublicKey)
	}
	if life := is.Leaf.NotAfter.Sub(is.Leaf.NotBefore); life > 398*24*time.Hour {
		t.Errorf("leaf valid for %v, over 398 days", life)
	}
	if !is.CA.IsCA || is.CA.NotAfter.Sub(is.CA.NotBefore) != CAValidity {
		t.Errorf("CA: IsCA %v, validity %v", is.CA.IsCA, is.CA.NotAfter.Sub(is.CA.NotBefore))
	}
	if len(Fingerprint(is.CA)) != 32*3-1 {
		t.Errorf("fingerprint %q", Fingerprint(is.CA))
	}

	// The pair loads and verifies for both names against the CA.
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(is.CA)
	for _, name := range []string{"hotline.example", "127.0.0.1"} {
		if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}

	// The CA's key cannot vouch for any other name: its name constraints
	// make a leaf for another host fail verification.
	caPair, err := tls.LoadX509KeyPair(filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{"bank.example", "10.0.0.1"} {
		foreign := issueLeaf(t, caPair, other)
		if _, err := foreign.Verify(x509.VerifyOptions{Roots: roots, DNSName: other}); err == nil {
			t.Errorf("a leaf for %s signed by the trial CA verifies", other)
		}
	}

	// A second run refuses and leaves the files as they were.
	before, _ := os.ReadFile(filepath.Join(dir, KeyFile))
	if _, err := Init(dir, []string{"other.example"}, now); !errors.Is(err, ErrExists) {
		t.Fatalf("second Init: %v, want ErrExists", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, KeyFile))
	if !bytes.Equal(before, after) {
		t.Fatal("key overwritten")
	}
	// Even if only one of the files is there.
	dir2 := t.TempDir()
	os.WriteFile(filepath.Join(dir2, CAKeyFile), []byte("x"), 0o600)
	if _, err := Init(dir2, []string{"a.example"}, now); !errors.Is(err, ErrExists) {
		t.Fatalf("Init over one file: %v", err)
	}
	if ents, _ := os.ReadDir(dir2); len(ents) != 1 {
		t.Fatalf("Init wrote %d files despite refusing", len(ents)-1)
	}
}

// A CA with only IP addresses still constrains DNS names (and vice versa).
func TestInitConstrainsTheAbsentKind(t *testing.T) {
	for _, c := range []struct{ host, other string }{{"127.0.0.1", "bank.example"}, {"hotline.example", "127.0.0.2"}} {
		dir := t.TempDir()
		is, err := Init(dir, []string{c.host}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		caPair, err := tls.LoadX509KeyPair(filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile))
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(is.CA)
		if _, err := issueLeaf(t, caPair, c.other).Verify(x509.VerifyOptions{Roots: roots, DNSName: c.other}); err == nil {
			t.Errorf("CA for %s vouches for %s", c.host, c.other)
		}
	}
}

// newPair writes a fresh cert init pair into dir and returns its CA.
func newPair(t *testing.T, dir string, hosts ...string) *Issued {
	t.Helper()
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1"}
	}
	is, err := Init(dir, hosts, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return is
}

// replace copies src over dst, as a renewal would, and moves its
// modification time on so that the change is seen whatever the file
// system's timestamp granularity.
func replace(t *testing.T, src, dst string, mod time.Time) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(dst, mod, mod); err != nil {
		t.Fatal(err)
	}
}

func TestReloadPicksNewCertificate(t *testing.T) {
	live, a, b := t.TempDir(), t.TempDir(), t.TempDir()
	isA, isB := newPair(t, a), newPair(t, b)
	certFile, keyFile := filepath.Join(live, "cert.pem"), filepath.Join(live, "key.pem")
	replace(t, filepath.Join(a, CertFile), certFile, time.Now().Add(-time.Minute))
	replace(t, filepath.Join(a, KeyFile), keyFile, time.Now().Add(-time.Minute))

	clock := time.Now()
	r, err := NewReloader(certFile, keyFile, 5*time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r.now = func() time.Time { return clock }
	if !r.Current().Leaf.Equal(isA.Leaf) {
		t.Fatal("first certificate not served")
	}
	replace(t, filepath.Join(b, CertFile), certFile, time.Now())
	replace(t, filepath.Join(b, KeyFile), keyFile, time.Now())
	// Within the interval the files are not looked at.
	clock = clock.Add(time.Second)
	if !r.Current().Leaf.Equal(isA.Leaf) {
		t.Fatal("files looked at again within the interval")
	}
	clock = clock.Add(5 * time.Second)
	got, err := r.GetCertificate(nil)
	if err != nil || !got.Leaf.Equal(isB.Leaf) {
		t.Fatalf("renewed certificate not picked up (%v)", err)
	}
}

// A renewal that goes wrong (mismatched pair, garbage, files missing) keeps
// the old certificate in service and logs one error per change; a good
// pair afterwards is picked up.
func TestReloadBrokenPairKeepsOld(t *testing.T) {
	live, a, b := t.TempDir(), t.TempDir(), t.TempDir()
	isA, isB := newPair(t, a), newPair(t, b)
	certFile, keyFile := filepath.Join(live, "cert.pem"), filepath.Join(live, "key.pem")
	mod := time.Now().Add(-time.Hour)
	replace(t, filepath.Join(a, CertFile), certFile, mod)
	replace(t, filepath.Join(a, KeyFile), keyFile, mod)
	var logs bytes.Buffer
	r, err := NewReloader(certFile, keyFile, -1, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}

	step := func(what string) {
		t.Helper()
		if got := r.Current(); !got.Leaf.Equal(isA.Leaf) {
			t.Fatalf("%s: the old certificate is no longer served", what)
		}
		if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
			t.Fatalf("%s: %d errors logged, want 1:\n%s", what, n, logs.String())
		}
		r.Current() // unchanged files: no second error
		if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
			t.Fatalf("%s: error logged again for the same files", what)
		}
		logs.Reset()
	}
	// B's certificate with A's key.
	mod = mod.Add(time.Second)
	replace(t, filepath.Join(b, CertFile), certFile, mod)
	step("mismatched pair")
	os.WriteFile(certFile, []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"), 0o600)
	mod = mod.Add(time.Second)
	os.Chtimes(certFile, mod, mod)
	step("garbage")
	os.Remove(keyFile)
	step("key missing")

	replace(t, filepath.Join(b, CertFile), certFile, mod.Add(time.Minute))
	replace(t, filepath.Join(b, KeyFile), keyFile, mod.Add(time.Minute))
	if !r.Current().Leaf.Equal(isB.Leaf) {
		t.Fatalf("good pair not picked up after the broken ones:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "TLS certificate reloaded") {
		t.Fatalf("reload not logged:\n%s", logs.String())
	}
}

// A server must not start on a pair that does not load.
func TestNewReloaderRefuses(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	newPair(t, a)
	newPair(t, b)
	expired := t.TempDir()
	if _, err := Init(expired, []string{"127.0.0.1"}, time.Now().Add(-2*LeafValidity)); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(t.TempDir(), "big.pem")
	os.WriteFile(big, bytes.Repeat([]byte("A"), maxPEMBytes+1), 0o600)
	for _, c := range []struct{ name, cert, key string }{
		{"mismatched", filepath.Join(a, CertFile), filepath.Join(b, KeyFile)},
		{"missing", filepath.Join(a, "nope.pem"), filepath.Join(a, KeyFile)},
		{"key as cert", filepath.Join(a, KeyFile), filepath.Join(a, KeyFile)},
		{"expired", filepath.Join(expired, CertFile), filepath.Join(expired, KeyFile)},
		{"oversized", big, filepath.Join(a, KeyFile)},
	} {
		if _, err := NewReloader(c.cert, c.key, 0, nil); !errors.Is(err, ErrPair) {
			t.Errorf("%s: %v, want ErrPair", c.name, err)
		}
	}
}

func TestClientConfigBadCA(t *testing.T) {
	dir := t.TempDir()
	newPair(t, dir)
	for _, name := range []string{filepath.Join(dir, KeyFile), filepath.Join(dir, "missing.pem")} {
		if _, err := ClientConfig(name); !errors.Is(err, ErrCA) {
			t.Errorf("%s: %v, want ErrCA", name, err)
		}
	}
	cfg, err := ClientConfig(filepath.Join(dir, CAFile))
	if err != nil || cfg.RootCAs == nil {
		t.Fatalf("good CA: %v", err)
	}
}

// FuzzParseHosts: any input is either refused with ErrHost or gives at most
// maxHosts distinct hosts, each an IP address or a name Init accepts.
func FuzzParseHosts(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "a.example,10.0.0.1", "::1, localhost", "*.x", "a..b", ",,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		hosts, err := ParseHosts(list)
		if err != nil {
			if !errors.Is(err, ErrHost) {
				t.Fatalf("%q: %v is not ErrHost", list, err)
			}
			return
		}
		if len(hosts) == 0 || len(hosts) > maxHosts {
			t.Fatalf("%q: %d hosts", list, len(hosts))
		}
		seen := map[string]bool{}
		for _, h := range hosts {
			if seen[h] {
				t.Fatalf("%q: %s twice", list, h)
			}
			seen[h] = true
			if net.ParseIP(h) == nil && checkDNSName(h) != nil {
				t.Fatalf("%q: %q accepted", list, h)
			}
		}
	})
}
