// Package probe is the readiness probes' shared ground (issue 14,
// docs/PROTOCOL.md "Readiness probes"): the test calls' names, the result a
// probe reports for its side of one test call, signed with its device key so
// that the server stores and shows it but cannot invent it, and the rule
// that turns the latest results into the line's state (green, degraded,
// down). The probe that runs test calls is internal/prober; the server
// verifies, stores and judges with this package.
package probe

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/trust"
)

// CallPrefix starts every test call's name. The server's gate admits probe
// devices to such calls only, and nobody else to them.
const CallPrefix = "probe-"

// IsTestCall reports whether a live call's name is a test call's.
func IsTestCall(name string) bool { return strings.HasPrefix(name, CallPrefix) }

// RunName is the test call of the interval that contains t: both sides'
// probes, started with the same interval, meet in it without talking to
// each other first.
func RunName(t time.Time, every time.Duration) string {
	return CallPrefix + t.UTC().Truncate(every).Format("20060102t150405")
}

// labelResult separates a probe result's signature from every other
// signature a device makes (join proofs, API session proofs).
const labelResult = "hotline-probe-result-v1\x00"

// labelCode: a result carries a digest of the verification code, not the
// code itself, so that the stored rows do not hold what principals read.
const labelCode = "hotline-probe-code-v1\x00"

// Bounds of the wire form.
const (
	MaxBody   = 2048 // bytes of a result's JSON body
	MaxReport = 8192 // bytes of a report's JSON form (body, sig, credential)
	maxReason = 200
	maxMs     = 10 * 60 * 1000 // no figure in milliseconds exceeds 10 minutes
	maxKbps   = 1_000_000
	maxFrames = 1 << 32
)

// Result is one side's view of one test call: what it received from the
// other side's probe, and how long each step took. Figures are zero when the
// step never happened; OK false says why in Reason.
type Result struct {
	V        int    `json:"v"` // 1
	Line     string `json:"line"`
	Run      string `json:"run"`       // the test call's name
	Side     string `json:"side"`      // the probe's side (its credential's)
	Device   string `json:"device"`    // the probe's device id
	PeerSide string `json:"peer_side"` // the side whose probe it met (or waited for)
	Started  int64  `json:"started"`   // unix milliseconds: the join began
	OK       bool   `json:"ok"`
	Reason   string `json:"reason,omitempty"`

	JoinMs          int64   `json:"join_ms"`   // join start to the first frame of the peer decrypted
	KeyMs           int64   `json:"key_ms"`    // join start to the peer's key verified and held
	RTTMs           float64 `json:"rtt_ms"`    // to the server and back (RTCP)
	JitterMs        float64 `json:"jitter_ms"` // RFC 3550 interarrival jitter of the peer's media
	Loss            float64 `json:"loss"`      // fraction of the peer's packets lost, 0..1
	BitrateKbps     float64 `json:"bitrate_kbps"`
	TargetKbps      float64 `json:"target_kbps"` // what this probe sent in the same window: the same test media
	FramesDecrypted uint64  `json:"frames_decrypted"`
	CodeDigest      string  `json:"code_digest"` // b64u SHA-256 of the verification code, "" if none
}

// CodeDigest is the digest of a verification code that a result carries.
func CodeDigest(code string) string {
	if code == "" {
		return ""
	}
	h := sha256.Sum256([]byte(labelCode + code))
	return trust.B64(h[:])
}

// Report is a result as sent and stored: the exact body bytes, the
// device's signature over them and the device's credential, so that anyone
// holding the line's pins can check it again (an audit log, the other
// side's probe).
type Report struct {
	Body       string           `json:"body"` // b64u of the Result's JSON
	Sig        string           `json:"sig"`  // b64u Ed25519("hotline-probe-result-v1\0" || body)
	Credential trust.Credential `json:"credential"`
}

// RunReports is the server's answer to a stored report: every report it
// holds for the same test call, the other side's included once it came.
type RunReports struct {
	Run     string   `json:"run"`
	Reports []Report `json:"reports"`
}

// Errors of verification; each wraps into a refusal (HTTP 400 or 403).
var (
	ErrMalformed    = errors.New("probe result: malformed")
	ErrNotProbe     = errors.New("probe result: the credential holds no probe role")
	ErrBadSignature = errors.New("probe result: the signature does not verify with the credential's key")
	ErrNotSigner    = errors.New("probe result: the result names another device, side or line than its signer's")
)

// Sign makes the report of r, signed with dev's key.
func Sign(dev *trust.Device, r Result) (Report, error) {
	if dev.Credential == nil {
		return Report{}, errors.New("probe: the device is not enrolled")
	}
	body, err := json.Marshal(r)
	if err != nil {
		return Report{}, err
	}
	if len(body) > MaxBody {
		return Report{}, fmt.Errorf("%w: body of %d bytes", ErrMalformed, len(body))
	}
	sig := ed25519.Sign(dev.SigPrivate(), append([]byte(labelResult), body...))
	return Report{Body: trust.B64(body), Sig: trust.B64(sig), Credential: *dev.Credential}, nil
}

// ParseReport decodes a report's JSON form strictly (unknown fields,
// trailing data and sizes over MaxReport refused).
func ParseReport(data []byte) (Report, error) {
	var rep Report
	if len(data) > MaxReport {
		return rep, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(data), MaxReport)
	}
	if err := strict(data, &rep); err != nil {
		return rep, err
	}
	if rep.Body == "" || rep.Sig == "" || rep.Credential.Body == "" || rep.Credential.Sig == "" {
		return rep, fmt.Errorf("%w: body, sig or credential missing", ErrMalformed)
	}
	return rep, nil
}

func strict(data []byte, v any) error {
	if err := trust.DecodeStrict(data, v); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

// Verify checks a report for a line whose authorities are pins, at now,
// in this order: the credential is valid for the line (trust's errors); it
// holds the probe role (ErrNotProbe); the signature verifies with its key
// (ErrBadSignature); the body decodes (ErrMalformed) and names the line,
// the signer's side and device (ErrNotSigner) — a probe cannot report for
// the other side — and its figures are within bounds (ErrMalformed).
func Verify(rep Report, line string, pins []trust.Pin, now time.Time) (Result, *trust.Identity, error) {
	id, err := trust.VerifyCredential(rep.Credential, pins, now)
	if err != nil {
		return Result{}, nil, fmt.Errorf("probe result: credential: %w", err)
	}
	if !slices.Contains(id.Roles, role.Probe) {
		return Result{}, nil, fmt.Errorf("%w (roles %v)", ErrNotProbe, id.Roles)
	}
	body, err := trust.DecodeB64(rep.Body)
	if err != nil || len(body) > MaxBody {
		return Result{}, nil, fmt.Errorf("%w: body", ErrMalformed)
	}
	sig, err := trust.DecodeB64(rep.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return Result{}, nil, fmt.Errorf("%w: sig", ErrMalformed)
	}
	if !ed25519.Verify(id.SigKey, append([]byte(labelResult), body...), sig) {
		return Result{}, nil, ErrBadSignature
	}
	var r Result
	if err := strict(body, &r); err != nil {
		return Result{}, nil, err
	}
	if r.Line != line || r.Side != id.Side || r.Device != id.DeviceID {
		return Result{}, nil, fmt.Errorf("%w: line %q side %q device %q, signed by %s of %q on %q",
			ErrNotSigner, r.Line, r.Side, r.Device, id.DeviceID, id.Side, line)
	}
	if err := r.check(); err != nil {
		return Result{}, nil, err
	}
	return r, id, nil
}

// check bounds every field of a decoded result.
func (r Result) check() error {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrMalformed, what) }
	finite := func(f, hi float64) bool { return !math.IsNaN(f) && f >= 0 && f <= hi }
	switch {
	case r.V != 1:
		return bad(fmt.Sprintf("version %d", r.V))
	case !IsTestCall(r.Run) || protocol.ValidID("run", r.Run) != nil:
		return bad("run is not a test call's name")
	case trust.ValidSide(r.PeerSide) != nil && r.PeerSide != "":
		return bad("peer_side")
	case r.Started <= 0 || r.Started > 1<<53:
		return bad("started")
	case len(r.Reason) > maxReason:
		return bad("reason too long")
	case r.JoinMs < 0 || r.JoinMs > maxMs || r.KeyMs < 0 || r.KeyMs > maxMs:
		return bad("join_ms or key_ms")
	case !finite(r.RTTMs, maxMs) || !finite(r.JitterMs, maxMs):
		return bad("rtt_ms or jitter_ms")
	case !finite(r.Loss, 1):
		return bad("loss")
	case !finite(r.BitrateKbps, maxKbps) || !finite(r.TargetKbps, maxKbps):
		return bad("bitrate_kbps or target_kbps")
	case r.FramesDecrypted > maxFrames:
		return bad("frames_decrypted")
	case r.CodeDigest != "" && len(r.CodeDigest) != 43:
		return bad("code_digest")
	case r.OK && (r.FramesDecrypted == 0 || r.CodeDigest == ""):
		return bad("ok without a decrypted frame or a code")
	}
	return nil
}

// BodyOf decodes a stored report's body without checking it again (the
// server verified it before storing it).
func BodyOf(rep Report) (Result, error) {
	body, err := trust.DecodeB64(rep.Body)
	if err != nil {
		return Result{}, fmt.Errorf("%w: body", ErrMalformed)
	}
	var r Result
	err = strict(body, &r)
	return r, err
}
