package resilience

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/coder/websocket"

	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/tier"
	"hotline/internal/trust"
)

// TestResumeRefused: a join with "resume" naming no session, or another
// device's session, is refused (refused, then the socket closes with 1000)
// and changes nothing: the named session goes on, nobody joins.
func TestResumeRefused(t *testing.T) {
	tier.Integration(t)
	s := startSite(t)
	bob := s.attend("guarded", "Bob")
	eventually(t, "Bob joined", func() error {
		if bob.Client() == nil {
			return errString("not yet")
		}
		return nil
	})
	carol := s.device("Carol")
	for name, id := range map[string]string{"an unknown session": "0123456789abcdef", "another device's session": bob.Client().ID()} {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		conn, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		var ch protocol.Challenge
		_, data, err := conn.Read(ctx)
		if err != nil || json.Unmarshal(data, &ch) != nil {
			t.Fatalf("challenge: %v %s", err, data)
		}
		nonce, _ := trust.DecodeB64(ch.Nonce)
		join := protocol.Join{Type: protocol.TypeJoin, Version: protocol.Version, Line: demo.Line, Call: "guarded",
			Credential: protocol.Credential{Body: carol.Credential.Body, Sig: carol.Credential.Sig},
			Proof:      trust.B64(trust.JoinProof(carol.SigPrivate(), nonce, trust.ServerName(s.addr, false), demo.Line, "guarded")),
			Tracks:     []protocol.TrackInfo{}, Resume: id}
		msg, _ := json.Marshal(join)
		if err := conn.Write(ctx, websocket.MessageText, msg); err != nil {
			t.Fatal(err)
		}
		var e protocol.ErrorMsg
		_, data, err = conn.Read(ctx)
		if err != nil || json.Unmarshal(data, &e) != nil || e.Code != protocol.CodeRefused {
			t.Errorf("%s: answered %s (%v), want refused", name, data, err)
		}
		if _, _, err := conn.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
			t.Errorf("%s: then %v, want a normal closure", name, err)
		}
		cancel()
	}
	if r := bob.Client().Roster(); len(r) != 1 || bob.Joins() != 1 || bob.Client().Resumes() != 0 {
		t.Errorf("the refusals changed something: roster %d, joins %d", len(r), bob.Joins())
	}
}
