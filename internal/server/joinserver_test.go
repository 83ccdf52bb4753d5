package server_test

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/server"
	"hotline/internal/trust"
)

// TestJoinProofServerName (docs/PROTOCOL.md, "Join"; docs/THREAT_MODEL.md,
// claim 6): a join proof signs the name the client dialled, and the server
// accepts only a proof for the name it was reached by, when that is one of
// its own. A server that relays this server's challenge to its own clients
// gets proofs for its own name (or its own address), which are refused;
// the proof for this server's name, by address or by name, joins.
func TestJoinProofServerName(t *testing.T) {
	srv := startServer(t, server.Config{})
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL(), "http://")
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	dev := demoDevice(t, srv, "Dialler")
	// join dials with the Host header host, signs for signed and reports
	// whether it was welcomed (else the error code it got).
	join := func(host, signed, call string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", &websocket.DialOptions{Host: host})
		if err != nil {
			t.Fatalf("dial with Host %s: %v", host, err)
		}
		defer c.CloseNow()
		c.SetReadLimit(protocol.MaxMessageBytes)
		ch, ok := readMsg(t, ctx, c).(*protocol.Challenge)
		if !ok {
			t.Fatal("first message is not a challenge")
		}
		nonce, err := trust.DecodeB64(ch.Nonce)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(protocol.Join{
			Type: protocol.TypeJoin, Version: protocol.Version, Line: demo.Line, Call: call,
			Credential: protocol.Credential{Body: dev.Credential.Body, Sig: dev.Credential.Sig},
			Proof:      trust.B64(trust.JoinProof(dev.SigPrivate(), nonce, signed, demo.Line, call)),
			Tracks:     []protocol.TrackInfo{},
		})
		write(t, ctx, c, string(data))
		switch m := readMsg(t, ctx, c).(type) {
		case *protocol.Welcome:
			return "welcome"
		case *protocol.ErrorMsg:
			return m.Code
		default:
			t.Fatalf("answer to the join: %T", m)
			return ""
		}
	}
	for _, c := range []struct{ name, host, signed, want string }{
		{"this server, by address", addr, addr, "welcome"},
		{"this server, by name, in upper case", "LocalHost:" + port, "localhost:" + port, "welcome"},
		{"a relay's name signed", addr, "relay.example:" + port, protocol.CodeUnauthorized},
		{"this server's name on another port", addr, "127.0.0.1:1", protocol.CodeUnauthorized},
		{"a relay's address, as the Host too", "192.0.2.7:" + port, "192.0.2.7:" + port, protocol.CodeUnauthorized},
	} {
		if got := join(c.host, c.signed, "named"); got != c.want {
			t.Errorf("%s (Host %s, proof for %q): %s, want %s", c.name, c.host, c.signed, got, c.want)
		}
	}
}
