package record_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"hotline/internal/client"
	"hotline/internal/protocol"
	"hotline/internal/servertest"
	"hotline/internal/whep"
)

// whepPlayer is a WHEP client made with Pion: it offers receive-only
// video and audio, and counts the VP8 frames it reassembles.
type whepPlayer struct {
	pc       *webrtc.PeerConnection
	location string
	frames   atomic.Int64 // complete VP8 frames
	keys     atomic.Int64 // of which key frames
	audio    atomic.Int64 // Opus packets
	ended    chan struct{}
}

func post(t *testing.T, url, ctype, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, ctype, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func newPlayer(t *testing.T, base string) *whepPlayer {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	p := &whepPlayer{pc: pc, ended: make(chan struct{})}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		go p.read(tr)
	})
	var once atomic.Bool
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if (s == webrtc.PeerConnectionStateClosed || s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateDisconnected) && once.CompareAndSwap(false, true) {
			close(p.ended)
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	resp := post(t, base+"/whep", "application/sdp", pc.LocalDescription().SDP)
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Content-Type") != "application/sdp" || resp.Header.Get("Location") == "" {
		t.Fatalf("WHEP POST: %d %q, Location %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Location"), answer)
	}
	p.location = resp.Header.Get("Location")
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
	return p
}

// read reassembles VP8 frames (RFC 7741): the packets of one timestamp,
// from the partition start to the marker bit, in sequence.
func (p *whepPlayer) read(tr *webrtc.TrackRemote) {
	var vp8 codecs.VP8Packet
	var frame []byte
	var next uint16
	inFrame := false
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if tr.Kind() == webrtc.RTPCodecTypeAudio {
			p.audio.Add(1)
			continue
		}
		body, err := vp8.Unmarshal(pkt.Payload)
		if err != nil {
			inFrame = false
			continue
		}
		switch {
		case vp8.S == 1 && vp8.PID == 0:
			frame, inFrame = append(frame[:0], body...), true
		case inFrame && pkt.SequenceNumber == next:
			frame = append(frame, body...)
		default:
			inFrame = false
			continue
		}
		next = pkt.SequenceNumber + 1
		if pkt.Marker && inFrame {
			p.frames.Add(1)
			if len(frame) > 10 && frame[0]&1 == 0 && frame[3] == 0x9d && frame[4] == 0x01 && frame[5] == 0x2a {
				p.keys.Add(1)
			}
			inFrame = false
		}
	}
}

// TestLiveFeed: the recorder serves the public segment over WHEP. A Pion
// WHEP client gets 201 with the answer and a Location, reassembles VP8
// frames and receives Opus during the segment, and is ended at the cut;
// DELETE ends a session (404 after), a bad SDP or content type is refused,
// and an offer after the cut gets 410.
func TestLiveFeed(t *testing.T) {
	const call = "press-live"
	l := startLine(t, call, nil)
	feed, err := whep.New(true, servertest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(feed.Handler())
	t.Cleanup(hs.Close)
	live := func(f client.Frame) {
		feed.Write(f.Track.Participant+"/"+f.Track.Track, f.Track.Name+" "+f.Track.Source, f.Track.Kind, f.Data, f.Arrival)
	}
	rec := startRecorder(t, l, call, t.TempDir(), live)
	rec.client(t)

	// Bad offers are refused before anything is made.
	for _, tt := range []struct{ ctype, body string }{
		{"application/sdp", "this is not SDP"},
		{"application/sdp", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"},
		{"text/plain", "v=0"},
	} {
		resp := post(t, hs.URL+"/whep", tt.ctype, tt.body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("offer %q as %s: %d", tt.body, tt.ctype, resp.StatusCode)
		}
	}

	open := l.segment(t, call, protocol.SegmentPublic)
	servertest.Eventually(t, "the feed has sources", func() error {
		resp, err := http.Get(hs.URL + "/whep/sources")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if strings.Count(string(b), `"video"`) < 2 || strings.Count(string(b), `"audio"`) < 2 {
			return fmt.Errorf("sources: %s", b)
		}
		return nil
	})
	p := newPlayer(t, hs.URL)
	servertest.Eventually(t, "the player reassembles video and gets audio", func() error {
		if p.frames.Load() < 60 || p.keys.Load() < 1 || p.audio.Load() < 50 {
			return fmt.Errorf("%d frames (%d key), %d audio packets", p.frames.Load(), p.keys.Load(), p.audio.Load())
		}
		return nil
	})
	// A second player leaves with DELETE.
	q := newPlayer(t, hs.URL)
	req, _ := http.NewRequest("DELETE", hs.URL+q.location, nil)
	for i, want := range []int{http.StatusOK, http.StatusNotFound} {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("DELETE %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}

	cut := l.segment(t, call, protocol.SegmentPrivate)
	select {
	case <-rec.done:
	case <-time.After(patience):
		t.Fatal("the recorder did not stop at the cut")
	}
	feed.End()
	select {
	case <-p.ended:
	case <-time.After(patience):
		t.Fatal("the player's session did not end at the cut")
	}
	t.Logf("segment %v; the player got %d VP8 frames (%d key), %d Opus packets; ended %v after the marker",
		time.Duration(cut.At-open.At)*time.Millisecond, p.frames.Load(), p.keys.Load(), p.audio.Load(),
		time.Since(time.UnixMilli(cut.At)).Round(time.Millisecond))
	resp := post(t, hs.URL+"/whep", "application/sdp", p.pc.LocalDescription().SDP)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Errorf("an offer after the cut: %d, want 410", resp.StatusCode)
	}
	if n := feed.Sessions(); n != 0 {
		t.Errorf("%d sessions after the cut", n)
	}
	if rec.err != nil && !errors.Is(rec.err, context.Canceled) {
		t.Fatal("record:", rec.err)
	}
}
