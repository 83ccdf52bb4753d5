package client

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/transport/v4"
	"github.com/pion/webrtc/v4"

	"hotline/internal/codec"
	"hotline/internal/pionlog"
	"hotline/internal/protocol"
)

// signallingURL turns the server's base URL (http or https) into the URL of
// its WebSocket (ws or wss, path /ws), and returns the host for the network
// policy.
func signallingURL(base string) (wsURL, host string, err error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", "", fmt.Errorf("%w: server URL: %w", ErrConfig, err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", "", fmt.Errorf("%w: server URL %q: scheme must be http or https", ErrConfig, base)
	}
	if u.Hostname() == "" {
		return "", "", fmt.Errorf("%w: server URL %q has no host", ErrConfig, base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/ws"
	u.RawQuery, u.Fragment, u.RawPath = "", "", ""
	return u.String(), u.Hostname(), nil
}

// isLoopbackHost reports whether host names this machine's loopback:
// "localhost" or an address in 127.0.0.0/8 or ::1.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// srtpReplayWindow: packets behind the newest that SRTP still accepts
// once each; the server uses the same (internal/peer).
const srtpReplayWindow = 1024

// newAPI builds the Pion API of one endpoint. The network policy is fixed:
//   - mDNS is always off: hotline's server never resolves .local names, and
//     multicast queries would leave the machine;
//   - no STUN: the server offers host candidates on its own ports
//     (PROTOCOL.md), so a client's host candidates are all it needs; the
//     server's own TURN relay comes with the welcome (useICEServers);
//   - UDP and TCP (networks, when given, restrict that): where UDP is
//     blocked, ICE reaches the server's passive TCP candidates from active
//     ones (RFC 6544), or goes through the relay over TCP;
//   - when the server is on loopback, only loopback candidates, and Pion must
//     be told to include them (it skips loopback by default). This also keeps
//     tests from sending anything to the machine's other addresses.
func newAPI(loopback bool, networks []webrtc.NetworkType, nw transport.Net, log *slog.Logger) (*webrtc.API, error) {
	var se webrtc.SettingEngine
	se.LoggerFactory = pionlog.Factory{Log: log}
	if nw != nil {
		se.SetNet(nw) // interfaces read again before each offer (livenet.go)
	}
	// A retransmission answering a NACK may come a second after the packets
	// sent after its original (two lossy hops, several rounds): SRTP's
	// replay window (RFC 3711 §3.3.2, 64 packets by default, half a second
	// of video) would refuse it as too old.
	se.SetSRTPReplayProtectionWindow(srtpReplayWindow)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if networks == nil {
		networks = []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6}
	}
	se.SetNetworkTypes(networks)
	if loopback {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}

	// VP8 and Opus only (with VP8's RTCP feedback and RTX): the codecs
	// whose SFrame clear bytes are specified, as the server registers them.
	me := &webrtc.MediaEngine{}
	if err := codec.Register(me); err != nil {
		return nil, fmt.Errorf("client: codecs: %w", err)
	}
	// NACK both ways, RTCP sender and receiver reports, receive-side TWCC
	// feedback; plus the transport-wide sequence number on what we send so
	// that the server's congestion feedback has something to refer to, as a
	// browser's would.
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, fmt.Errorf("client: interceptors: %w", err)
	}
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(me, ir); err != nil {
		return nil, fmt.Errorf("client: twcc: %w", err)
	}
	return webrtc.NewAPI(
		webrtc.WithSettingEngine(se),
		webrtc.WithMediaEngine(me),
		webrtc.WithInterceptorRegistry(ir),
	), nil
}

// useICEServers takes the server's TURN relay from the welcome
// (PROTOCOL.md, "Media through firewalls"). It comes before the first
// offer, so before ICE gathers: Pion uses the servers from the start.
func (c *Client) useICEServers(servers []protocol.ICEServer) error {
	conf := webrtc.Configuration{ICETransportPolicy: c.iceTransportPolicy()}
	for _, s := range servers {
		conf.ICEServers = append(conf.ICEServers, webrtc.ICEServer{
			URLs: s.URLs, Username: s.Username, Credential: s.Credential,
		})
	}
	if err := c.pc.SetConfiguration(conf); err != nil {
		return fmt.Errorf("client: ICE servers of the welcome: %w", err)
	}
	return nil
}

func (c *Client) iceTransportPolicy() webrtc.ICETransportPolicy { return policyOf(c.cfg) }

func policyOf(cfg Config) webrtc.ICETransportPolicy {
	if cfg.RelayOnly {
		return webrtc.ICETransportPolicyRelay
	}
	return webrtc.ICETransportPolicyAll
}

// Path is the route the media took between the client and the server.
type Path struct {
	Local, Remote webrtc.ICECandidate
	// RelayProtocol is how a relay candidate reaches the TURN server
	// ("udp", "tcp" or "tls"); empty for other candidates.
	RelayProtocol string
}

func (p Path) String() string {
	s := fmt.Sprintf("local %s %s %s:%d → remote %s %s %s:%d",
		p.Local.Protocol, p.Local.Typ, p.Local.Address, p.Local.Port,
		p.Remote.Protocol, p.Remote.Typ, p.Remote.Address, p.Remote.Port)
	if p.RelayProtocol != "" {
		s += " (relay reached over " + p.RelayProtocol + ")"
	}
	return s
}

// SelectedPath is the ICE candidate pair the media flows on (false until
// the PeerConnection is connected): which path the call took, for tests and
// probes.
func (c *Client) SelectedPath() (Path, bool) {
	// Pion (v4.2.20) reads the transport's gatherer unlocked while the
	// first negotiation's Start writes it: ask only once connected, which
	// Start has happened before.
	if !c.connected.Load() {
		return Path{}, false
	}
	for _, tr := range c.pc.GetTransceivers() {
		var dt *webrtc.DTLSTransport
		if s := tr.Sender(); s != nil {
			dt = s.Transport()
		}
		if dt == nil && tr.Receiver() != nil {
			dt = tr.Receiver().Transport()
		}
		if dt == nil {
			continue
		}
		pair, err := dt.ICETransport().GetSelectedCandidatePair()
		if err != nil || pair == nil {
			continue
		}
		p := Path{Local: *pair.Local, Remote: *pair.Remote}
		if p.Local.Typ == webrtc.ICECandidateTypeRelay {
			for _, st := range c.pc.GetStats() {
				if cs, ok := st.(webrtc.ICECandidateStats); ok && cs.CandidateType == webrtc.ICECandidateTypeRelay &&
					cs.IP == p.Local.Address && cs.Port == int32(p.Local.Port) {
					p.RelayProtocol = cs.RelayProtocol
				}
			}
		}
		return p, true
	}
	return Path{}, false
}
