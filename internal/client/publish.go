package client

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"hotline/internal/protocol"
	"hotline/internal/sframe"
	"hotline/internal/testmedia"
)

// streamID is the msid stream of every local track. The server renames
// streams after the participant, so any stable token does.
const streamID = "hotline"

// packetMTU bounds one RTP packet we build, as Pion's own sample track
// does: room is left for SRTP's tag and header extensions within the
// 1280-byte IPv6 minimum MTU.
const packetMTU = 1200

// localTrack is one published track: a looped test file packetized at
// real-time pace into a Pion RTP track. We packetize ourselves, rather than
// let Pion's sample track do it, to stamp each frame with the wall clock
// (see epoch in clock.go).
type localTrack struct {
	info      protocol.TrackInfo
	track     *webrtc.TrackLocalStaticRTP
	clockRate uint32
	packets   rtp.Packetizer // owned by the writer goroutine
	loop      *testmedia.Loop
	stop      context.CancelFunc // ends the writer

	frames, bytes, keyReqs atomic.Uint64
	unpublished            atomic.Bool
	encBuf                 []byte // owned by the writer goroutine

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
		Language:         lt.info.Language,
		Mid:              mid,
		Frames:           lt.frames.Load(),
		Bytes:            lt.bytes.Load(),
		KeyframeRequests: lt.keyReqs.Load(),
		Unpublished:      lt.unpublished.Load(),
	}
}

// newLocalTrack makes the track, its packetizer and its looped media; the
// caller sets stop and starts the writer.
func newLocalTrack(info protocol.TrackInfo) (*localTrack, error) {
	var (
		capability webrtc.RTPCodecCapability
		payloader  rtp.Payloader
		loop       *testmedia.Loop
		err        error
	)
	switch info.Kind {
	case protocol.KindAudio:
		// RFC 7587 §7: Opus is always signalled as 48000/2 in SDP.
		capability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
		payloader = &codecs.OpusPayloader{}
		loop, err = testmedia.NewOpusLoop()
	case protocol.KindVideo:
		capability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
		// RFC 7741 §4.2: the picture id lets a receiver spot lost frames;
		// Pion's sample track sets it too.
		payloader = &codecs.VP8Payloader{EnablePictureID: true}
		loop, err = testmedia.NewVP8Loop()
	default:
		return nil, fmt.Errorf("%w: track kind %q", ErrConfig, info.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("client: test media: %w", err)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(capability, info.ID, streamID)
	if err != nil {
		return nil, fmt.Errorf("client: local track %s: %w", info.ID, err)
	}
	// Payload type and SSRC are placeholders: the track rewrites both to
	// what each binding negotiated. Timestamps are set per frame in
	// writeFrame, so the packetizer's own clock is never advanced.
	packets := rtp.NewPacketizer(packetMTU, 0, 0, payloader, rtp.NewRandomSequencer(), capability.ClockRate)
	return &localTrack{info: info, track: track, clockRate: capability.ClockRate, packets: packets, loop: loop}, nil
}

// addLocal creates a local track and starts its writer. The writer idles
// until the track is attached and the PeerConnection is connected, so that
// the first frame sent is the file's first frame, a key frame.
func (c *Client) addLocal(info protocol.TrackInfo) error {
	lt, err := newLocalTrack(info)
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(c.ctx)
	lt.stop = stop

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
// Each frame's RTP timestamp is its send time on the shared clock (clock.go),
// so the frames' nominal durations do not matter and a late tick shows as
// what it is.
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
		data, _ := lt.loop.Next()
		ts := rtpTimestamp(time.Now(), lt.clockRate)
		frame, err := c.sealFrame(lt, data)
		if err != nil {
			// No key, or the counter is exhausted: a frame is never sent in clear.
			c.log.Debug("encrypt frame", "track", lt.info.ID, "err", err)
			continue
		}
		if err := lt.writeFrame(frame, ts); err != nil {
			// Transient (a binding going away); ctx says when to stop.
			c.log.Debug("write frame", "track", lt.info.ID, "err", err)
			continue
		}
		lt.frames.Add(1)
		lt.bytes.Add(uint64(len(data)))
	}
}

// sealFrame applies the test hook, then SFrame (docs/PROTOCOL.md, "Frame
// encryption") with this sender's current key.
func (c *Client) sealFrame(lt *localTrack, data []byte) ([]byte, error) {
	if c.cfg.FrameHook != nil {
		data = c.cfg.FrameHook(lt.info.Kind, append([]byte(nil), data...))
	}
	if c.cfg.PlainFrames {
		return data, nil
	}
	out, err := c.keys.Sender().Encrypt(lt.encBuf[:0], sframeKind(lt.info.Kind), data)
	if err != nil {
		return nil, err
	}
	lt.encBuf = out
	return out, nil
}

func sframeKind(kind string) sframe.Kind {
	if kind == protocol.KindVideo {
		return sframe.Video
	}
	return sframe.Audio
}

// writeFrame packetizes one frame, stamps every packet with ts and writes
// them. The packetizer sets the marker bit on the frame's last packet
// (RFC 7741 §4.1 for VP8), as Pion's sample track did; an Opus frame is one
// packet.
func (lt *localTrack) writeFrame(data []byte, ts uint32) error {
	for _, p := range lt.packets.Packetize(data, 0) {
		p.Timestamp = ts
		if err := lt.track.WriteRTP(p); err != nil {
			return fmt.Errorf("client: write rtp: %w", err)
		}
	}
	return nil
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
