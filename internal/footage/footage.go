// Package footage is the hand-over of a recorded public segment
// (docs/PROTOCOL.md, "Footage"): the press recorder writes a manifest of
// its files (each file's SHA-256), the segment's start and end, the
// roster with each member's credential and the two segment markers, and
// signs it with the press device's key; Verify checks a folder against the
// line's pins (the authorities), so that one changed byte in a file or in
// the manifest fails.
package footage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"hotline/internal/marker"
	"hotline/internal/protocol"
	"hotline/internal/record"
	"hotline/internal/role"
	"hotline/internal/trust"
)

// Names of the manifest and its signature in the folder.
const (
	ManifestFile  = "manifest.json"
	SignatureFile = "manifest.sig"
	// MaxManifest bounds the manifest a verifier reads.
	MaxManifest = 1 << 20
)

// Manifest describes one recorded segment.
type Manifest struct {
	V     int    `json:"v"` // 1
	Line  string `json:"line"`
	Call  string `json:"call"`
	Start int64  `json:"start"` // Unix ms: the recorder saw the segment open
	End   int64  `json:"end"`   // and closed
	// Open and Cut are the segment markers, as signed by who pressed.
	Open *protocol.Marker `json:"open"`
	Cut  *protocol.Marker `json:"cut"`
	// Recorder is the press device's credential: it signed the manifest.
	Recorder protocol.Credential `json:"recorder"`
	Files    []FileEntry         `json:"files"`
	Roster   []Member            `json:"roster"`
}

// FileEntry is one recording.
type FileEntry struct {
	Path        string `json:"path"`
	SHA256      string `json:"sha256"`
	Bytes       int64  `json:"bytes"`
	Participant string `json:"participant"`
	Name        string `json:"name"`
	Source      string `json:"source"`
	Frames      int    `json:"frames"`
	First       int64  `json:"first"` // Unix ms
	Last        int64  `json:"last"`
}

// Member is one roster entry: who the call said took part, with the
// credential's fingerprint (SHA-256 of its signed body) and the credential
// itself, which Verify checks against the pins.
type Member struct {
	ID          string              `json:"id"`
	Name        string              `json:"name"`
	Device      string              `json:"device"`
	Fingerprint string              `json:"fingerprint"`
	Credential  protocol.Credential `json:"credential"`
}

// Fingerprint is a credential's fingerprint: hex SHA-256 of its body.
func Fingerprint(c protocol.Credential) string {
	h := sha256.Sum256([]byte(c.Body))
	return hex.EncodeToString(h[:])
}

// Write makes the manifest of res in dir (whose files res names) and signs
// it with dev's key.
func Write(dir, line, call string, dev *trust.Device, res record.Result) (Manifest, error) {
	if dev.Credential == nil {
		return Manifest{}, errors.New("footage: the device has no credential")
	}
	m := Manifest{V: 1, Line: line, Call: call, Start: res.Start.UnixMilli(), End: res.End.UnixMilli(),
		Open: res.Open, Cut: res.Cut, Recorder: protocol.Credential{Body: dev.Credential.Body, Sig: dev.Credential.Sig}}
	for _, f := range res.Files {
		sum, n, err := hashFile(filepath.Join(dir, f.Path))
		if err != nil {
			return Manifest{}, err
		}
		m.Files = append(m.Files, FileEntry{Path: f.Path, SHA256: sum, Bytes: n, Participant: f.Participant, Name: f.Name,
			Source: f.Source, Frames: f.Frames, First: f.First.UnixMilli(), Last: f.Last.UnixMilli()})
	}
	for _, e := range res.Roster {
		m.Roster = append(m.Roster, Member{ID: e.ID, Name: e.Name, Device: e.Device, Fingerprint: Fingerprint(e.Credential), Credential: e.Credential})
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, err
	}
	data = append(data, '\n')
	sig := trust.B64(trust.SignFootage(dev.SigPrivate(), data)) + "\n"
	if err := writeFile(filepath.Join(dir, ManifestFile), data); err != nil {
		return Manifest{}, err
	}
	return m, writeFile(filepath.Join(dir, SignatureFile), []byte(sig))
}

// writeFile writes data to path atomically (temp file, fsync, rename).
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// ErrMismatch: the folder is not what its manifest says, or the manifest
// is not what the recorder signed.
var ErrMismatch = errors.New("footage does not verify")

// Verify checks the folder dir against the line's pins: the manifest's
// signature by the recorder (a press credential valid at the segment's
// end), the two markers (signed by devices allowed to run the segment,
// for this call), every roster member's credential, and every file's
// SHA-256; a .webm in the folder that the manifest does not list fails too.
func Verify(dir string, pins []trust.Pin) (Manifest, error) {
	data, err := readBounded(filepath.Join(dir, ManifestFile))
	if err != nil {
		return Manifest{}, err
	}
	sigText, err := readBounded(filepath.Join(dir, SignatureFile))
	if err != nil {
		return Manifest{}, err
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil || m.V != 1 {
		return Manifest{}, fmt.Errorf("%w: manifest: %v (version %d)", ErrMismatch, err, m.V)
	}
	at := time.UnixMilli(m.End)
	rec, err := trust.VerifyCredential(trust.Credential{Body: m.Recorder.Body, Sig: m.Recorder.Sig}, pins, at)
	if err != nil {
		return m, fmt.Errorf("%w: the recorder's credential: %v", ErrMismatch, err)
	}
	if !role.AllowedAny(rec.Roles, role.ReceivePublicSegment) {
		return m, fmt.Errorf("%w: the recorder %s has roles %v", ErrMismatch, rec.Name, rec.Roles)
	}
	sig, err := trust.DecodeB64(strings.TrimSpace(string(sigText)))
	if err != nil {
		return m, fmt.Errorf("%w: %s: %v", ErrMismatch, SignatureFile, err)
	}
	if err := trust.VerifyFootage(rec.SigKey, data, sig); err != nil {
		return m, fmt.Errorf("%w: %v", ErrMismatch, err)
	}
	if m.Open == nil || m.Open.Segment != protocol.SegmentPublic {
		return m, fmt.Errorf("%w: no marker opens the segment", ErrMismatch)
	}
	for _, mk := range []*protocol.Marker{m.Open, m.Cut} {
		if mk == nil {
			continue // stopped before the cut
		}
		if _, err := marker.Verify(*mk, m.Line, m.Call, pins, time.UnixMilli(mk.At)); err != nil {
			return m, fmt.Errorf("%w: marker %d: %v", ErrMismatch, mk.Seq, err)
		}
	}
	if m.Cut != nil && (m.Cut.Segment != protocol.SegmentPrivate || m.Cut.Seq <= m.Open.Seq) {
		return m, fmt.Errorf("%w: the cut's marker does not follow the opening's", ErrMismatch)
	}
	for _, e := range m.Roster {
		if _, err := trust.VerifyCredential(trust.Credential{Body: e.Credential.Body, Sig: e.Credential.Sig}, pins, at); err != nil {
			return m, fmt.Errorf("%w: roster entry %s: %v", ErrMismatch, e.Name, err)
		}
		if e.Fingerprint != Fingerprint(e.Credential) {
			return m, fmt.Errorf("%w: roster entry %s: fingerprint", ErrMismatch, e.Name)
		}
	}
	listed := map[string]bool{}
	for _, f := range m.Files {
		if f.Path != filepath.Base(f.Path) || !strings.HasSuffix(f.Path, ".webm") {
			return m, fmt.Errorf("%w: file name %q", ErrMismatch, f.Path)
		}
		listed[f.Path] = true
		sum, n, err := hashFile(filepath.Join(dir, f.Path))
		if err != nil {
			return m, fmt.Errorf("%w: %v", ErrMismatch, err)
		}
		if sum != f.SHA256 || n != f.Bytes {
			return m, fmt.Errorf("%w: %s: SHA-256 %s, the manifest says %s", ErrMismatch, f.Path, sum, f.SHA256)
		}
	}
	found, _ := filepath.Glob(filepath.Join(dir, "*.webm"))
	for _, p := range found {
		if !listed[filepath.Base(p)] {
			return m, fmt.Errorf("%w: %s is not in the manifest", ErrMismatch, filepath.Base(p))
		}
	}
	slices.SortFunc(m.Files, func(a, b FileEntry) int { return strings.Compare(a.Path, b.Path) })
	return m, nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMismatch, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxManifest+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxManifest {
		return nil, fmt.Errorf("%w: %s over %d bytes", ErrMismatch, filepath.Base(path), MaxManifest)
	}
	return data, nil
}
