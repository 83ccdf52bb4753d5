package trust

import (
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"hotline/internal/role"
)

// ErrNotThisDevice: a credential that verifies but names other keys than
// the device's own.
var ErrNotThisDevice = errors.New("credential is for another device's keys")

// Device is a native endpoint's identity (docs/PROTOCOL.md, "Keys"): its
// Ed25519 signing key, its X-Wing KEM key (a 32-byte seed, the form
// draft-connolly-cfrg-xwing-kem and crypto/hpke use), and, once enrolled,
// its credential and the line's two authority pins.
type Device struct {
	Credential *Credential
	Pins       []Pin

	sig     ed25519.PrivateKey
	kemSeed []byte
	kem     hpke.PrivateKey
}

// NewDevice makes a device with fresh keys, not yet enrolled.
func NewDevice() (*Device, error) {
	seeds := make([]byte, 2*SeedSize)
	if _, err := rand.Read(seeds); err != nil {
		return nil, err
	}
	return DeviceFromSeeds(seeds[:SeedSize], seeds[SeedSize:])
}

// DeviceFromSeeds makes the device whose Ed25519 seed and X-Wing seed are
// given (for test vectors and loading files).
func DeviceFromSeeds(sigSeed, kemSeed []byte) (*Device, error) {
	if len(sigSeed) != SeedSize || len(kemSeed) != SeedSize {
		return nil, fmt.Errorf("device seeds must be %d bytes each", SeedSize)
	}
	kem, err := hpke.MLKEM768X25519().NewPrivateKey(kemSeed)
	if err != nil {
		return nil, err
	}
	return &Device{
		sig:     ed25519.NewKeyFromSeed(sigSeed),
		kemSeed: append([]byte(nil), kemSeed...),
		kem:     kem,
	}, nil
}

// SigPublic is the device's signing key, sig_key.
func (d *Device) SigPublic() ed25519.PublicKey { return d.sig.Public().(ed25519.PublicKey) }

// SigPrivate is the device's private signing key (join proofs, key messages).
func (d *Device) SigPrivate() ed25519.PrivateKey { return d.sig }

// KEMPublic is the device's X-Wing public key, kem_key (1216 bytes).
func (d *Device) KEMPublic() []byte { return d.kem.PublicKey().Bytes() }

// KEMPrivate is the device's X-Wing private key, for opening key messages.
func (d *Device) KEMPrivate() hpke.PrivateKey { return d.kem }

// ID is the device id of the device's signing key.
func (d *Device) ID() string { return DeviceID(d.SigPublic()) }

// String names the device without its keys.
func (d *Device) String() string { return "device " + d.ID() }

// GoString is String, for %#v.
func (d *Device) GoString() string { return d.String() }

// Request makes the device's enrolment request.
func (d *Device) Request(side, name string, roles []role.Role, now time.Time) (Request, error) {
	return NewRequest(d.sig, d.KEMPublic(), side, name, roles, now)
}

// JoinProof proves the device holds its key on this connection.
func (d *Device) JoinProof(nonce []byte, server, line, call string) []byte {
	return JoinProof(d.sig, nonce, server, line, call)
}

// Identity verifies the device's own credential against its pins, as any
// peer would, and checks that it names this device's keys.
func (d *Device) Identity(now time.Time) (*Identity, error) {
	if d.Credential == nil {
		return nil, errors.New("device is not enrolled: no credential")
	}
	if len(d.Pins) == 0 {
		return nil, errors.New("device is not enrolled: no authority pins")
	}
	id, err := VerifyCredential(*d.Credential, d.Pins, now)
	if err != nil {
		return nil, err
	}
	if !id.SigKey.Equal(d.SigPublic()) || string(id.KEMKey) != string(d.KEMPublic()) {
		return nil, ErrNotThisDevice
	}
	return id, nil
}

// deviceFile is a native device's file, mode 0600:
//
//	{"hotline_device":1,"sig_seed":"<b64u 32>","kem_seed":"<b64u 32>",
//	 "credential":{"body":"...","sig":"..."},"pins":[{"side":"east","key":"<b64u 32>"}]}
//
// credential and pins are absent until the device is enrolled.
type deviceFile struct {
	Version    int        `json:"hotline_device"`
	SigSeed    string     `json:"sig_seed"`
	KEMSeed    string     `json:"kem_seed"`
	Credential *Signed    `json:"credential,omitempty"`
	Pins       []pinEntry `json:"pins,omitempty"`
}

type pinEntry struct {
	Side string `json:"side"`
	Key  string `json:"key"`
}

// Save writes the device file at path (mode 0600, atomically; it replaces
// an older version of the file).
func (d *Device) Save(path string) error {
	f := deviceFile{Version: 1, SigSeed: B64(d.sig.Seed()), KEMSeed: B64(d.kemSeed)}
	if d.Credential != nil {
		c := Signed(*d.Credential)
		f.Credential = &c
	}
	for _, p := range d.Pins {
		f.Pins = append(f.Pins, pinEntry{Side: p.Side, Key: B64(p.Key)})
	}
	data, err := canonicalJSON(&f)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'), false)
}

// LoadDevice reads a device file. It holds private keys in clear, so a file
// readable by others is refused (ErrInsecureMode).
func LoadDevice(path string) (*Device, error) {
	if err := CheckMode(path); err != nil {
		return nil, err
	}
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	d, err := parseDevice(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

func parseDevice(data []byte) (*Device, error) {
	var f deviceFile
	if err := DecodeStrict(data, &f); err != nil {
		return nil, fmt.Errorf("device file: %w", err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("device file: %w: hotline_device is %d, want 1", ErrMalformed, f.Version)
	}
	sigSeed, err := decodeB64Len("sig_seed", f.SigSeed, SeedSize)
	if err != nil {
		return nil, fmt.Errorf("device file: %w: %v", ErrMalformed, err)
	}
	kemSeed, err := decodeB64Len("kem_seed", f.KEMSeed, SeedSize)
	if err != nil {
		return nil, fmt.Errorf("device file: %w: %v", ErrMalformed, err)
	}
	d, err := DeviceFromSeeds(sigSeed, kemSeed)
	if err != nil {
		return nil, err
	}
	if f.Credential != nil {
		c := Credential(*f.Credential)
		d.Credential = &c
	}
	for _, p := range f.Pins {
		if err := ValidSide(p.Side); err != nil {
			return nil, fmt.Errorf("device file: %w: pin: %v", ErrMalformed, err)
		}
		key, err := decodeB64Len("pin key", p.Key, ed25519.PublicKeySize)
		if err != nil {
			return nil, fmt.Errorf("device file: %w: %v", ErrMalformed, err)
		}
		d.Pins = append(d.Pins, Pin{Side: p.Side, Key: key})
	}
	return d, nil
}
