package trust

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
)

// A side's authority file (docs/PROTOCOL.md, "Keys"): the key is either in
// clear (protected by the file's 0600 mode only) or sealed with AES-256-GCM
// under a key derived from a passphrase with PBKDF2-SHA256.
const (
	authorityFileVersion = 1
	kdfPBKDF2SHA256      = "pbkdf2-sha256"
	// PBKDF2Iterations is what Save writes: OWASP's 2023 figure for
	// PBKDF2-HMAC-SHA256.
	PBKDF2Iterations = 600_000
	// maxPBKDF2Iterations bounds what a file may ask for, so that a crafted
	// file cannot make loading it take minutes.
	maxPBKDF2Iterations = 10_000_000
	saltSize            = 16
	gcmNonceSize        = 12
)

// Errors of LoadAuthority besides ErrMalformed and ErrInsecureMode.
var (
	ErrPassphraseNeeded = errors.New("the authority key is encrypted; a passphrase is needed")
	ErrWrongPassphrase  = errors.New("wrong passphrase (or the file was altered)")
	ErrKeyMismatch      = errors.New("public key does not match the private key")
)

// Authority is a side's signing authority. Only its security officer holds
// the private key; devices pin its public key.
type Authority struct {
	Side   string
	Public ed25519.PublicKey
	Demo   bool // made by `hotline demo`; not for real lines
	// Encrypted tells whether the file it was loaded from held the key
	// under a passphrase.
	Encrypted bool

	private ed25519.PrivateKey
}

// NewAuthority makes a new authority for side with a fresh key.
func NewAuthority(side string) (*Authority, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	return AuthorityFromSeed(side, seed)
}

// AuthorityFromSeed makes the authority whose Ed25519 seed is given (for
// test vectors and loading files).
func AuthorityFromSeed(side string, seed []byte) (*Authority, error) {
	if err := ValidSide(side); err != nil {
		return nil, err
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("authority seed is %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return &Authority{Side: side, Public: priv.Public().(ed25519.PublicKey), private: priv}, nil
}

// Pin is what devices of the line keep of this authority.
func (a *Authority) Pin() Pin { return Pin{Side: a.Side, Key: a.Public} }

// Fingerprint of the authority's public key.
func (a *Authority) Fingerprint() string { return Fingerprint(a.Public) }

// String names the authority without its key, so that printing one by
// mistake leaks nothing.
func (a *Authority) String() string {
	return fmt.Sprintf("authority %q %s", a.Side, a.Fingerprint())
}

// GoString is String, for %#v.
func (a *Authority) GoString() string { return a.String() }

// Sign turns a request into a credential valid from issued until expires.
// It verifies the request's self-signature first and refuses a request for
// another side than the authority's (ErrSideMismatch).
func (a *Authority) Sign(req Request, issued, expires time.Time) (Credential, error) {
	rb, err := VerifyRequest(req)
	if err != nil {
		return Credential{}, err
	}
	if rb.Side != a.Side {
		return Credential{}, fmt.Errorf("%w: request for side %q, authority for %q", ErrSideMismatch, rb.Side, a.Side)
	}
	roles := make([]string, len(rb.Roles))
	for i, r := range rb.Roles {
		roles[i] = string(r)
	}
	w := credentialWire{
		V: 1, Authority: B64(a.Public),
		subject: subject{Side: rb.Side, Name: rb.Name, Roles: roles, SigKey: B64(rb.SigKey), KEMKey: B64(rb.KEMKey)},
		Issued:  issued.Unix(), Expires: expires.Unix(),
	}
	if _, err := w.parse(); err != nil {
		return Credential{}, err // times out of range or expires ≤ issued
	}
	body, err := canonicalJSON(&w)
	if err != nil {
		return Credential{}, err
	}
	if len(body) > MaxBodySize {
		return Credential{}, fmt.Errorf("%w: body is %d bytes, at most %d", ErrMalformed, len(body), MaxBodySize)
	}
	sig := ed25519.Sign(a.private, append([]byte(labelCredential), body...))
	return Credential{Body: B64(body), Sig: B64(sig)}, nil
}

// authorityFile is the file's JSON, fields in the spec's order.
type authorityFile struct {
	Version    int           `json:"hotline_authority"`
	Side       string        `json:"side"`
	PublicKey  string        `json:"public_key"`
	PrivateKey string        `json:"private_key,omitempty"`
	Encrypted  *encryptedKey `json:"encrypted,omitempty"`
	Demo       bool          `json:"demo,omitempty"`
}

type encryptedKey struct {
	KDF        string `json:"kdf"`
	Iterations int    `json:"iterations"`
	Salt       string `json:"salt"`
	Nonce      string `json:"nonce"`
	Ciphertext string `json:"ciphertext"`
}

// keyAAD binds the sealed key to its side and public key:
// "hotline-authority-v1\0" || str16(side) || public_key.
func keyAAD(side string, pub []byte) []byte {
	aad, _ := AppendStr16([]byte(labelAuthority), side) // side ≤ 32 bytes
	return append(aad, pub...)
}

// keyCipher is AES-256-GCM keyed with PBKDF2-SHA256(passphrase, salt, iterations, 32).
func keyCipher(passphrase, salt []byte, iterations int) (cipher.AEAD, error) {
	key, err := pbkdf2.Key(sha256.New, string(passphrase), salt, iterations, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Save writes the authority file at path, mode 0600, atomically, and never
// over an existing file (an authority key is not replaced by accident).
// With a non-empty passphrase the key is sealed with it; without one it is
// written in clear.
func (a *Authority) Save(path string, passphrase []byte, demo bool) error {
	f := authorityFile{Version: authorityFileVersion, Side: a.Side, PublicKey: B64(a.Public), Demo: demo}
	seed := a.private.Seed()
	if len(passphrase) == 0 {
		f.PrivateKey = B64(seed)
	} else {
		salt := make([]byte, saltSize)
		nonce := make([]byte, gcmNonceSize)
		if _, err := rand.Read(salt); err != nil {
			return err
		}
		if _, err := rand.Read(nonce); err != nil {
			return err
		}
		aead, err := keyCipher(passphrase, salt, PBKDF2Iterations)
		if err != nil {
			return err
		}
		ct := aead.Seal(nil, nonce, seed, keyAAD(a.Side, a.Public))
		f.Encrypted = &encryptedKey{
			KDF: kdfPBKDF2SHA256, Iterations: PBKDF2Iterations,
			Salt: B64(salt), Nonce: B64(nonce), Ciphertext: B64(ct),
		}
	}
	data, err := canonicalJSON(&f)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'), true)
}

// LoadAuthority reads an authority file. An encrypted key needs the
// passphrase (ErrPassphraseNeeded without one, ErrWrongPassphrase when it
// does not open); a key in clear is refused when the file is readable by
// others (ErrInsecureMode), and a passphrase given for it is not needed.
// The public key must match the private one (ErrKeyMismatch).
func LoadAuthority(path string, passphrase []byte) (*Authority, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	a, err := ParseAuthority(data, passphrase)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !a.Encrypted {
		if err := CheckMode(path); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// AuthorityInfo is what an authority file says in clear: enough to show
// and pin it without the passphrase.
type AuthorityInfo struct {
	Side      string
	Public    ed25519.PublicKey
	Demo      bool
	Encrypted bool
}

// PeekAuthority reads an authority file's public part, checking its form
// but not unlocking (or even decoding) the private key.
func PeekAuthority(path string) (*AuthorityInfo, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	f, pub, err := decodeAuthorityFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &AuthorityInfo{Side: f.Side, Public: pub, Demo: f.Demo, Encrypted: f.Encrypted != nil}, nil
}

// decodeAuthorityFile checks everything but the private key itself.
func decodeAuthorityFile(data []byte) (*authorityFile, ed25519.PublicKey, error) {
	var f authorityFile
	if err := DecodeStrict(data, &f); err != nil {
		return nil, nil, fmt.Errorf("authority file: %w", err)
	}
	if f.Version != authorityFileVersion {
		return nil, nil, fmt.Errorf("authority file: %w: hotline_authority is %d, want 1", ErrMalformed, f.Version)
	}
	if err := ValidSide(f.Side); err != nil {
		return nil, nil, fmt.Errorf("authority file: %w: %v", ErrMalformed, err)
	}
	pub, err := decodeB64Len("public_key", f.PublicKey, ed25519.PublicKeySize)
	if err != nil {
		return nil, nil, fmt.Errorf("authority file: %w: %v", ErrMalformed, err)
	}
	if (f.PrivateKey != "") == (f.Encrypted != nil) {
		return nil, nil, fmt.Errorf("authority file: %w: needs exactly one of private_key and encrypted", ErrMalformed)
	}
	return &f, pub, nil
}

// ParseAuthority decodes an authority file's content (see LoadAuthority).
func ParseAuthority(data, passphrase []byte) (*Authority, error) {
	f, pub, err := decodeAuthorityFile(data)
	if err != nil {
		return nil, err
	}
	var seed []byte
	if f.PrivateKey != "" {
		if seed, err = decodeB64Len("private_key", f.PrivateKey, ed25519.SeedSize); err != nil {
			return nil, fmt.Errorf("authority file: %w: %v", ErrMalformed, err)
		}
	} else if seed, err = f.Encrypted.open(passphrase, f.Side, pub); err != nil {
		return nil, fmt.Errorf("authority file: %w", err)
	}
	a, err := AuthorityFromSeed(f.Side, seed)
	if err != nil {
		return nil, err
	}
	clear(seed)
	if !a.Public.Equal(pub) {
		return nil, fmt.Errorf("authority file: %w", ErrKeyMismatch)
	}
	a.Demo = f.Demo
	a.Encrypted = f.Encrypted != nil
	return a, nil
}

func (e *encryptedKey) open(passphrase []byte, side string, pub []byte) ([]byte, error) {
	if e.KDF != kdfPBKDF2SHA256 {
		return nil, fmt.Errorf("%w: kdf %q, want %q", ErrMalformed, e.KDF, kdfPBKDF2SHA256)
	}
	if e.Iterations < PBKDF2Iterations || e.Iterations > maxPBKDF2Iterations {
		return nil, fmt.Errorf("%w: %d iterations, want %d to %d", ErrMalformed, e.Iterations, PBKDF2Iterations, maxPBKDF2Iterations)
	}
	salt, err := decodeB64Len("salt", e.Salt, saltSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	nonce, err := decodeB64Len("nonce", e.Nonce, gcmNonceSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	ct, err := decodeB64Len("ciphertext", e.Ciphertext, ed25519.SeedSize+16)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(passphrase) == 0 {
		return nil, ErrPassphraseNeeded
	}
	aead, err := keyCipher(passphrase, salt, e.Iterations)
	if err != nil {
		return nil, err
	}
	seed, err := aead.Open(nil, nonce, ct, keyAAD(side, pub))
	if err != nil {
		return nil, ErrWrongPassphrase
	}
	return seed, nil
}
