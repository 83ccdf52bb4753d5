package server_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/trust"
)

// wsSession is a raw signalling connection that has read its challenge.
type wsSession struct {
	t     *testing.T
	c     *websocket.Conn
	nonce []byte
}

func dialRaw(t *testing.T, l *e2eeLine) *wsSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+l.srv.URL()[len("http"):]+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	s := &wsSession{t: t, c: c}
	msg := s.read()
	ch, ok := msg.(*protocol.Challenge)
	if !ok {
		t.Fatalf("first message %T, want a challenge", msg)
	}
	if s.nonce, err = trust.DecodeB64(ch.Nonce); err != nil || len(s.nonce) != 32 {
		t.Fatalf("nonce %q: %v", ch.Nonce, err)
	}
	issuedBy(s.nonce, l.srv.URL())
	return s
}

func (s *wsSession) read() any {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	_, data, err := s.c.Read(ctx)
	if err != nil {
		s.t.Fatalf("read: %v", err)
	}
	msg, err := protocol.DecodeServer(data)
	if err != nil {
		s.t.Fatalf("decode %s: %v", data, err)
	}
	return msg
}

func (s *wsSession) send(v any) {
	s.t.Helper()
	data, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := s.c.Write(ctx, websocket.MessageText, data); err != nil {
		s.t.Fatal(err)
	}
}

func joinMsg(dev *trust.Device, cred trust.Credential, nonce []byte, line, callName string) protocol.Join {
	return protocol.Join{
		Type: protocol.TypeJoin, Version: protocol.Version, Line: line, Call: callName,
		Credential: protocol.Credential{Body: cred.Body, Sig: cred.Sig},
		Proof:      trust.B64(trust.JoinProof(dev.SigPrivate(), nonce, serverOf(nonce), line, callName)),
		Tracks:     []protocol.TrackInfo{},
	}
}

// TestJoinRefusals (THREAT_MODEL.md, "unauthenticated or unenrolled clients
// are refused before they get anything"): each bad join is answered with
// "unauthorized" (or "bad_message" when the credential is missing
// altogether), the socket is closed with 1008, the client got nothing but
// its challenge, and nothing is stored.
func TestJoinRefusals(t *testing.T) {
	l := startE2EELine(t)
	now := time.Now()
	good := l.device(demo.East, "Alice")
	expiredDev, expired := signed(t, l.srv.Demo.Authority(demo.East), demo.East, now.Add(-48*time.Hour), now.Add(-time.Hour))
	rogue, _ := trust.NewAuthority(demo.West)
	foreignDev, foreign := signed(t, rogue, demo.West, now, now.Add(time.Hour))
	other := l.device(demo.West, "Bob")

	// A proof made on another connection: its challenge is not this one's.
	first := dialRaw(t, l)
	replayed := joinMsg(good, *good.Credential, first.nonce, demo.Line, "x")

	cases := []struct {
		name string
		msg  func(nonce []byte) any
		code string
	}{
		{"no credential", func(n []byte) any {
			j := joinMsg(good, *good.Credential, n, demo.Line, "x")
			j.Credential = protocol.Credential{}
			return j
		}, protocol.CodeBadMessage},
		{"expired credential", func(n []byte) any { return joinMsg(expiredDev, expired, n, demo.Line, "x") }, protocol.CodeUnauthorized},
		{"foreign authority", func(n []byte) any { return joinMsg(foreignDev, foreign, n, demo.Line, "x") }, protocol.CodeUnauthorized},
		{"proof by another device", func(n []byte) any {
			j := joinMsg(other, *good.Credential, n, demo.Line, "x") // Alice's credential, Bob's signature
			return j
		}, protocol.CodeUnauthorized},
		{"proof for another call", func(n []byte) any {
			j := joinMsg(good, *good.Credential, n, demo.Line, "y")
			j.Call = "x"
			return j
		}, protocol.CodeUnauthorized},
		{"replayed challenge", func([]byte) any { return replayed }, protocol.CodeUnauthorized},
		{"unknown line", func(n []byte) any { return joinMsg(good, *good.Credential, n, "nowhere", "x") }, protocol.CodeUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := dialRaw(t, l)
			s.send(tc.msg(s.nonce))
			msg := s.read()
			em, ok := msg.(*protocol.ErrorMsg)
			if !ok {
				t.Fatalf("got %T %+v, want an error", msg, msg)
			}
			if em.Code != tc.code || em.Message == "" {
				t.Fatalf("error %+v, want code %s", em, tc.code)
			}
			t.Logf("%s: %s", em.Code, em.Message)
			if tc.code == protocol.CodeUnauthorized {
				ctx, cancel := context.WithTimeout(context.Background(), patience)
				defer cancel()
				_, _, err := s.c.Read(ctx)
				if st := websocket.CloseStatus(err); st != websocket.StatusPolicyViolation {
					t.Fatalf("after the refusal: %v, want close 1008", err)
				}
			}
		})
	}
	if n := l.srv.Registry().Participants(); n != 0 {
		t.Fatalf("%d participants after refusals", n)
	}
	h, err := l.srv.Store().Attendance(context.Background(), demo.Line+"/x", 10)
	if err != nil || len(h) != 0 {
		t.Fatalf("history after refusals: %v, %v", h, err)
	}

	// The honest join on the first connection still works: its challenge
	// was not consumed by the replay elsewhere.
	first.send(joinMsg(good, *good.Credential, first.nonce, demo.Line, "x"))
	if w, ok := first.read().(*protocol.Welcome); !ok || w.Line != demo.Line {
		t.Fatalf("honest join not welcomed: %+v", w)
	}
}
