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
//   - no STUN or TURN: the server offers host candidates on its own UDP port
//     (PROTOCOL.md), so a client's host candidates are all it needs;
//   - UDP only, the server does not do ICE-TCP;
//   - when the server is on loopback, only loopback candidates, and Pion must
//     be told to include them (it skips loopback by default). This also keeps
//     tests from sending anything to the machine's other addresses.
func newAPI(loopback bool, nw transport.Net, log *slog.Logger) (*webrtc.API, error) {
	var se webrtc.SettingEngine
	se.LoggerFactory = pionLoggerFactory{log: log}
	if nw != nil {
		se.SetNet(nw) // interfaces read again before each offer (livenet.go)
	}
	// A retransmission answering a NACK may come a second after the packets
	// sent after its original (two lossy hops, several rounds): SRTP's
	// replay window (RFC 3711 §3.3.2, 64 packets by default, half a second
	// of video) would refuse it as too old.
	se.SetSRTPReplayProtectionWindow(srtpReplayWindow)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if loopback {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}

	// Every codec Pion knows (VP8, VP9, H.264, AV1, Opus with their RTCP
	// feedback and RTX): the client publishes VP8 and Opus but receives
	// whatever other participants publish.
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
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
