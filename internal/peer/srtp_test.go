package peer

import (
	"encoding/binary"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Pion exposes no accessor for the SRTP profile a DTLSTransport selected
// (TransportStats.SRTPCipher is never filled in v4.2.20), so the test reads
// it off the wire: the DTLS 1.2 ServerHello travels in clear, and its
// use_srtp extension names the one profile the server chose.
func TestSRTPProfileIsAES128GCM(t *testing.T) {
	e, err := NewEngine(EngineConfig{ListenIP: net.IPv4(127, 0, 0, 1)}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	server, err := e.NewPeerConnection()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "v", "s")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.AddTrack(track); err != nil {
		t.Fatal(err)
	}

	// The client offers what Pion offers by default, the same three profiles
	// as Chromium, AEAD_AES_256_GCM first.
	raw, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	spy := &helloSpy{PacketConn: raw, profile: make(chan dtls.SRTPProtectionProfile, 1)}
	mux := webrtc.NewICEUDPMux(nil, spy)
	defer mux.Close()
	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(mux)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	client, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	received := make(chan struct{})
	client.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if _, _, err := tr.ReadRTP(); err == nil {
			close(received)
		}
	})

	// The server offers, as Session does; candidates go in the descriptions.
	offer, err := server.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(server)
	if err := server.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := client.SetRemoteDescription(*server.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := client.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered = webrtc.GatheringCompletePromise(client)
	if err := client.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := server.SetRemoteDescription(*client.LocalDescription()); err != nil {
		t.Fatal(err)
	}

	// Media must flow under the chosen profile (the first packets may go
	// before SRTP is up, so keep sending until one arrives).
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	hang := time.After(10 * time.Second) // a hang guard, not a speed threshold
	for seq := uint16(0); ; seq++ {
		select {
		case <-received:
		case <-tick.C:
			if err := track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000}, Payload: []byte{0x10, 0, 0, 0}}); err != nil {
				t.Fatal(err)
			}
			continue
		case <-hang:
			t.Fatal("no media reached the client")
		}
		break
	}
	select {
	case p := <-spy.profile:
		if p != dtls.SRTP_AEAD_AES_128_GCM {
			t.Fatalf("negotiated SRTP profile %#04x, want AEAD_AES_128_GCM (%#04x)", uint16(p), uint16(dtls.SRTP_AEAD_AES_128_GCM))
		}
	default:
		t.Fatal("no ServerHello with use_srtp seen: the server was not the DTLS server")
	}
}

// helloSpy reports the SRTP profile of the first DTLS ServerHello it reads.
type helloSpy struct {
	net.PacketConn
	profile chan dtls.SRTPProtectionProfile
}

func (s *helloSpy) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := s.PacketConn.ReadFrom(b)
	if p, ok := serverHelloSRTPProfile(b[:n]); ok {
		select {
		case s.profile <- p:
		default:
		}
	}
	return n, addr, err
}

// serverHelloSRTPProfile finds, in a datagram of DTLS 1.2 records, an
// unencrypted ServerHello and the profile in its use_srtp extension
// (RFC 5764 §4.1.1, extension 14: profiles length, profile, MKI length).
func serverHelloSRTPProfile(b []byte) (dtls.SRTPProtectionProfile, bool) {
	u16 := binary.BigEndian.Uint16
	for len(b) >= 13 { // record: type, version, epoch, sequence (6), length
		typ, n := b[0], int(u16(b[11:13]))
		if len(b) < 13+n {
			return 0, false
		}
		rec := b[13 : 13+n]
		b = b[13+n:]
		// Handshake record, ServerHello (type 2), in one fragment.
		if typ != 22 || len(rec) < 12 || rec[0] != 2 {
			continue
		}
		body := rec[12:]
		p := 2 + 32 // version, random
		if len(body) < p+1 {
			return 0, false
		}
		p += 1 + int(body[p]) + 2 + 1 // session id, cipher suite, compression
		if len(body) < p+2 {
			return 0, false
		}
		ext := body[p+2:]
		if l := int(u16(body[p:])); l < len(ext) {
			ext = ext[:l]
		}
		for len(ext) >= 4 {
			typ, l := u16(ext), int(u16(ext[2:]))
			if len(ext) < 4+l {
				break
			}
			if typ == 14 && l >= 4 {
				return dtls.SRTPProtectionProfile(u16(ext[6:8])), true
			}
			ext = ext[4+l:]
		}
	}
	return 0, false
}
