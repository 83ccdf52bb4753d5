// Package whep serves the press recorder's live feed over WHEP, the
// WebRTC-HTTP egress protocol (RFC 9725): a player POSTs an SDP offer to
// /whep and gets 201 Created with the answer and a Location; DELETE on that
// Location ends its session. The recorder holds the call's keys, decrypts,
// and hands the frames here; they leave again over the player's own
// DTLS-SRTP, so the line server never sees them in the clear. At the cut
// the feed ends: each player's video plays the slate, "The public part of
// this meeting has ended" (slate.go), then every session is closed; later
// offers are refused (410 Gone) and the player page says so too.
package whep

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"hotline/internal/codec"
)

// Bounds on what a player may send or hold.
const (
	MaxOfferBytes = 64 << 10
	MaxSessions   = 64
)

//go:embed static
var static embed.FS

// Feed is the live feed of one recording.
type Feed struct {
	api *webrtc.API
	log *slog.Logger

	mu       sync.Mutex
	sources  []*source
	sessions map[string]*webrtc.PeerConnection
	ended    bool
}

type source struct {
	key, name, kind string
	track           *webrtc.TrackLocalStaticSample
	last            time.Time
}

// Source describes one track of the feed (GET /whep/sources).
type Source struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// New makes a feed. loopback keeps its ICE candidates on the loopback
// interface (a recorder that serves players on the same machine, and the
// tests).
func New(loopback bool, log *slog.Logger) (*Feed, error) {
	if log == nil {
		log = slog.Default()
	}
	me := &webrtc.MediaEngine{}
	if err := codec.Register(me); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if loopback {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
	return &Feed{api: api, log: log, sessions: map[string]*webrtc.PeerConnection{}}, nil
}

// Write adds one decrypted frame of the track key (a participant's camera
// or microphone, named name for the player) to the feed.
func (f *Feed) Write(key, name, kind string, data []byte, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended {
		return
	}
	var s *source
	for _, x := range f.sources {
		if x.key == key {
			s = x
		}
	}
	if s == nil {
		mimeType := webrtc.MimeTypeOpus
		if kind == "video" {
			mimeType = webrtc.MimeTypeVP8
		}
		clockRate, channels := uint32(48000), uint16(2)
		if kind == "video" {
			clockRate, channels = 90000, 0
		}
		t, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: mimeType, ClockRate: clockRate, Channels: channels}, key, "hotline-feed")
		if err != nil {
			return
		}
		s = &source{key: key, name: name, kind: kind, track: t}
		f.sources = append(f.sources, s)
	}
	d := 20 * time.Millisecond
	if kind == "video" {
		d = 33 * time.Millisecond
	}
	if !s.last.IsZero() {
		d = min(max(at.Sub(s.last), time.Millisecond), 200*time.Millisecond)
	}
	s.last = at
	_ = s.track.WriteSample(media.Sample{Data: data, Duration: d})
}

// End ends the feed at the cut: no more frames of the call, offers from
// now on are refused, every player's video gets the slate (about 3 s:
// End returns after it), and every session is closed. Later calls do
// nothing.
func (f *Feed) End() {
	f.mu.Lock()
	if f.ended {
		f.mu.Unlock()
		return
	}
	f.ended = true
	var videos []*webrtc.TrackLocalStaticSample
	for _, s := range f.sources {
		if s.kind == "video" {
			videos = append(videos, s.track)
		}
	}
	players := len(f.sessions) > 0
	f.mu.Unlock()
	if players {
		f.sendSlate(videos)
	}
	f.mu.Lock()
	pcs := f.sessions
	f.sessions = map[string]*webrtc.PeerConnection{}
	f.mu.Unlock()
	for _, pc := range pcs {
		_ = pc.Close()
	}
}

// Sessions counts the players connected.
func (f *Feed) Sessions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sessions)
}

// Handler serves the player page (/), its script, the sources
// (/whep/sources) and WHEP (/whep, /whep/{id}).
func (f *Feed) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /whep", f.post)
	mux.HandleFunc("DELETE /whep/{id}", f.delete)
	mux.HandleFunc("GET /whep/sources", f.listSources)
	mux.HandleFunc("GET /{$}", f.file("static/player.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /player.js", f.file("static/player.js", "text/javascript; charset=utf-8"))
	return headers(mux)
}

// headers: the same strict policy as the line server's pages.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

func (f *Feed) file(name, ctype string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		data, err := static.ReadFile(name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", ctype)
		_, _ = w.Write(data)
	}
}

func (f *Feed) listSources(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	out := struct {
		Ended   bool     `json:"ended"`
		Sources []Source `json:"sources"`
	}{Ended: f.ended, Sources: []Source{}}
	for _, s := range f.sources {
		out.Sources = append(out.Sources, Source{Name: s.name, Kind: s.kind})
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// ErrBadOffer: the body is not an SDP offer we can answer.
var ErrBadOffer = errors.New("whep: bad offer")

// post answers a WHEP offer (RFC 9725 §4.2): 201 Created, the answer as
// application/sdp, Location naming the session.
func (f *Feed) post(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/sdp" {
		http.Error(w, "Content-Type must be application/sdp", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxOfferBytes))
	if err != nil {
		http.Error(w, fmt.Sprintf("offer over %d bytes", MaxOfferBytes), http.StatusRequestEntityTooLarge)
		return
	}
	f.mu.Lock()
	ended, full := f.ended, len(f.sessions) >= MaxSessions
	tracks := make([]*source, len(f.sources))
	copy(tracks, f.sources)
	f.mu.Unlock()
	switch {
	case ended:
		http.Error(w, "the public segment has ended: the call is private", http.StatusGone)
		return
	case full:
		http.Error(w, "too many players", http.StatusServiceUnavailable)
		return
	}
	answer, pc, err := f.answer(string(body), tracks)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id := newID()
	f.mu.Lock()
	if f.ended {
		f.mu.Unlock()
		_ = pc.Close()
		http.Error(w, "the public segment has ended: the call is private", http.StatusGone)
		return
	}
	f.sessions[id] = pc
	f.mu.Unlock()
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
			f.drop(id, pc)
		}
	})
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/whep/"+id)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// answer makes the PeerConnection of one player: the offer must parse as
// SDP with at least one audio or video m-line; the feed's tracks fill the
// offered m-lines of their kind, in order.
func (f *Feed) answer(offer string, tracks []*source) (string, *webrtc.PeerConnection, error) {
	want, err := OfferKinds(offer)
	if err != nil {
		return "", nil, err
	}
	pc, err := f.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", nil, err
	}
	fail := func(err error) (string, *webrtc.PeerConnection, error) {
		_ = pc.Close()
		return "", nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(err)
	}
	for _, s := range tracks {
		if want[s.kind] == 0 {
			continue
		}
		want[s.kind]--
		sender, err := pc.AddTrack(s.track)
		if err != nil {
			return fail(err)
		}
		go drainRTCP(sender)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return fail(err)
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		return fail(errors.New("ICE gathering did not complete"))
	}
	return pc.LocalDescription().SDP, pc, nil
}

// OfferKinds checks that offer parses as SDP with at least one audio or
// video m-line and counts them by kind.
func OfferKinds(offer string) (map[string]int, error) {
	if len(offer) > MaxOfferBytes {
		return nil, fmt.Errorf("%w: over %d bytes", ErrBadOffer, MaxOfferBytes)
	}
	var parsed sdp.SessionDescription
	if err := parsed.UnmarshalString(offer); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	want := map[string]int{}
	for _, m := range parsed.MediaDescriptions {
		want[m.MediaName.Media]++
	}
	if want["audio"]+want["video"] == 0 {
		return nil, fmt.Errorf("%w: no audio or video m-line", ErrBadOffer)
	}
	return want, nil
}

func drainRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}

// delete ends one session (RFC 9725 §4.2: DELETE on the session's URL).
func (f *Feed) delete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f.mu.Lock()
	pc := f.sessions[id]
	delete(f.sessions, id)
	f.mu.Unlock()
	if pc == nil {
		http.NotFound(w, r)
		return
	}
	_ = pc.Close()
	w.WriteHeader(http.StatusOK)
}

func (f *Feed) drop(id string, pc *webrtc.PeerConnection) {
	f.mu.Lock()
	if f.sessions[id] == pc {
		delete(f.sessions, id)
	}
	f.mu.Unlock()
	_ = pc.Close()
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Close ends the feed and every session.
func (f *Feed) Close() { f.End() }
