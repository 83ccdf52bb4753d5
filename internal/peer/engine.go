// Package peer runs one participant's session: its signalling messages, its
// PeerConnection (everything it sends and receives) and its membership in a
// call. Engine builds the PeerConnections; Session is one participant.
package peer

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/webrtc/v4"

	"hotline/internal/codec"
	"hotline/internal/pionlog"
)

// EngineConfig says where media flows.
type EngineConfig struct {
	// ListenIP is the address the media UDP socket binds to. A loopback
	// address means only loopback candidates are offered; nil or unspecified
	// means all interfaces.
	ListenIP net.IP
	// UDPPort is the one UDP port all participants share (0: the system picks).
	UDPPort int
	// PublicIP, when set, is announced instead of the host address (NAT 1:1).
	PublicIP string
	// ICETCP, when set, carries ICE over TCP (RFC 6544): every
	// PeerConnection offers passive TCP candidates on its port, for clients
	// whose network drops UDP. The engine closes it.
	ICETCP net.Listener
}

// Engine makes PeerConnections that share one UDP socket.
type Engine struct {
	api    *webrtc.API
	conn   net.PacketConn
	mux    ice.UDPMux
	tcpMux ice.TCPMux // nil without ICE over TCP
}

// NewEngine opens the media socket and prepares the WebRTC stack.
func NewEngine(cfg EngineConfig, log *slog.Logger) (*Engine, error) {
	ip := cfg.ListenIP
	if ip == nil {
		ip = net.IPv4zero
	}
	if cfg.UDPPort < 0 || cfg.UDPPort > 65535 {
		return nil, fmt.Errorf("peer: UDP port %d out of range", cfg.UDPPort)
	}
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(cfg.UDPPort))
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("peer: media socket: %w", err)
	}
	mux := webrtc.NewICEUDPMux(nil, conn)

	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(mux)
	// mDNS would send multicast off the machine, and hides nothing on a server.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if filter := candidateFilter(ip); filter != nil {
		se.SetIncludeLoopbackCandidate(ip.IsLoopback())
		se.SetIPFilter(filter)
	}
	if cfg.PublicIP != "" {
		if net.ParseIP(cfg.PublicIP) == nil {
			conn.Close()
			return nil, fmt.Errorf("peer: public IP %q is not an IP address", cfg.PublicIP)
		}
		// The host candidates carry the public address instead of the
		// local one (what the deprecated SetNAT1To1IPs did with this rule).
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        []string{cfg.PublicIP},
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			conn.Close()
			return nil, fmt.Errorf("peer: public IP %q: %w", cfg.PublicIP, err)
		}
	}
	// A retransmission answering one of our NACKs can arrive a second after
	// the packets that overtook it; SRTP's default replay window (RFC 3711
	// §3.3.2: 64 packets, half a second of video) would refuse it as too old.
	se.SetSRTPReplayProtectionWindow(1024)
	// Fail a dead connection in seconds, not the default half minute.
	se.SetICETimeouts(5*time.Second, 15*time.Second, 2*time.Second)
	// SRTP protection is the crypto cost of forwarding: one protect per
	// subscriber per packet. AEAD_AES_128_GCM (RFC 7714) is one AES-NI pass
	// with a carry-less-multiply GHASH, where AES128_CM_HMAC_SHA1_80 (RFC
	// 3711) adds a separate HMAC-SHA1 pass; and Pion's own first choice,
	// AEAD_AES_256_GCM, spends 14 AES rounds where 128 spends 10, for no gain
	// over the 128-bit-strong DTLS key exchange that keys it. Browsers and
	// Pion offer both profiles listed. The DTLS server picks (RFC 5764
	// §4.1.1), which we are when the answerer takes setup:active, as
	// browsers and Pion do by default.
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)

	// VP8 and Opus only: the codecs whose SFrame clear bytes are specified.
	me := &webrtc.MediaEngine{}
	if err := codec.Register(me); err != nil {
		conn.Close()
		return nil, fmt.Errorf("peer: codecs: %w", err)
	}
	ir, err := interceptors(me)
	if err != nil {
		conn.Close()
		return nil, err
	}
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	var tcpMux ice.TCPMux
	if cfg.ICETCP != nil {
		tcpMux = webrtc.NewICETCPMux(pionlog.Factory{Log: log}.NewLogger("ice-tcp"), cfg.ICETCP, 8)
		se.SetICETCPMux(tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
		// Passive only: the server never dials a TCP address a client
		// names (RFC 6544 §4.5 lets an endpoint offer passive candidates
		// alone), or a client could point it anywhere.
		se.DisableActiveTCP(true)
	}
	se.SetNetworkTypes(networks)
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir))
	return &Engine{api: api, conn: conn, mux: mux, tcpMux: tcpMux}, nil
}

// maxNacksPerPacket bounds the NACKs sent for one missing packet.
const maxNacksPerPacket = 3

// interceptors is what every PeerConnection runs its RTP and RTCP through.
// Toward publishers: NACKs for lost packets, receiver reports, and
// transport-wide CC feedback so that browsers adapt their bitrate. Toward
// subscribers: sender reports. NACKs from subscribers are answered by
// internal/sfu from its shared packet cache, not by Pion's per-sender
// responder, which would keep one copy of every stream per subscriber.
func interceptors(me *webrtc.MediaEngine) (*interceptor.Registry, error) {
	ir := &interceptor.Registry{}
	// Innermost, so that the interceptors after it share one parsed header
	// per stream instead of allocating one per packet (rtpheader.go).
	ir.Add(headerCacheFactory{})
	// Pion's generator NACKs a missing packet again at every tick (100 ms)
	// for as long as it is missing, with no regard to the round trip: when
	// the retransmission is still queued behind a busy read loop, it asks
	// again, and the publisher's answers arrive as duplicates that SRTP
	// rejects after receiving them. On an overloaded server that fed
	// itself up to 1,400 duplicate packets a second at 2 calls × 3 (docs/
	// PERFORMANCE.md). Three requests, 300 ms of attempts, is as long as a
	// frame is worth waiting for in a browser's jitter buffer.
	gen, err := nack.NewGeneratorInterceptor(nack.GeneratorMaxNacksPerPacket(maxNacksPerPacket))
	if err != nil {
		return nil, fmt.Errorf("peer: nack: %w", err)
	}
	ir.Add(gen)
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, fmt.Errorf("peer: rtcp reports: %w", err)
	}
	if err := configureTWCC(me, ir); err != nil {
		return nil, fmt.Errorf("peer: twcc: %w", err)
	}
	return ir, nil
}

// candidateFilter says which local addresses become ICE candidates: on a
// loopback listener only loopback ones (a server on loopback serves this
// machine only, and must not announce, or be reached on, anything else); on
// a specific address only that one; on all interfaces, no filter (nil).
func candidateFilter(listen net.IP) func(net.IP) bool {
	switch {
	case listen.IsLoopback():
		return func(ip net.IP) bool { return ip.IsLoopback() }
	case listen.IsUnspecified():
		return nil
	default:
		return func(ip net.IP) bool { return ip.Equal(listen) }
	}
}

// UDPAddr is the media socket's address.
func (e *Engine) UDPAddr() net.Addr { return e.conn.LocalAddr() }

// NewPeerConnection makes a PeerConnection on the shared socket, with no ICE
// servers: the server has a routable or loopback host address of its own.
func (e *Engine) NewPeerConnection() (*webrtc.PeerConnection, error) {
	return e.api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
}

// Close closes the media sockets (the muxes own them). Close every
// PeerConnection first.
func (e *Engine) Close() error {
	err := e.mux.Close()
	if e.tcpMux != nil {
		err = errors.Join(err, e.tcpMux.Close())
	}
	return err
}
