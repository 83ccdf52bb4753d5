package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Validity of what Init makes. A leaf of at most 398 days is what browsers
// accept (CA/Browser Forum Baseline Requirements §6.3.2; Apple and Chrome
// enforce it even for locally trusted roots); 397 leaves a day of slack.
const (
	CAValidity   = 2 * 365 * 24 * time.Hour
	LeafValidity = 397 * 24 * time.Hour
)

// The files Init writes in its folder. Keys are mode 0600.
const (
	CAFile    = "ca.pem"
	CAKeyFile = "ca-key.pem"
	CertFile  = "cert.pem"
	KeyFile   = "key.pem"
)

// maxHosts bounds the names of one certificate.
const maxHosts = 32

// Errors of Init and ParseHosts.
var (
	ErrExists = errors.New("certs: file exists")
	ErrHost   = errors.New("certs: host")
)

// Issued is what Init made.
type Issued struct {
	CA, Leaf *x509.Certificate
	Files    []string // paths written, in order
}

// ParseHosts splits a comma-separated list of DNS names and IP addresses,
// checking each and dropping duplicates.
func ParseHosts(list string) ([]string, error) {
	var hosts []string
	seen := make(map[string]bool)
	for h := range strings.SplitSeq(list, ",") {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			h = ip.String()
		} else if err := checkDNSName(h); err != nil {
			return nil, err
		}
		if !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("%w: no host names or addresses given", ErrHost)
	}
	if len(hosts) > maxHosts {
		return nil, fmt.Errorf("%w: %d hosts, at most %d", ErrHost, len(hosts), maxHosts)
	}
	return hosts, nil
}

// checkDNSName accepts a host name of RFC 1123 letters, digits and hyphens
// (no wildcard: a trial names its hosts).
func checkDNSName(h string) error {
	if len(h) > 253 {
		return fmt.Errorf("%w: %q is too long", ErrHost, h)
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%w: %q is not a host name or IP address", ErrHost, h)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("%w: %q is not a host name or IP address", ErrHost, h)
			}
		}
	}
	return nil
}

// Init makes a local CA and a server certificate for hosts, signed by it,
// and writes them to dir: CAFile, CAKeyFile, CertFile, KeyFile (ECDSA
// P-256). It refuses to overwrite any of them. The CA is name-constrained
// (RFC 5280 §4.2.1.10) to exactly these hosts, so that a browser which
// trusts it for the trial trusts it for nothing else, even if its key leaks.
func Init(dir string, hosts []string, now time.Time) (*Issued, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("%w: no hosts", ErrHost)
	}
	paths := make([]string, 0, 4)
	for _, name := range []string{CAFile, CAKeyFile, CertFile, KeyFile} {
		p := filepath.Join(dir, name)
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("%w: %s; refusing to overwrite it", ErrExists, p)
		}
		paths = append(paths, p)
	}

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	dnsNames, ips := splitHosts(hosts)
	// Backdated a little for clocks that lag.
	start := now.Add(-time.Hour).UTC()
	caTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{Organization: []string{"hotline trial"}, CommonName: "hotline local CA " + now.UTC().Format("2006-01-02")},
		NotBefore:             start,
		NotAfter:              start.Add(CAValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	constrain(caTmpl, dnsNames, ips)
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("certs: CA: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{Organization: []string{"hotline trial"}, CommonName: hosts[0]},
		NotBefore:    start,
		NotAfter:     start.Add(LeafValidity),
		DNSNames:     dnsNames,
		IPAddresses:  ips,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("certs: server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return nil, err
	}

	caKeyPEM, err := keyPEM(caKey)
	if err != nil {
		return nil, err
	}
	leafKeyPEM, err := keyPEM(leafKey)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	contents := []struct {
		data []byte
		mode os.FileMode
	}{
		{certPEM(caDER), 0o644}, {caKeyPEM, 0o600}, {certPEM(leafDER), 0o644}, {leafKeyPEM, 0o600},
	}
	for i, c := range contents {
		if err := writeNew(paths[i], c.data, c.mode); err != nil {
			for _, p := range paths[:i] {
				os.Remove(p)
			}
			return nil, err
		}
	}
	return &Issued{CA: ca, Leaf: leaf, Files: paths}, nil
}

func splitHosts(hosts []string) (dnsNames []string, ips []net.IP) {
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else {
			dnsNames = append(dnsNames, h)
		}
	}
	return dnsNames, ips
}

// constrain limits the CA to the given names and addresses. A type with no
// entry would be unconstrained, so it is closed explicitly: DNS names to
// the reserved "invalid" domain (RFC 6761 §6.4), IP addresses excluded
// altogether.
func constrain(ca *x509.Certificate, dnsNames []string, ips []net.IP) {
	ca.PermittedDNSDomainsCritical = true
	ca.PermittedDNSDomains = dnsNames
	if len(dnsNames) == 0 {
		ca.PermittedDNSDomains = []string{"invalid"}
	}
	for _, ip := range ips {
		bits := 128
		if ip4 := ip.To4(); ip4 != nil {
			ip, bits = ip4, 32
		}
		ca.PermittedIPRanges = append(ca.PermittedIPRanges, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
	}
	if len(ips) == 0 {
		ca.ExcludedIPRanges = []*net.IPNet{
			{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)},
			{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)},
		}
	}
}

func randomSerial() *big.Int {
	// RFC 5280 §4.1.2.2: positive, at most 20 octets; 128 random bits.
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n.Add(n, big.NewInt(1))
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func keyPEM(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// writeNew creates name (never replacing an existing file) and syncs it.
func writeNew(name string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s; refusing to overwrite it", ErrExists, name)
		}
		return fmt.Errorf("certs: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("certs: %s: %w", name, err)
	}
	return nil
}

// Fingerprint is the SHA-256 of a certificate's DER encoding, as browsers
// show it: upper-case hex pairs joined by colons.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	var b strings.Builder
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// SPKIHash is the base64 SHA-256 of a certificate's SubjectPublicKeyInfo,
// the form of HPKP pins and of Chromium's
// --ignore-certificate-errors-spki-list (used by the browser tests).
func SPKIHash(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}
