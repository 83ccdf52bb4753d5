package client_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
)

// Media through firewalls (docs/PROTOCOL.md): an endpoint that cannot use
// UDP still exchanges media with one that can, with no setting on either
// the server or the client but the test's restriction of the first one's
// transports. Each case asserts the path the call took.
func TestMediaWithoutUDP(t *testing.T) {
	cases := []struct {
		name      string
		networks  []webrtc.NetworkType
		relayOnly bool
		// the restricted client's selected pair: its local candidate's
		// type, and the protocol it speaks to the server
		local    webrtc.ICECandidateType
		protocol webrtc.ICEProtocol
	}{
		// ICE over TCP: an active TCP candidate to the server's passive one.
		{"ice-tcp", []webrtc.NetworkType{webrtc.NetworkTypeTCP4}, false, webrtc.ICECandidateTypeHost, webrtc.ICEProtocolTCP},
		// The relay alone, reached over TCP: relay-only policy means no
		// host candidates at all, so the client's only traffic is TURN
		// over TCP to the server's TCP port, and its relay candidate (a
		// UDP socket on the server) is the local end of the pair. (The
		// networks are UDP only because Pion makes active TCP candidates
		// whatever the policy.)
		{"turn-tcp", []webrtc.NetworkType{webrtc.NetworkTypeUDP4}, true, webrtc.ICECandidateTypeRelay, webrtc.ICEProtocolUDP},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tier.Integration(t)
			client.CheckGoroutines(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			log := client.TestLogger(t)
			srv := servertest.Start(t, server.Config{}, log)
			join := func(side, name string, cfg client.Config) *client.Client {
				cfg.Server, cfg.Line, cfg.Call, cfg.Device, cfg.Publish = srv.URL(), demo.Line, "fw", srv.Device(t, side, name), true
				cfg.Logger = log.With("client", name)
				c, err := client.Join(ctx, cfg)
				if err != nil {
					t.Fatalf("%s joins: %v", name, err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			}
			walled := join(demo.East, "Walled", client.Config{Networks: tc.networks, RelayOnly: tc.relayOnly})
			open := join(demo.West, "Open", client.Config{})
			servertest.Eventually(t, "media both ways", func() error {
				if err := receivedFrom(walled, "Open", 10, 20); err != nil {
					return err
				}
				return receivedFrom(open, "Walled", 10, 20)
			})
			path, ok := walled.SelectedPath()
			if !ok {
				t.Fatal("no selected candidate pair")
			}
			t.Logf("path without UDP (%s): %s", tc.name, path)
			if path.Local.Typ != tc.local || path.Local.Protocol != tc.protocol {
				t.Fatalf("selected %s, want local %s over %s", path, tc.local, tc.protocol)
			}
			if tc.protocol == webrtc.ICEProtocolTCP && int(path.Remote.Port) != srv.MediaTCPAddr().(*net.TCPAddr).Port {
				t.Fatalf("ICE-TCP pair reaches port %d, not the server's TCP port %v", path.Remote.Port, srv.MediaTCPAddr())
			}
			if tc.relayOnly && path.RelayProtocol != "tcp" {
				t.Fatalf("relay reached over %q, want tcp", path.RelayProtocol)
			}
			if p, ok := open.SelectedPath(); !ok || p.Local.Protocol != webrtc.ICEProtocolUDP || p.Local.Typ != webrtc.ICECandidateTypeHost {
				t.Fatalf("the unrestricted client did not take the direct UDP path: %v", p)
			}
		})
	}
}
