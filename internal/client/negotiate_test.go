package client

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"hotline/internal/protocol"
	"hotline/internal/servertest"
	"hotline/internal/testmedia"
	"hotline/internal/tier"
)

// fakeServer is a bare Pion offerer standing in for the hotline server, to
// test negotiation and media without it: recvonly transceivers for what the
// client publishes, sendonly ones for what it receives. Loopback only.
type fakeServer struct {
	t  *testing.T
	pc *webrtc.PeerConnection
	wg sync.WaitGroup

	sent atomic.Int64 // video frames written by addSendonlyVideo

	mu         sync.Mutex
	received   map[string]*midCount // mid → what arrived from the client
	candidates []webrtc.ICECandidateInit
}

type midCount struct {
	kind             string
	ssrc             uint32
	packets, markers int
}

func newFakeServer(t *testing.T) *fakeServer {
	api, err := newAPI(true, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return newFakeServerWith(t, api)
}

// newFakeServerWith is newFakeServer on a given Pion API (a virtual network).
func newFakeServerWith(t *testing.T, api *webrtc.API) *fakeServer {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{t: t, pc: pc, received: make(map[string]*midCount)}
	t.Cleanup(func() {
		pc.GracefulClose()
		f.wg.Wait()
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			f.mu.Lock()
			f.candidates = append(f.candidates, c.ToJSON())
			f.mu.Unlock()
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, rc *webrtc.RTPReceiver) {
		mid := ""
		for _, x := range pc.GetTransceivers() {
			if x.Receiver() == rc {
				mid = x.Mid()
			}
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			for {
				p, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				f.mu.Lock()
				mc := f.received[mid]
				if mc == nil {
					mc = &midCount{kind: tr.Kind().String(), ssrc: uint32(tr.SSRC())}
					f.received[mid] = mc
				}
				mc.packets++
				if p.Marker {
					mc.markers++
				}
				f.mu.Unlock()
			}
		}()
	})
	return f
}

func (f *fakeServer) addRecvonly(kind webrtc.RTPCodecType) {
	f.t.Helper()
	if _, err := f.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		f.t.Fatal(err)
	}
}

// addSendonlyVideo sends the test video on a new sendonly transceiver until ctx ends.
func (f *fakeServer) addSendonlyVideo(ctx context.Context) *webrtc.RTPSender {
	f.t.Helper()
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam0", "bob")
	if err != nil {
		f.t.Fatal(err)
	}
	tr, err := f.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		f.t.Fatal(err)
	}
	loop, err := testmedia.NewVP8Loop()
	if err != nil {
		f.t.Fatal(err)
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		tick := time.NewTicker(loop.FrameDuration())
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				data, d := loop.Next()
				if track.WriteSample(media.Sample{Data: data, Duration: d}) == nil {
					f.sent.Add(1)
				}
			}
		}
	}()
	return tr.Sender()
}

// offer returns a new offer without candidates: they are trickled (takeCandidates).
func (f *fakeServer) offer() string {
	f.t.Helper()
	o, err := f.pc.CreateOffer(nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.pc.SetLocalDescription(o); err != nil {
		f.t.Fatal(err)
	}
	return o.SDP
}

func (f *fakeServer) takeCandidates() []webrtc.ICECandidateInit {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.candidates
	f.candidates = nil
	return c
}

func (f *fakeServer) answer(sdp string) {
	f.t.Helper()
	if err := f.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fakeServer) count(mid string) midCount {
	f.mu.Lock()
	defer f.mu.Unlock()
	if mc := f.received[mid]; mc != nil {
		return *mc
	}
	return midCount{}
}

// directions maps each mid of an SDP to its direction attribute.
func directions(sdp string) map[string]string {
	dirs := map[string]string{}
	mid := ""
	for _, line := range strings.Split(sdp, "\r\n") {
		switch {
		case strings.HasPrefix(line, "a=mid:"):
			mid = strings.TrimPrefix(line, "a=mid:")
		case line == "a=sendrecv" || line == "a=sendonly" || line == "a=recvonly" || line == "a=inactive":
			dirs[mid] = line[2:]
		}
	}
	return dirs
}

// outbox records what a client sends instead of a WebSocket, handing its
// candidates to the fake server.
type outbox struct {
	f    *fakeServer
	mu   sync.Mutex
	msgs []any
}

func (o *outbox) send(_ context.Context, msg any) error {
	if cand, ok := msg.(protocol.Candidate); ok {
		ci := cand.Candidate
		return o.f.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: ci.Candidate, SDPMid: ci.SDPMid, SDPMLineIndex: ci.SDPMLineIndex})
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = append(o.msgs, msg)
	return nil
}

func (o *outbox) last() any {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.msgs) == 0 {
		return nil
	}
	return o.msgs[len(o.msgs)-1]
}

// TestNegotiationAndMedia drives the client's offer handling with a bare Pion
// offerer: tracks go out on exactly the mids of the send table (not the ones
// Pion's AddTrack would pick), received media is counted per mid, a PLI
// reaches the right track, a camera published mid-call gets its own mid, and
// a mid dropped from the receive table ends.
func TestNegotiationAndMedia(t *testing.T) {
	tier.Integration(t)
	checkGoroutines(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFakeServer(t)
	// The client encrypts what it sends (the fake server only counts
	// packets); "Bob" sends frames in clear, which it counts but never
	// accepts as decrypted.
	c := newKeyedClient(t, Config{Line: testLine, Call: "t", Device: testDevice(t, "Alice"), Publish: true, Logger: testLogger(t)})
	t.Cleanup(func() { c.Close() }) // before f's cleanup, which closes f.pc
	out := &outbox{f: f}
	c.out = out.send

	// mids 0 audio, 1 and 2 video (recvonly), 3 video from "Bob" (sendonly).
	f.addRecvonly(webrtc.RTPCodecTypeAudio)
	f.addRecvonly(webrtc.RTPCodecTypeVideo)
	f.addRecvonly(webrtc.RTPCodecTypeVideo)
	bobSender := f.addSendonlyVideo(ctx)
	offer := f.offer()
	// Candidates that arrive before the offer are held, then applied.
	servertest.Eventually(t, "server candidates", func() error {
		if f.pc.ICEGatheringState() != webrtc.ICEGatheringStateComplete {
			return fmt.Errorf("gathering")
		}
		return nil
	})
	for _, ci := range f.takeCandidates() {
		if err := c.handleRemoteCandidate(protocol.ICEInit{Candidate: ci.Candidate, SDPMid: ci.SDPMid, SDPMLineIndex: ci.SDPMLineIndex}); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.pendingCandidates) == 0 {
		t.Fatal("no candidate held before the offer")
	}
	bob := protocol.ReceiveMid{Mid: "3", Participant: "b0b", Name: "Bob", Track: "cam0", Kind: "video", Source: "camera"}
	send := []protocol.SendMid{{Mid: "0", Track: "mic"}, {Mid: "2", Track: "cam0"}} // mid 1 skipped on purpose
	answer, err := c.answerOffer(&protocol.SDP{Type: protocol.TypeOffer, SDP: offer, Send: send, Receive: []protocol.ReceiveMid{bob}})
	if err != nil {
		t.Fatal(err)
	}
	dirs := directions(answer)
	if dirs["0"] != "sendonly" || dirs["2"] != "sendonly" || dirs["3"] != "recvonly" {
		t.Errorf("answer directions %v, want 0 and 2 sendonly, 3 recvonly", dirs)
	}
	// Mid 1 has no sender: Pion answers it sendonly without an SSRC, which
	// carries nothing (checked below once media flows).
	f.answer(answer)

	servertest.Eventually(t, "media both ways", func() error {
		st := c.Stats()
		if len(st.Tracks) != 1 || st.Tracks[0].Frames < 15 {
			return fmt.Errorf("client received %+v", st.Tracks)
		}
		if a, v := f.count("0"), f.count("2"); a.packets < 25 || v.markers < 15 {
			return fmt.Errorf("server received audio %+v video %+v", a, v)
		}
		return nil
	})
	if n := f.count("1"); n.packets != 0 {
		t.Errorf("%d packets on mid 1, which carries nothing", n.packets)
	}
	if a, v := f.count("0"), f.count("2"); a.kind != "audio" || v.kind != "video" {
		t.Errorf("mid 0 carries %s, mid 2 carries %s", a.kind, v.kind)
	}
	got := c.Stats().Tracks[0]
	if got.From != "Bob" || got.Participant != "b0b" || got.Track != "cam0" || got.Mid != "3" || got.Ended || got.Lost > 0 {
		t.Errorf("received track %+v", got)
	}
	if got.Decrypted != 0 || got.UnknownKey+got.DecryptFailed == 0 {
		t.Errorf("frames in clear from a sender without a key: %+v", got)
	}

	// A PLI for the video the client sends reaches its cam0 track.
	vssrc := f.count("2").ssrc
	if err := f.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: vssrc}}); err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, "key frame request", func() error {
		for _, s := range c.Stats().Sent {
			if s.Track == "cam0" && s.KeyframeRequests > 0 {
				return nil
			}
		}
		return fmt.Errorf("no key frame request counted: %+v", c.Stats().Sent)
	})

	// A second camera mid-call; Bob's track ends in the same offer.
	if err := c.PublishCamera(ctx, "cam1", "camera2"); err != nil {
		t.Fatal(err)
	}
	if p, ok := out.last().(protocol.Publish); !ok || len(p.Tracks) != 1 || p.Tracks[0].ID != "cam1" {
		t.Fatalf("PublishCamera sent %+v", out.last())
	}
	if err := f.pc.RemoveTrack(bobSender); err != nil {
		t.Fatal(err)
	}
	f.addRecvonly(webrtc.RTPCodecTypeVideo) // mid 4
	send = append(send, protocol.SendMid{Mid: "4", Track: "cam1"})
	answer, err = c.answerOffer(&protocol.SDP{Type: protocol.TypeOffer, SDP: f.offer(), Send: send})
	if err != nil {
		t.Fatal(err)
	}
	if d := directions(answer)["4"]; d != "sendonly" {
		t.Errorf("mid 4 is %q in the answer, want sendonly", d)
	}
	f.answer(answer)
	servertest.Eventually(t, "second camera", func() error {
		if v := f.count("4"); v.markers < 15 {
			return fmt.Errorf("mid 4: %+v", v)
		}
		return nil
	})
	if st := c.Stats().Tracks[0]; !st.Ended {
		t.Errorf("Bob's track is not ended: %+v", st)
	}
	sent := c.Stats().Sent
	if len(sent) != 3 || sent[2].Track != "cam1" || sent[2].Mid != "4" || sent[2].Source != "camera2" {
		t.Errorf("sent tracks %+v", sent)
	}

	// Unpublishing cam1 stops its packets.
	if err := c.Unpublish(ctx, "cam1"); err != nil {
		t.Fatal(err)
	}
	// What arrives on mid 4 from now on is at most what was sent before:
	// the frames cam1's writer handed over, plus the one it may have been
	// writing as it stopped. A receiver behind on a loaded machine has
	// fewer, never more; the pause gives a sender that kept going the time
	// to show.
	var frames uint64
	for _, s := range c.Stats().Sent {
		if s.Track == "cam1" {
			frames = s.Frames
		}
	}
	time.Sleep(300 * time.Millisecond)
	if got := f.count("4").markers; uint64(got) > frames+1 {
		t.Errorf("mid 4 still receives after unpublish: %d frames, %d sent before", got, frames)
	}
}

func TestCheckSendDirections(t *testing.T) {
	sdp := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=sendrecv\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=inactive\r\n"
	if err := checkSendDirections(sdp, []string{"0"}); err != nil {
		t.Errorf("sendonly mid refused: %v", err)
	}
	if err := checkSendDirections(sdp, []string{"0", "1"}); err == nil || !strings.Contains(err.Error(), "sendrecv") {
		t.Errorf("sendrecv mid: %v", err)
	}
	if err := checkSendDirections(sdp, []string{"2"}); err == nil {
		t.Error("inactive mid accepted")
	}
	if err := checkSendDirections(sdp, []string{"7"}); err == nil {
		t.Error("missing mid accepted")
	}
}
