package whep_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"hotline/internal/servertest"
	"hotline/internal/testmedia"
	"hotline/internal/tier"
	"hotline/internal/whep"
)

// frameSink collects the VP8 frames a WHEP player reassembles.
type frameSink struct {
	mu     sync.Mutex
	frames [][]byte
}

func (s *frameSink) add(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frames = append(s.frames, append([]byte(nil), b...))
}

func (s *frameSink) snapshot() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.frames...)
}

// TestSlate: at the cut (End) a WHEP player's video goes on with the slate
// and only then ends. A Pion WHEP player receives the live VP8 frames
// (testmedia's), then, after End, the slate's frames byte for byte from
// its key frame on, in order, with no live frame after them; ffmpeg
// decodes what it received after the cut (640x360); and the session ends.
func TestSlate(t *testing.T) {
	tier.Integration(t)
	slate, err := whep.Slate()
	if err != nil {
		t.Fatal(err)
	}
	if !slate[0].Keyframe || len(slate) < 30 {
		t.Fatalf("slate: %d frames, first key %v", len(slate), slate[0].Keyframe)
	}
	live, err := testmedia.VP8Frames()
	if err != nil {
		t.Fatal(err)
	}
	feed, err := whep.New(true, servertest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(feed.Handler())
	t.Cleanup(hs.Close)
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() { // the call's camera, decrypted by the recorder
		defer close(sent)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(live[0].Duration):
			}
			feed.Write("p/cam", "East camera", "video", live[i%len(live)].Data, time.Now())
		}
	}()

	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	var got frameSink
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		sb := samplebuilder.New(64, &codecs.VP8Packet{}, 90000)
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			sb.Push(pkt)
			for s := sb.Pop(); s != nil; s = sb.Pop() {
				got.add(s.Data)
			}
		}
	})
	ended := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateClosed || s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateDisconnected {
			once.Do(func() { close(ended) })
		}
	})
	// The player starts once the feed has its source.
	servertest.Eventually(t, "the feed's camera", func() error { return sources(hs.URL) })
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	resp, err := http.Post(hs.URL+"/whep", "application/sdp", strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("WHEP POST: %d %s", resp.StatusCode, answer)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
	servertest.Eventually(t, "the player receives live frames", func() error {
		if n := len(got.snapshot()); n < 20 {
			return fmt.Errorf("%d frames", n)
		}
		return nil
	})

	feed.End() // the cut: the slate, then the end
	close(stop)
	<-sent
	select {
	case <-ended:
	case <-time.After(time.Minute):
		t.Fatal("the player's session did not end after the slate")
	}

	isSlate := map[[32]byte]bool{}
	for _, f := range slate {
		isSlate[sha256.Sum256(f.Data)] = true
	}
	frames := got.snapshot()
	first := slices.IndexFunc(frames, func(f []byte) bool { return isSlate[sha256.Sum256(f)] })
	if first < 0 {
		t.Fatalf("none of the player's %d frames is the slate's", len(frames))
	}
	after := frames[first:]
	if !bytes.Equal(after[0], slate[0].Data) {
		t.Fatal("the first slate frame the player got is not the slate's key frame")
	}
	// Every frame from there on is the slate's next one (the player may
	// miss some, never reorder them), and none is a live frame.
	j := 0
	for i, f := range after {
		for j < len(slate) && !bytes.Equal(slate[j].Data, f) {
			j++
		}
		if j == len(slate) {
			t.Fatalf("frame %d after the slate began (%d bytes) is not the slate's next: a live frame after the cut", i, len(f))
		}
		j++
	}
	if len(after) < len(slate)/2 {
		t.Fatalf("the player got %d of the slate's %d frames", len(after), len(slate))
	}

	// What the player got after the cut decodes: a 640x360 picture.
	path := filepath.Join(t.TempDir(), "after-cut.ivf")
	if err := os.WriteFile(path, ivf(after), 0o600); err != nil {
		t.Fatal(err)
	}
	bin, err := exec.LookPath("ffprobe")
	if err != nil {
		t.Fatal("ffprobe (Debian's ffmpeg) is needed; scripts/test.sh installs it:", err)
	}
	out, err := exec.Command(bin, "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=width,height,nb_read_frames", "-of", "csv=p=0", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v: %s", err, out)
	}
	fields := strings.Split(strings.TrimSpace(string(out)), ",")
	if len(fields) != 3 || fields[0] != "640" || fields[1] != "360" {
		t.Fatalf("ffprobe of the frames after the cut: %q", out)
	}
	if n, _ := strconv.Atoi(fields[2]); n != len(after) {
		t.Fatalf("ffmpeg decoded %d of the %d frames after the cut", n, len(after))
	}
	t.Logf("the player got %d live frames, then %d of the slate's %d frames (decoded, 640x360), then the end",
		first, len(after), len(slate))
}

func sources(base string) error {
	resp, err := http.Get(base + "/whep/sources")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `"video"`) {
		return fmt.Errorf("sources %s", b)
	}
	return nil
}

// ivf is frames as an IVF file (VP8, 15 frames a second) for ffprobe.
func ivf(frames [][]byte) []byte {
	h := make([]byte, 32)
	copy(h, "DKIF")
	binary.LittleEndian.PutUint16(h[6:], 32)
	copy(h[8:], "VP80")
	binary.LittleEndian.PutUint16(h[12:], 640)
	binary.LittleEndian.PutUint16(h[14:], 360)
	binary.LittleEndian.PutUint32(h[16:], 15)
	binary.LittleEndian.PutUint32(h[20:], 1)
	binary.LittleEndian.PutUint32(h[24:], uint32(len(frames)))
	for i, f := range frames {
		fh := make([]byte, 12)
		binary.LittleEndian.PutUint32(fh, uint32(len(f)))
		binary.LittleEndian.PutUint64(fh[4:], uint64(i))
		h = append(append(h, fh...), f...)
	}
	return h
}
