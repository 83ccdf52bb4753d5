package client

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"hotline/internal/protocol"
	"hotline/internal/testmedia"
)

// streamID is the msid stream of every local track. The server renames
// streams after the participant, so any stable token does.
const streamID = "hotline"

// localTrack is one published track: a looped test file written at real-time
// pace into a Pion sample track.
type localTrack struct {
	info  protocol.TrackInfo
	track *webrtc.TrackLocalStaticSample
	loop  *testmedia.Loop
	stop  context.CancelFunc // ends the writer

	frames, bytes, keyReqs atomic.Uint64
	unpublished            atomic.Bool

	mu     sync.Mutex
	mid    string
	sender *webrtc.RTPSender
}

func (lt *localTrack) setSender(mid string, s *webrtc.RTPSender) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lt.mid, lt.sender = mid, s
}

func (lt *localTrack) attachedSender() (string, *webrtc.RTPSender) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return lt.mid, lt.sender
}

func (lt *localTrack) snapshot() SentStats {
	mid, _ := lt.attachedSender()
	return SentStats{
		Track:            lt.info.ID,
		Kind:             lt.info.Kind,
		Source:           lt.info.Source,
		Mid:              mid,
		Frames:           lt.frames.Load(),
		Bytes:            lt.bytes.Load(),
		KeyframeRequests: lt.keyReqs.Load(),
		Unpublished:      lt.unpublished.Load(),
	}
}

// addLocal creates a local track and starts its writer. The writer idles
// until the track is attached and the PeerConnection is connected, so that
// the first frame sent is the file's first frame, a key frame.
func (c *Client) addLocal(info protocol.TrackInfo) error {
	var (
		capability webrtc.RTPCodecCapability
		loop       *testmedia.Loop
		err        error
	)
	switch info.Kind {
	case protocol.KindAudio:
		// RFC 7587 §7: Opus is always signalled as 48000/2 in SDP.
		capability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
		loop, err = testmedia.NewOpusLoop()
	case protocol.KindVideo:
		capability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
		loop, err = testmedia.NewVP8Loop()
	default:
		return fmt.Errorf("%w: track kind %q", ErrConfig, info.Kind)
	}
	if err != nil {
		return fmt.Errorf("client: test media: %w", err)
	}
	track, err := webrtc.NewTrackLocalStaticSample(capability, info.ID, streamID)
	if err != nil {
		return fmt.Errorf("client: local track %s: %w", info.ID, err)
	}
	ctx, stop := context.WithCancel(c.ctx)
	lt := &localTrack{info: info, track: track, loop: loop, stop: stop}

	c.mu.Lock()
	if c.findLocal(info.ID) != nil {
		c.mu.Unlock()
		stop()
		return fmt.Errorf("%w: track id %q already published", ErrConfig, info.ID)
	}
	if n := c.activeLocalCount(); n >= protocol.MaxTracks {
		c.mu.Unlock()
		stop()
		return fmt.Errorf("%w: already %d tracks, at most %d", ErrConfig, n, protocol.MaxTracks)
	}
	c.local = append(c.local, lt)
	c.mu.Unlock()

	if !c.goStart(func() { c.writeMedia(ctx, lt) }) {
		stop()
		return ErrClosed
	}
	return nil
}

// findLocal returns the published (not unpublished) local track with id.
// c.mu must be held.
func (c *Client) findLocal(id string) *localTrack {
	for _, lt := range c.local {
		if lt.info.ID == id && !lt.unpublished.Load() {
			return lt
		}
	}
	return nil
}

// activeLocalCount counts the published local tracks. c.mu must be held.
func (c *Client) activeLocalCount() int {
	n := 0
	for _, lt := range c.local {
		if !lt.unpublished.Load() {
			n++
		}
	}
	return n
}

// localInfos lists the published tracks, as "join" announces them.
func (c *Client) localInfos() []protocol.TrackInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	infos := []protocol.TrackInfo{}
	for _, lt := range c.local {
		if !lt.unpublished.Load() {
			infos = append(infos, lt.info)
		}
	}
	return infos
}

// writeMedia writes lt's frames at real-time pace until ctx ends. A ticker
// (not a sleep per frame) keeps the pace from drifting with write times.
func (c *Client) writeMedia(ctx context.Context, lt *localTrack) {
	ticker := time.NewTicker(lt.loop.FrameDuration())
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if _, s := lt.attachedSender(); s == nil || !c.connected.Load() {
			continue
		}
		data, d := lt.loop.Next()
		if err := lt.track.WriteSample(media.Sample{Data: data, Duration: d}); err != nil {
			// Transient (a binding going away); ctx says when to stop.
			c.log.Debug("write sample", "track", lt.info.ID, "err", err)
			continue
		}
		lt.frames.Add(1)
		lt.bytes.Add(uint64(len(data)))
	}
}

// readRTCP drains the RTCP the server sends about one of our tracks; Pion's
// interceptors (NACK responder, reports) only see it if someone reads. A PLI
// or FIR makes the looped file skip to its next key frame.
func (c *Client) readRTCP(lt *localTrack, s *webrtc.RTPSender) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return // the sender stopped: unpublished or closed
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				lt.keyReqs.Add(1)
				lt.loop.RequestKeyframe()
			}
		}
	}
}

// PublishCamera publishes one more video track mid-call (a second camera):
// it sends "publish", and the track is sent once the server's next offer
// assigns it a mid. A refusal arrives later as an error message (Errors).
func (c *Client) PublishCamera(ctx context.Context, id, source string) error {
	info := cameraInfo(id, source)
	if err := protocol.ValidID("track id", id); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if source != "" {
		if err := protocol.ValidID("track source", source); err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	if err := c.addLocal(info); err != nil {
		return err
	}
	msg := protocol.Publish{Type: protocol.TypePublish, Tracks: []protocol.TrackInfo{info}}
	if err := c.out(ctx, msg); err != nil {
		c.dropLocal(id)
		return fmt.Errorf("client: publish %s: %w", id, err)
	}
	return nil
}

// Unpublish stops sending track id and tells the server, which ends it at
// every other participant.
func (c *Client) Unpublish(ctx context.Context, id string) error {
	c.mu.Lock()
	known := c.findLocal(id) != nil
	c.mu.Unlock()
	if !known {
		return fmt.Errorf("%w: no published track %q", ErrConfig, id)
	}
	c.dropLocal(id)
	if err := c.out(ctx, protocol.Unpublish{Type: protocol.TypeUnpublish, Track: id}); err != nil {
		return fmt.Errorf("client: unpublish %s: %w", id, err)
	}
	return nil
}

// dropLocal stops a local track's writer and its sender. PROTOCOL.md asks a
// client to stop sending on the transceiver; RemoveTrack does that (it is
// Pion's replaceTrack(null) plus stopping the sender, which ends readRTCP).
func (c *Client) dropLocal(id string) {
	c.mu.Lock()
	lt := c.findLocal(id)
	if lt == nil {
		c.mu.Unlock()
		return
	}
	lt.unpublished.Store(true)
	mid, sender := lt.attachedSender()
	if mid != "" {
		delete(c.attached, mid)
	}
	c.mu.Unlock()
	lt.stop()
	if sender != nil {
		if err := c.pc.RemoveTrack(sender); err != nil {
			c.log.Warn("remove track", "track", id, "err", err)
		}
	}
}
