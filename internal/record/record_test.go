package record_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/internal/apiclient"
	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/footage"
	"hotline/internal/protocol"
	"hotline/internal/record"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/sframe"
	"hotline/internal/tier"
	"hotline/internal/trust"
)

const patience = 60 * time.Second

// probe is what ffprobe says of a file.
type probe struct {
	Streams []struct {
		CodecName string `json:"codec_name"`
		CodecType string `json:"codec_type"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func ffprobe(t *testing.T, path string) probe {
	t.Helper()
	bin, err := exec.LookPath("ffprobe")
	if err != nil {
		t.Fatal("ffprobe (Debian's ffmpeg) is needed; scripts/test.sh installs it:", err)
	}
	out, err := exec.Command(bin, "-v", "error", "-show_entries", "stream=codec_name,codec_type:format=duration", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// line is a test server with two principals publishing.
type line struct {
	srv   *servertest.Server
	alice *trust.Device
	a, b  *client.Client
	api   *apiclient.Client
}

func startLine(t *testing.T, call string, bMod func(*client.Config)) *line {
	tier.Integration(t)
	srv := servertest.Start(t, server.Config{}, servertest.Logger())
	l := &line{srv: srv, alice: srv.Device(t, demo.East, "Alice")}
	join := func(name string, dev *trust.Device, mod func(*client.Config)) *client.Client {
		cfg := client.Config{Server: srv.URL(), Line: demo.Line, Call: call, Device: dev, Publish: true, Logger: servertest.Logger()}
		if mod != nil {
			mod(&cfg)
		}
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		c, err := client.Join(ctx, cfg)
		if err != nil {
			t.Fatalf("%s joins: %v", name, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	l.a = join("Alice", l.alice, nil)
	l.b = join("Bob", srv.Device(t, demo.West, "Bob"), bMod)
	cl, err := apiclient.New(srv.URL(), &http.Client{Timeout: patience})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := cl.SignIn(ctx, l.alice, demo.Line); err != nil {
		t.Fatal(err)
	}
	l.api = cl
	return l
}

func (l *line) segment(t *testing.T, call, seg string) protocol.Marker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	s, err := l.api.SetSegment(ctx, l.alice, demo.Line, call, seg)
	if err != nil {
		t.Fatalf("segment %s: %v", seg, err)
	}
	return *s.Marker
}

// recorder runs record.Run for the press in the background.
type recorder struct {
	dev    *trust.Device
	done   chan struct{}
	res    record.Result
	err    error
	joined chan *client.Client
}

func startRecorder(t *testing.T, l *line, call, out string, live func(client.Frame)) *recorder {
	r := &recorder{done: make(chan struct{}), joined: make(chan *client.Client, 1), dev: l.srv.Device(t, demo.East, "Press pool", role.Press)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*patience)
	t.Cleanup(cancel)
	cfg := record.Config{Out: out, Log: servertest.Logger(), Live: live,
		Client: client.Config{Server: l.srv.URL(), Line: demo.Line, Call: call,
			Device: r.dev, Logger: servertest.Logger()},
		Joined: func(c *client.Client) { r.joined <- c }}
	go func() {
		defer close(r.done)
		r.res, r.err = record.Run(ctx, cfg)
	}()
	return r
}

func (r *recorder) client(t *testing.T) *client.Client {
	select {
	case c := <-r.joined:
		return c
	case <-r.done:
		t.Fatal("the recorder stopped before joining:", r.err)
	}
	return nil
}

func decryptedFrom(c *client.Client, n int) error {
	from := map[string]bool{}
	for _, ts := range c.Stats().Tracks {
		if ts.Decrypted >= 30 {
			from[ts.Participant+ts.Kind] = true
		}
	}
	if len(from) < 2*n {
		return fmt.Errorf("decrypted enough of %d tracks", len(from))
	}
	return nil
}

// frameLog collects forwarded frames after a moment.
type frameLog struct {
	mu     sync.Mutex
	frames []frame
}

type frame struct {
	kind string
	data []byte
	at   time.Time
}

func (f *frameLog) add(_, kind string, data []byte) {
	f.mu.Lock()
	f.frames = append(f.frames, frame{kind, append([]byte(nil), data...), time.Now()})
	f.mu.Unlock()
}

func (f *frameLog) after(t time.Time) []frame {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []frame
	for _, x := range f.frames {
		if x.at.After(t) {
			out = append(out, x)
		}
	}
	return out
}

// TestRecorderWritesTheSegment: two principals publish; the press
// recorder waits in the lobby, records the public segment a principal
// opens, and closes its files at the marker of "go private". The
// principals go on talking for 10 s: ffprobe reads one WebM per principal
// (VP8 and Opus) whose duration is the segment's within a second, and the
// frames forwarded after the cut, fed to the recorder's receiver, decrypt
// to nothing.
func TestRecorderWritesTheSegment(t *testing.T) {
	const call = "press-record"
	var forwarded frameLog
	l := startLine(t, call, func(c *client.Config) { c.EncryptedTap = forwarded.add })
	out := t.TempDir()
	rec := startRecorder(t, l, call, out, nil)
	press := rec.client(t)

	open := l.segment(t, call, protocol.SegmentPublic)
	servertest.Eventually(t, "the recorder decrypts both principals", func() error { return decryptedFrom(press, 2) })
	time.Sleep(4 * time.Second) // the segment goes on
	cut := l.segment(t, call, protocol.SegmentPrivate)
	select {
	case <-rec.done:
	case <-time.After(patience):
		t.Fatal("the recorder did not stop at the cut")
	}
	if rec.err != nil {
		t.Fatal("record:", rec.err)
	}
	time.Sleep(10 * time.Second) // the principals keep talking in private
	segment := time.Duration(cut.At-open.At) * time.Millisecond
	if len(rec.res.Files) != 2 {
		t.Fatalf("files %+v, want one per principal", rec.res.Files)
	}
	for _, f := range rec.res.Files {
		p := ffprobe(t, filepath.Join(out, f.Path))
		codecs := map[string]string{}
		for _, s := range p.Streams {
			codecs[s.CodecType] = s.CodecName
		}
		secs, err := strconv.ParseFloat(p.Format.Duration, 64)
		if err != nil {
			t.Fatalf("%s: duration %q", f.Path, p.Format.Duration)
		}
		d := time.Duration(secs * float64(time.Second))
		t.Logf("%s (%s): %v, %d frames, ffprobe %v; the segment %v; last frame %v before the cut",
			f.Path, f.Name, codecs, f.Frames, d.Round(time.Millisecond), segment, time.UnixMilli(cut.At).Sub(f.Last).Round(time.Millisecond))
		// Playable: ffprobe decodes every frame without a complaint.
		cmd := exec.Command("ffprobe", "-v", "error", "-show_entries", "frame=media_type", "-of", "csv", filepath.Join(out, f.Path))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		decoded, err := cmd.Output()
		if err != nil || stderr.Len() > 0 || strings.Count(string(decoded), "video") < 100 {
			t.Errorf("%s: decoding: %v, %d video frames, %s", f.Path, err, strings.Count(string(decoded), "video"), stderr.String())
		}
		if codecs["video"] != "vp8" || codecs["audio"] != "opus" {
			t.Errorf("%s: codecs %v, want vp8 and opus", f.Path, codecs)
		}
		if math.Abs(float64(d-segment)) > float64(time.Second) {
			t.Errorf("%s: %v long, the segment %v", f.Path, d, segment)
		}
	}
	// The tap: what was forwarded to Bob after the cut, fed to the
	// recorder's receiver (every key it held).
	after := forwarded.after(rec.res.End.Add(time.Second))
	opened := 0
	for _, f := range after {
		k := sframe.Audio
		if f.kind == protocol.KindVideo {
			k = sframe.Video
		}
		if _, _, err := press.Keys().Receiver().Decrypt(nil, k, f.data); err == nil {
			opened++
		} else if !errors.Is(err, sframe.ErrUnknownKID) {
			t.Errorf("recorder's receiver: %v", err)
		}
	}
	t.Logf("after the cut: %d frames fed to the recorder's receiver, %d decrypted", len(after), opened)
	if len(after) < 100 || opened != 0 {
		t.Fatalf("%d of %d frames after the cut decrypted by the press", opened, len(after))
	}
	checkFootage(t, out, call, rec)
}

// checkFootage (THREAT_MODEL.md, "the footage handed over is what the
// press device recorded"): the signed manifest verifies against the line's
// pins; one changed byte in a file or in the manifest fails.
func checkFootage(t *testing.T, out, call string, rec *recorder) {
	m, err := footage.Write(out, demo.Line, call, rec.dev, rec.res)
	if err != nil {
		t.Fatal(err)
	}
	pins := rec.dev.Pins
	if _, err := footage.Verify(out, pins); err != nil {
		t.Fatal("the manifest as written:", err)
	}
	if len(m.Roster) < 2 || m.Cut == nil || len(m.Files) != 2 {
		t.Errorf("manifest: %d roster entries, cut %v, %d files", len(m.Roster), m.Cut, len(m.Files))
	}
	flip := func(path string, at func(n int) int) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		i := at(len(data))
		data[i] ^= 0x01
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err = footage.Verify(out, pins)
		if !errors.Is(err, footage.ErrMismatch) {
			t.Errorf("%s with byte %d changed: %v, want a mismatch", filepath.Base(path), i, err)
		}
		data[i] ^= 0x01
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	flip(filepath.Join(out, m.Files[0].Path), func(n int) int { return n / 2 })
	flip(filepath.Join(out, footage.ManifestFile), func(n int) int { return n - 10 })
	if _, err := footage.Verify(out, pins); err != nil {
		t.Fatal("restored:", err)
	}
	if _, err := footage.Verify(out, nil); err == nil {
		t.Error("verified without the line's pins")
	}
}

// TestRecorderIsPressOnly: a device that receives media outside the
// public segment (a principal) cannot be the recorder: it would record
// the private talks.
func TestRecorderIsPressOnly(t *testing.T) {
	tier.Integration(t)
	srv := servertest.Start(t, server.Config{}, servertest.Logger())
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	_, err := record.Run(ctx, record.Config{Out: t.TempDir(),
		Client: client.Config{Server: srv.URL(), Line: demo.Line, Call: "x", Device: srv.Device(t, demo.East, "East Principal", role.Principal)}})
	if !errors.Is(err, record.ErrNotPress) {
		t.Fatalf("a principal's device as the recorder: %v", err)
	}
}
