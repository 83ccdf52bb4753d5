package client

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v4/vnet"
	"github.com/pion/webrtc/v4"

	"hotline/internal/e2ee"
	"hotline/internal/protocol"
	"hotline/internal/servertest"
	"hotline/internal/tier"
)

// TestDelayJitterAndLoss: the client receives video from a bare Pion sender
// over Pion's virtual network (pion/transport vnet), with 40 ms of delay,
// up to 30 ms of jitter and 10 % of packets lost at random (both ways, so
// NACKs are lost too). Its NACKs bring the packets back, and it reassembles
// at least 95 % of the frames sent (the figure is logged). The real server
// cannot use a virtual network (it owns one UDP socket); the multi-site
// test (test/resilience) puts it behind real loss.
func TestDelayJitterAndLoss(t *testing.T) {
	tier.Integration(t)
	checkGoroutines(t)
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelError
	router, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.99.0.0/24", MinDelay: 40 * time.Millisecond, MaxJitter: 30 * time.Millisecond, LoggerFactory: lf})
	if err != nil {
		t.Fatal(err)
	}
	var dropped, passed atomic.Int64
	router.AddChunkFilter(func(vnet.Chunk) bool {
		if rand.IntN(100) < 10 {
			dropped.Add(1)
			return false
		}
		passed.Add(1)
		return true
	})
	serverNet, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.99.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	clientNet, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.99.0.2"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []*vnet.Net{serverNet, clientNet} {
		if err := router.AddNet(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := router.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = router.Stop() })

	api, err := newAPI(false, nil, serverNet, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeServerWith(t, api)
	cfg := Config{Line: testLine, Call: "j", Device: testDevice(t, "Alice"), Logger: testLogger(t), net: clientNet}
	c, err := newClient(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() }) // before f's cleanup, which closes f.pc
	keys, err := e2ee.New(e2ee.Config{Device: cfg.Device, Line: cfg.Line, Call: cfg.Call, Send: c.sendKey})
	if err != nil {
		t.Fatal(err)
	}
	c.keys = keys
	out := &outbox{f: f}
	c.out = out.send

	// The sender: the test video (counted in f.sent). Pion's NACK
	// responder sees the client's NACKs only if its RTCP is read.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sender := f.addSendonlyVideo(ctx)
	f.wg.Go(func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	})

	offer := f.offer()
	bob := protocol.ReceiveMid{Mid: "0", Participant: "b0b", Name: "Bob", Track: "cam0", Kind: "video", Source: "camera"}
	answer, err := c.answerOffer(&protocol.SDP{Type: protocol.TypeOffer, SDP: offer, Receive: []protocol.ReceiveMid{bob}})
	if err != nil {
		t.Fatal(err)
	}
	f.answer(answer)
	servertest.Eventually(t, "server candidates", func() error {
		if f.pc.ICEGatheringState() != webrtc.ICEGatheringStateComplete {
			return errString("gathering")
		}
		return nil
	})
	for _, ci := range f.takeCandidates() {
		if err := c.handleRemoteCandidate(protocol.ICEInit{Candidate: ci.Candidate, SDPMid: ci.SDPMid, SDPMLineIndex: ci.SDPMLineIndex}); err != nil {
			t.Fatal(err)
		}
	}
	// assembled: every frame the client put together, whatever its
	// decryption said (the sender here does not encrypt).
	assembled := func() uint64 {
		var n uint64
		for _, ts := range c.Stats().Tracks {
			n += ts.Decrypted + ts.DecryptFailed + ts.UnknownKey + ts.WrongSender
		}
		return n
	}
	servertest.Eventually(t, "frames arrive", func() error {
		if assembled() < 30 {
			return errString("not yet")
		}
		return nil
	})

	// As in test/resilience: each count of assembled frames a second after
	// the count of sent frames it is compared with.
	s0 := f.sent.Load()
	time.Sleep(time.Second)
	a0 := assembled()
	time.Sleep(7 * time.Second)
	s1 := f.sent.Load()
	time.Sleep(time.Second)
	a1 := assembled()
	share := float64(a1-a0) / float64(s1-s0)
	st := c.Stats().Tracks[0]
	t.Logf("40 ms delay, 30 ms jitter, 10 %% loss each way (%d of %d packets dropped): %d of %d frames assembled (%.1f %%); %d packets late (retransmitted), %d frames given up",
		dropped.Load(), dropped.Load()+passed.Load(), a1-a0, s1-s0, 100*share, st.Late, st.FramesLost)
	if share < 0.95 {
		t.Errorf("%.1f %% of the frames sent were assembled, want at least 95 %%", 100*share)
	}
}

type errString string

func (e errString) Error() string { return string(e) }
