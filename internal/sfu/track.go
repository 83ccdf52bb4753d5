// Package sfu is hotline's media engine: it reads each published RTP stream
// once and writes it to every subscriber, answers NACKs from a packet cache
// and relays keyframe requests to the publisher. It never looks inside an RTP
// payload (payloads are end-to-end encrypted), and it knows nothing of calls,
// roles or people: those live above it, in internal/call and internal/peer.
package sfu

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"hotline/internal/packetcache"
)

// Source is where a published track's RTP comes from; *webrtc.TrackRemote
// satisfies it.
type Source interface {
	Read(b []byte) (int, interceptor.Attributes, error)
}

// Defaults chosen for a LAN-to-WAN call: 512 packets is about 2 s of 2 Mbit/s
// video, longer than any useful retransmission; 500 ms between keyframe
// requests keeps a crowd of new subscribers from making the publisher send
// nothing but key frames.
const (
	DefaultCacheSize        = 512
	DefaultKeyframeInterval = 500 * time.Millisecond
	readBufferSize          = 1500
)

// TrackConfig describes a published track.
type TrackConfig struct {
	ID       string // track id seen by subscribers (unique in the call)
	StreamID string // stream id seen by subscribers (the publisher's id)
	Codec    webrtc.RTPCodecParameters
	Source   Source
	// RequestKeyframe asks the publisher for a key frame (a PLI on the
	// publisher's PeerConnection). Called at most once per KeyframeInterval.
	RequestKeyframe  func()
	KeyframeInterval time.Duration // default DefaultKeyframeInterval
	CacheSize        int           // default DefaultCacheSize; video only
	Observer         Observer      // optional: told of every packet
}

// Observer is told of the packets a track reads and forwards (the server's
// metrics implement it). Its methods are called on the packet path: they
// must be cheap and must not block.
type Observer interface {
	// Received: one packet of size bytes read from the publisher.
	Received(bytes int)
	// Forwarded: one packet of size bytes written to a subscriber, residence
	// after it was read (the SFU's own added latency: fan-out, SRTP
	// protection and the UDP write).
	Forwarded(bytes int, residence time.Duration)
}

// Track is one published stream and its fan-out.
type Track struct {
	cfg   TrackConfig
	kind  webrtc.RTPCodecType
	cache *packetcache.Cache // nil for audio

	// downs is replaced, never mutated, so the read loop iterates it without a lock.
	downs  atomic.Pointer[[]*DownTrack]
	downMu sync.Mutex

	kfMu      sync.Mutex
	kfLast    time.Time
	kfTimer   *time.Timer
	kfPending bool

	packets atomic.Uint64
	bytes   atomic.Uint64

	started time.Time

	closeOnce sync.Once
	closed    chan struct{}
}

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("sfu: track closed")

// NewTrack prepares a track; call Run to start forwarding.
func NewTrack(cfg TrackConfig) *Track {
	if cfg.KeyframeInterval <= 0 {
		cfg.KeyframeInterval = DefaultKeyframeInterval
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	t := &Track{cfg: cfg, closed: make(chan struct{}), kind: kindOf(cfg.Codec.MimeType), started: time.Now()}
	if t.kind == webrtc.RTPCodecTypeVideo {
		t.cache = packetcache.New(cfg.CacheSize)
	}
	empty := []*DownTrack{}
	t.downs.Store(&empty)
	return t
}

// ID is the track id subscribers see.
func (t *Track) ID() string { return t.cfg.ID }

// Started is when the track was made (its first packet had arrived).
func (t *Track) Started() time.Time { return t.started }

// Kind is audio or video.
func (t *Track) Kind() webrtc.RTPCodecType { return t.kind }

// Codec is the publisher's codec.
func (t *Track) Codec() webrtc.RTPCodecParameters { return t.cfg.Codec }

// Forwarded returns how many packets and bytes the track has read.
func (t *Track) Forwarded() (packets, bytes uint64) { return t.packets.Load(), t.bytes.Load() }

// Run reads the source until it fails or the track is closed, writing every
// packet to every bound subscriber. It runs in the caller's goroutine: one
// goroutine per published track, none per packet.
func (t *Track) Run() error {
	buf := make([]byte, readBufferSize)
	var hdr rtp.Header
	obs := t.cfg.Observer
	for {
		n, _, err := t.cfg.Source.Read(buf)
		select {
		case <-t.closed:
			return ErrClosed
		default:
		}
		if err != nil {
			return err
		}
		var arrived time.Time // for the residence; read only when someone observes it
		if obs != nil {
			arrived = time.Now()
		}
		hoff, err := hdr.Unmarshal(buf[:n])
		if err != nil {
			continue // not RTP; the SRTP layer authenticated it, but it is still not ours to forward
		}
		t.packets.Add(1)
		t.bytes.Add(uint64(n))
		if obs != nil {
			obs.Received(n)
		}
		if t.cache != nil {
			t.cache.Put(hdr.SequenceNumber, buf[:n])
		}
		payload := buf[hoff:n]
		for _, d := range *t.downs.Load() {
			if d.writeRTP(&hdr, payload) && obs != nil {
				obs.Forwarded(n, time.Since(arrived))
			}
		}
	}
}

// Close stops forwarding and detaches every subscriber. The source itself is
// the caller's to stop (stopping the receiver ends Run).
func (t *Track) Close() {
	t.closeOnce.Do(func() {
		close(t.closed)
		t.downMu.Lock()
		empty := []*DownTrack{}
		t.downs.Store(&empty)
		t.downMu.Unlock()
		t.kfMu.Lock()
		if t.kfTimer != nil {
			t.kfTimer.Stop()
		}
		t.kfMu.Unlock()
	})
}

// Done is closed when the track is closed.
func (t *Track) Done() <-chan struct{} { return t.closed }

// RequestKeyframe asks the publisher for a key frame, at most once per
// KeyframeInterval. A request inside the interval is not dropped but merged
// into one sent when the interval ends, so that a subscriber that joins just
// after another still gets a key frame produced after it was bound.
func (t *Track) RequestKeyframe() {
	if t.kind != webrtc.RTPCodecTypeVideo || t.cfg.RequestKeyframe == nil {
		return
	}
	t.kfMu.Lock()
	defer t.kfMu.Unlock()
	select {
	case <-t.closed:
		return
	default:
	}
	now := time.Now()
	wait := t.cfg.KeyframeInterval - now.Sub(t.kfLast)
	if wait <= 0 {
		t.kfLast = now
		go t.cfg.RequestKeyframe() // never block a caller's RTCP or read loop on the publisher's connection
		return
	}
	if t.kfPending {
		return
	}
	t.kfPending = true
	t.kfTimer = time.AfterFunc(wait, func() {
		t.kfMu.Lock()
		t.kfPending = false
		t.kfLast = time.Now()
		t.kfMu.Unlock()
		select {
		case <-t.closed:
		default:
			t.cfg.RequestKeyframe()
		}
	})
}

// retransmit writes cached packet seq to d, as an answer to a NACK. buf and
// hdr are the caller's scratch space, reused so that answering allocates nothing.
func (t *Track) retransmit(d *DownTrack, seq uint16, buf []byte, hdr *rtp.Header) bool {
	if t.cache == nil {
		return false
	}
	n := t.cache.Get(seq, buf)
	if n == 0 {
		return false
	}
	hoff, err := hdr.Unmarshal(buf[:n])
	if err != nil {
		return false
	}
	d.writeRTP(hdr, buf[hoff:n])
	return true
}

func (t *Track) addDown(d *DownTrack) {
	t.downMu.Lock()
	defer t.downMu.Unlock()
	select {
	case <-t.closed:
		return
	default:
	}
	old := *t.downs.Load()
	next := make([]*DownTrack, 0, len(old)+1)
	next = append(next, old...)
	next = append(next, d)
	t.downs.Store(&next)
}

func (t *Track) removeDown(d *DownTrack) {
	t.downMu.Lock()
	defer t.downMu.Unlock()
	old := *t.downs.Load()
	next := make([]*DownTrack, 0, len(old))
	for _, x := range old {
		if x != d {
			next = append(next, x)
		}
	}
	t.downs.Store(&next)
}

// Subscribers is the number of bound subscribers.
func (t *Track) Subscribers() int { return len(*t.downs.Load()) }

func kindOf(mime string) webrtc.RTPCodecType {
	if len(mime) >= 6 && (mime[:6] == "audio/" || mime[:6] == "AUDIO/" || mime[:6] == "Audio/") {
		return webrtc.RTPCodecTypeAudio
	}
	return webrtc.RTPCodecTypeVideo
}
