// Package record is the press recorder (docs/PROTOCOL.md, "Segments";
// README, "Press tour"): an endpoint enrolled with the press role that
// waits in its call's lobby for the public segment, decrypts what it
// receives during it like any member, writes one WebM file (VP8 and Opus)
// per participant and camera as the frames arrive, and closes them at the
// marker that ends the segment, after which it holds no key to anything.
// It also hands every frame to a live feed (internal/whep).
package record

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"hotline/internal/client"
	"hotline/internal/protocol"
	"hotline/internal/role"
)

// Config is what a recording needs.
type Config struct {
	// Client joins the call: Server, TLS, Line, Call and Device (enrolled
	// with the press role). Publish and Frames are the recorder's.
	Client client.Config
	Out    string        // folder of the files; made if missing
	For    time.Duration // stop after this long even without a cut; 0: no bound
	Log    *slog.Logger
	// Live, if set, is handed every frame written, in the order written
	// (the live feed). It must return quickly.
	Live func(client.Frame)
	// Joined, if set, is told the recorder's endpoint once it has joined
	// (tests feed its receiver frames after the cut).
	Joined func(*client.Client)
}

// File is one recording.
type File struct {
	Path        string // within Out
	Participant string // participant id
	Name        string // the participant's name, from its roster entry
	Source      string // the camera's source label; "audio" for a microphone alone
	Frames      int
	First, Last time.Time // arrival of the first and last frame written
}

// Result is what a recording made.
type Result struct {
	Files      []File
	Open, Cut  *protocol.Marker // the markers that opened and closed the segment (Cut nil: stopped before it)
	Start, End time.Time        // when the recorder saw them
	// Roster: everyone in the call at some moment of the segment, as the
	// roster entries last showed them.
	Roster []protocol.RosterEntry
}

// Errors of Run.
var (
	// ErrNoSegment: the recording stopped before any public segment began.
	ErrNoSegment = errors.New("record: no public segment")
	// ErrNotPress: the device is not enrolled with the press role alone.
	ErrNotPress = errors.New("record: the recorder must be a press device (a role that receives the public segment only)")
)

// poll is how often the recorder looks at the segment it believes.
const poll = 10 * time.Millisecond

// Run records the call's next public segment and returns when it is cut
// (or after cfg.For, or when ctx ends).
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	// The recorder is the press: a device that may receive media outside
	// the public segment would record the private talks too.
	if d := cfg.Client.Device; d == nil {
		return Result{}, ErrNotPress
	} else if who, err := d.Identity(time.Now()); err != nil {
		return Result{}, fmt.Errorf("record: %w", err)
	} else if !role.AllowedAny(who.Roles, role.ReceivePublicSegment) || role.AllowedAny(who.Roles, role.ReceiveMedia) {
		return Result{}, fmt.Errorf("%w: the device has roles %v", ErrNotPress, who.Roles)
	}
	if err := os.MkdirAll(cfg.Out, 0o700); err != nil {
		return Result{}, err
	}
	rec := &recorder{out: cfg.Out, live: cfg.Live, files: map[fileKey]*webmFile{}, meta: map[fileKey]File{},
		clocks: map[string]*mediaClock{}, video: map[string]bool{}, early: map[string][]early{},
		earlyOf: map[string]protocol.ReceiveMid{}, noKey: map[fileKey]bool{}}
	cc := cfg.Client
	cc.Publish, cc.Frames = false, rec.frame
	if cc.Logger == nil {
		cc.Logger = cfg.Log
	}
	if cfg.For > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.For)
		defer cancel()
	}
	c, err := client.Join(ctx, cc)
	if err != nil {
		return Result{}, err
	}
	defer c.Close()
	if cfg.Joined != nil {
		cfg.Joined(c)
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return rec.finish(nil, time.Now())
		case <-c.Done():
			res, _ := rec.finish(nil, time.Now())
			return res, fmt.Errorf("record: the call went away: %w", c.Err())
		case now := <-t.C:
			st, _ := c.Keys().Segment()
			rec.setRoster(c.Roster())
			switch {
			case st.Segment == protocol.SegmentPublic && !rec.isOpen():
				cfg.Log.Info("public segment: recording", "by", st.By.Name, "seq", st.Seq)
				rec.open(now, st.Marker)
			case st.Segment == protocol.SegmentPrivate && rec.isOpen():
				cfg.Log.Info("private: the cut", "by", st.By.Name, "seq", st.Seq)
				return rec.finish(st.Marker, now)
			}
			if rec.waitingForKey() {
				// A camera whose file has not begun: its next key frame
				// begins it, so ask for one rather than wait for the
				// publisher's own (a browser sends few).
				c.RequestKeyframes()
			}
		}
	}
}

// fileKey names a file: a participant's camera, or (track "") its
// microphone alone.
type fileKey struct{ participant, track string }

type recorder struct {
	out  string
	live func(client.Frame)

	mu       sync.Mutex
	started  bool
	closed   bool
	start    time.Time
	openM    *protocol.Marker
	files    map[fileKey]*webmFile
	meta     map[fileKey]File
	clocks   map[string]*mediaClock // by participant/track
	video    map[string]bool        // participants that publish a camera (roster)
	names    map[string]bool        // file names taken
	failures int
	seen     []protocol.RosterEntry         // who was in the call during the segment
	early    map[string][]early             // sound waiting for its file, by participant
	earlyOf  map[string]protocol.ReceiveMid // the track of that sound, to name its file
	noKey    map[fileKey]bool               // cameras seen in the segment without a file yet
}

func (r *recorder) isOpen() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started && !r.closed
}

// waitingForKey: the segment is open and some camera seen during it has
// no file yet.
func (r *recorder) waitingForKey() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started && !r.closed && len(r.noKey) > 0
}

func (r *recorder) open(now time.Time, m *protocol.Marker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started, r.start, r.openM, r.names = true, now, m, map[string]bool{}
}

// setRoster notes who publishes a camera: a participant without one is
// recorded from its microphone alone.
func (r *recorder) setRoster(entries []protocol.RosterEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range entries {
		v := false
		for _, t := range e.Tracks {
			v = v || t.Kind == protocol.KindVideo
		}
		r.video[e.ID] = v
		if r.started && !r.closed {
			i := slices.IndexFunc(r.seen, func(x protocol.RosterEntry) bool { return x.ID == e.ID })
			if i < 0 {
				r.seen = append(r.seen, e)
			} else {
				r.seen[i] = e
			}
		}
	}
}

// frame takes one decrypted frame (client.Config.Frames).
func (r *recorder) frame(f client.Frame) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started || r.closed {
		return
	}
	tr := f.Track
	clk := r.clocks[tr.Participant+"/"+tr.Track]
	if clk == nil {
		clk = &mediaClock{}
		r.clocks[tr.Participant+"/"+tr.Track] = clk
	}
	at := clk.at(f)
	var wrote bool
	if tr.Kind == protocol.KindVideo {
		k := fileKey{tr.Participant, tr.Track}
		key, w, h := vp8Key(f.Data)
		if r.files[k] == nil && key {
			r.create(k, tr, tr.Source, w, h)
		}
		if r.files[k] == nil {
			r.noKey[k] = true
		} else {
			delete(r.noKey, k)
		}
		if file := r.files[k]; file != nil {
			wrote = r.write(k, file, trackVideo, key, at, f.Data)
		}
	} else {
		if !r.hasFile(tr.Participant) {
			// The camera's file starts at its first key frame; the sound
			// before it waits for that file (bounded), so that the file
			// begins when the participant's media does. So does sound
			// from a participant the roster has not shown yet (the
			// recorder reads it every poll): whether it has a camera, and
			// so which file the sound goes to, is not known yet. And so
			// does sound from one the roster shows without a camera, for
			// settle: the server lists a member's tracks as each arrives,
			// so a roster can show the microphone a moment before the
			// camera, and a file of the microphone alone begun then would
			// split the participant in two files.
			if len(r.early[tr.Participant]) < maxEarly {
				r.early[tr.Participant] = append(r.early[tr.Participant], early{at, append([]byte(nil), f.Data...)})
				r.earlyOf[tr.Participant] = tr
			}
			camera, known := r.video[tr.Participant]
			waited := at.Sub(r.early[tr.Participant][0].at)
			if !known || camera || waited < settle && len(r.early[tr.Participant]) < maxEarly {
				return
			}
			r.create(fileKey{tr.Participant, ""}, tr, "audio", 0, 0)
			return
		}
		for k, file := range r.files {
			if k.participant == tr.Participant {
				wrote = r.write(k, file, trackAudio, true, at, f.Data) || wrote
			}
		}
	}
	if wrote && r.live != nil {
		r.live(f)
	}
}

func (r *recorder) create(k fileKey, tr protocol.ReceiveMid, source string, w, h int) {
	name := safeName(tr.Name) + "-" + safeName(source)
	if r.names[name] {
		name += "-" + safeName(tr.Participant)
	}
	r.names[name] = true
	path := filepath.Join(r.out, name+".webm")
	file, err := newWebM(path, w, h, r.start)
	if err != nil {
		r.failures++
		return
	}
	r.files[k] = file
	r.meta[k] = File{Path: name + ".webm", Participant: tr.Participant, Name: tr.Name, Source: source}
	// The file spans the segment from its opening: 20 ms of Opus silence
	// at that moment stands for the media before the keys came.
	r.write(k, file, trackAudio, true, r.start, opusSilence)
	for _, e := range r.early[tr.Participant] {
		r.write(k, file, trackAudio, true, e.at, e.data)
	}
	delete(r.early, tr.Participant)
	delete(r.earlyOf, tr.Participant)
}

// early is a frame of sound that came before its camera's first key frame.
type early struct {
	at   time.Time
	data []byte
}

// opusSilence is one 20 ms Opus frame of silence (RFC 6716: TOC 0xf8, a
// CELT fullband 20 ms mono frame, whose payload 0xff 0xfe decodes to
// silence), as WebRTC's own DTX sends.
var opusSilence = []byte{0xf8, 0xff, 0xfe}

// settle is how long the sound of a participant whom the roster shows
// without a camera waits before its file of the microphone alone begins
// (see frame). Its media time, not the recorder's clock: the file is the
// same whenever the frames are read.
const settle = 2 * time.Second

// maxEarly bounds the sound kept for a camera's first key frame: 10 s of
// Opus at 20 ms a frame.
const maxEarly = 500

func (r *recorder) hasFile(participant string) bool {
	for k := range r.files {
		if k.participant == participant {
			return true
		}
	}
	return false
}

func (r *recorder) write(k fileKey, file *webmFile, track int, key bool, at time.Time, data []byte) bool {
	if err := file.write(track, key, at, data); err != nil {
		r.failures++
		return false
	}
	return true
}

// finish closes every file at the cut.
func (r *recorder) finish(cut *protocol.Marker, now time.Time) (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := Result{Open: r.openM, Cut: cut, Start: r.start, End: now, Roster: r.seen}
	if !r.started {
		return res, ErrNoSegment
	}
	r.closed = true
	// Sound still waiting at the cut (a participant without a camera who
	// spoke for less than settle, or a camera that never sent a key
	// frame) is the participant's words all the same: it gets a file of
	// the microphone alone.
	for _, p := range slices.Sorted(maps.Keys(r.early)) {
		if !r.hasFile(p) {
			r.create(fileKey{p, ""}, r.earlyOf[p], "audio", 0, 0)
		}
	}
	var errs []error
	for k, file := range r.files {
		if err := file.close(); err != nil {
			errs = append(errs, err)
		}
		m := r.meta[k]
		m.Frames, m.First, m.Last = file.frames, file.first, file.latest
		res.Files = append(res.Files, m)
	}
	if r.failures > 0 {
		errs = append(errs, fmt.Errorf("record: %d frames or files could not be written", r.failures))
	}
	sortFiles(res.Files)
	return res, errors.Join(errs...)
}

// mediaClock places a track's frames in time: the first frame at its
// arrival, each later one by its RTP timestamp, so that the jitter of
// arrival does not reach the file.
type mediaClock struct {
	set     bool
	first   time.Time
	last    uint32
	elapsed int64 // RTP ticks since the first frame, unwrapped
}

func (c *mediaClock) at(f client.Frame) time.Time {
	if !c.set || f.ClockRate == 0 {
		c.set, c.first, c.last, c.elapsed = true, f.Arrival, f.Timestamp, 0
		return f.Arrival
	}
	c.elapsed += int64(int32(f.Timestamp - c.last))
	c.last = f.Timestamp
	return c.first.Add(time.Duration(c.elapsed) * time.Second / time.Duration(f.ClockRate))
}

// safeName keeps letters, digits, '-' and '_' of a name for a file name.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ' || r == '.':
			b.WriteByte('_')
		}
		if b.Len() >= 48 {
			break
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}

func sortFiles(fs []File) {
	slices.SortFunc(fs, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
}
