package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/store"
	"hotline/internal/trust"
)

// hostile is the harness of TestHostileClients: a real server with the demo
// line, a legitimate call between the two principals that must keep
// decrypting each other's media through every attack, and the SQLite file
// whose rows must not change.
type hostile struct {
	l          *e2eeLine
	east, west *client.Client
	db         *sql.DB
	dir        string // the data folder
	// own: participants a case joined legitimately before misbehaving; their
	// own history rows are the only ones allowed to appear.
	own     []string
	ownCall []string          // calls a case opened by such a join (not "legit")
	tokens  map[string]string // API bearer tokens by who
	request string            // a call east requested before the cases
}

// TestHostileClients (THREAT_MODEL.md claims 6, 8, 10): every kind of
// hostile input over the real WebSocket and HTTP API gets a clear error
// (code and close status, or HTTP status), the legitimate call keeps
// decrypting media in both directions afterwards, and no row of the store
// changes (except the history row of a hostile client's own legitimate
// join).
func TestHostileClients(t *testing.T) {
	dir := t.TempDir()
	l := startLineWith(t, server.Config{DataDir: dir, AnswerTimeout: 8 * time.Second})
	srv := l.srv
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, store.FileName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := &hostile{l: l, db: db, dir: dir, tokens: map[string]string{}}
	h.east = l.join("legit", demo.East, "East Principal", nil)
	h.west = l.join("legit", demo.West, "West Principal", nil)
	h.progress(t, 0, 0)
	for who, r := range map[string]role.Role{"east operator": role.Operator, "east adviser": role.Adviser, "west operator": role.Operator} {
		side, _, _ := strings.Cut(who, " ")
		h.tokens[who] = h.apiSession(t, l.device(side, who, r))
	}
	var c struct {
		ID string `json:"id"`
	}
	h.api(t, "POST", "/api/calls", h.tokens["east operator"], callRequest()).decode(t, http.StatusCreated, &c)
	h.request = c.ID

	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			before := h.rows(t)
			eastSeen, westSeen := h.seen()
			tc.run(t, h)
			h.progress(t, eastSeen, westSeen)
			if after := h.rows(t); !slices.Equal(before, after) {
				gone := slices.DeleteFunc(slices.Clone(before), func(r string) bool { return slices.Contains(after, r) })
				added := slices.DeleteFunc(slices.Clone(after), func(r string) bool { return slices.Contains(before, r) })
				t.Fatalf("the store changed: rows gone %q, rows added %q", gone, added)
			}
		})
	}
	// The principals still see each other alone, with the same keys.
	servertest.Eventually(t, "the principals show the same code", func() (bool, string) {
		e, eok := h.east.Keys().Code()
		w, wok := h.west.Keys().Code()
		return eok && wok && e == w && len(h.east.Keys().Members()) == 1, fmt.Sprintf("east %q (%v), west %q (%v), east's members %d", e, eok, w, wok, len(h.east.Keys().Members()))
	})
	// Every hostile session is gone; only the principals remain.
	servertest.Eventually(t, "only the principals remain", func() (bool, string) {
		n := srv.Registry().Participants()
		return n == 2, fmt.Sprintf("%d participants", n)
	})
}

type hostileCase struct {
	name string
	run  func(t *testing.T, h *hostile)
}

func hostileCases() []hostileCase {
	// a join refused before anything is sent: code, then (if any) close status
	refusedJoin := func(mod func(t *testing.T, h *hostile, s *wsSession) any, code string, status websocket.StatusCode) func(*testing.T, *hostile) {
		return func(t *testing.T, h *hostile) {
			s := dialRaw(t, h.l)
			s.send(mod(t, h, s))
			s.awaitError(code)
			if status != 0 {
				s.awaitClose(status)
			}
		}
	}
	// Mallory's valid join of the call (an enrolled east principal), then edited
	altered := func(edit func(h *hostile, j *protocol.Join)) func(t *testing.T, h *hostile, s *wsSession) any {
		return func(t *testing.T, h *hostile, s *wsSession) any {
			dev := h.l.device(demo.East, "Mallory", role.Principal)
			j := joinMsg(dev, *dev.Credential, s.nonce, demo.Line, "legit")
			edit(h, &j)
			return j
		}
	}
	// an action refused once a device with role r has joined the call
	refusedAction := func(side, name string, r role.Role, code string, msg func(h *hostile, s *joinedSession) any) func(*testing.T, *hostile) {
		return func(t *testing.T, h *hostile) {
			s := h.joined(t, side, name, r, "legit", nil)
			s.send(msg(h, s))
			s.awaitError(code)
		}
	}
	join := func(dev *trust.Device, n []byte, call string) protocol.Join {
		return joinMsg(dev, *dev.Credential, n, demo.Line, call)
	}
	return []hostileCase{
		{"join without credential", refusedJoin(altered(func(h *hostile, j *protocol.Join) {
			j.Credential = protocol.Credential{}
		}), protocol.CodeBadMessage, 0)},
		{"forged credential signature", refusedJoin(func(t *testing.T, h *hostile, s *wsSession) any {
			dev := h.l.device(demo.East, "Mallory", role.Adviser)
			j := join(dev, s.nonce, "legit")
			sig, _ := trust.DecodeB64(j.Credential.Sig)
			sig[0] ^= 1
			j.Credential.Sig = trust.B64(sig)
			return j
		}, protocol.CodeUnauthorized, websocket.StatusPolicyViolation)},
		{"credential with roles rewritten", refusedJoin(func(t *testing.T, h *hostile, s *wsSession) any {
			dev := h.l.device(demo.East, "Mallory", role.Monitor)
			j := join(dev, s.nonce, "legit")
			body, _ := trust.DecodeB64(j.Credential.Body)
			j.Credential.Body = trust.B64(bytes.Replace(body, []byte(`"monitor"`), []byte(`"principal"`), 1))
			return j
		}, protocol.CodeUnauthorized, websocket.StatusPolicyViolation)},
		{"expired credential", refusedJoin(func(t *testing.T, h *hostile, s *wsSession) any {
			dev, cred := signed(t, h.l.srv.Demo.Authority(demo.East), demo.East, time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour))
			return joinMsg(dev, cred, s.nonce, demo.Line, "legit")
		}, protocol.CodeUnauthorized, websocket.StatusPolicyViolation)},
		{"credential not yet valid", refusedJoin(func(t *testing.T, h *hostile, s *wsSession) any {
			dev, cred := signed(t, h.l.srv.Demo.Authority(demo.East), demo.East, time.Now().Add(time.Hour), time.Now().Add(48*time.Hour))
			return joinMsg(dev, cred, s.nonce, demo.Line, "legit")
		}, protocol.CodeUnauthorized, websocket.StatusPolicyViolation)},
		{"credential of a foreign authority", refusedJoin(func(t *testing.T, h *hostile, s *wsSession) any {
			rogue, _ := trust.NewAuthority(demo.West)
			dev, cred := signed(t, rogue, demo.West, time.Now(), time.Now().Add(time.Hour))
			return joinMsg(dev, cred, s.nonce, demo.Line, "legit")
		}, protocol.CodeUnauthorized, websocket.StatusPolicyViolation)},
		{"west credential signed by east", refusedJoin(func(t *testing.T, h *hostile, s *wsSession) any {
			// east's own authority (its key read from the demo's file, as a
			// rogue officer would use it) signs a credential saying "west"
			dev := h.l.device(demo.East, "Mallory", role.Principal)
			body, _ := trust.DecodeB64(dev.Credential.Body)
			body = bytes.Replace(body, []byte(`"side":"east"`), []byte(`"side":"west"`), 1)
			cred := trust.Credential{Body: trust.B64(body), Sig: trust.B64(ed25519.Sign(h.authorityKey(t, demo.East), append([]byte("hotline-credential-v1\x00"), body...)))}
			return joinMsg(dev, cred, s.nonce, demo.Line, "legit")
		}, protocol.CodeUnauthorized, websocket.StatusPolicyViolation)},
		{"proof by another device", refusedJoin(func(t *testing.T, h *hostile, s *wsSession) any {
			victim := h.l.device(demo.West, "West Adviser", role.Adviser)
			return joinMsg(h.l.device(demo.East, "Mallory", role.Adviser), *victim.Credential, s.nonce, demo.Line, "legit")
		}, protocol.CodeUnauthorized, websocket.StatusPolicyViolation)},
		{"replayed proof", refusedJoin(func(t *testing.T, h *hostile, s *wsSession) any {
			other := dialRaw(t, h.l) // the proof is over this connection's challenge
			return join(h.l.device(demo.East, "Mallory", role.Principal), other.nonce, "legit")
		}, protocol.CodeUnauthorized, websocket.StatusPolicyViolation)},
		{"proof for another call", refusedJoin(func(t *testing.T, h *hostile, s *wsSession) any {
			j := join(h.l.device(demo.East, "Mallory", role.Principal), s.nonce, "elsewhere")
			j.Call = "legit"
			return j
		}, protocol.CodeUnauthorized, websocket.StatusPolicyViolation)},
		{"unknown line", refusedJoin(func(t *testing.T, h *hostile, s *wsSession) any {
			dev := h.l.device(demo.East, "Mallory", role.Principal)
			return joinMsg(dev, *dev.Credential, s.nonce, "nowhere", "legit")
		}, protocol.CodeUnauthorized, websocket.StatusPolicyViolation)},
		{"old protocol version", refusedJoin(altered(func(h *hostile, j *protocol.Join) {
			j.Version = 1
		}), protocol.CodeVersion, websocket.StatusPolicyViolation)},
		{"resume of another device's session", refusedJoin(altered(func(h *hostile, j *protocol.Join) {
			// an enrolled device tries to take over the east principal's session
			j.Resume = h.east.ID()
		}), protocol.CodeRefused, websocket.StatusNormalClosure)},
		{"resume of an unknown session", refusedJoin(altered(func(h *hostile, j *protocol.Join) {
			j.Resume = "0123456789abcdef"
		}), protocol.CodeRefused, websocket.StatusNormalClosure)},
		{"monitor announcing a camera", refusedJoin(func(t *testing.T, h *hostile, s *wsSession) any {
			j := join(h.l.device(demo.East, "Wall", role.Monitor), s.nonce, "legit")
			j.Tracks = []protocol.TrackInfo{{ID: "cam", Kind: protocol.KindVideo, Source: "camera"}}
			return j
		}, protocol.CodeForbidden, websocket.StatusNormalClosure)},
		{"nine tracks", refusedJoin(altered(func(h *hostile, j *protocol.Join) {
			for i := range 9 {
				j.Tracks = append(j.Tracks, protocol.TrackInfo{ID: fmt.Sprintf("m%d", i), Kind: protocol.KindAudio})
			}
		}), protocol.CodeBadMessage, 0)},
		{"duplicate track ids", refusedJoin(altered(func(h *hostile, j *protocol.Join) {
			j.Tracks = []protocol.TrackInfo{{ID: "m", Kind: protocol.KindAudio}, {ID: "m", Kind: protocol.KindAudio}}
		}), protocol.CodeBadMessage, 0)},
		{"publish before join", refusedJoin(func(t *testing.T, h *hostile, s *wsSession) any {
			return protocol.Publish{Type: protocol.TypePublish, Tracks: []protocol.TrackInfo{{ID: "m", Kind: protocol.KindAudio}}}
		}, protocol.CodeState, 0)},
		{"key before join", refusedJoin(func(t *testing.T, h *hostile, s *wsSession) any {
			return forgedKey(h.east.ID())
		}, protocol.CodeState, 0)},
		{"remove before join", refusedJoin(func(t *testing.T, h *hostile, s *wsSession) any {
			return protocol.ParticipantAction{Type: protocol.TypeRemove, Participant: h.west.ID()}
		}, protocol.CodeState, 0)},
		{"not JSON", func(t *testing.T, h *hostile) {
			s := dialRaw(t, h.l)
			s.raw(websocket.MessageText, []byte("join me, please"))
			s.awaitError(protocol.CodeBadMessage)
		}},
		{"unknown message type", func(t *testing.T, h *hostile) {
			s := dialRaw(t, h.l)
			s.raw(websocket.MessageText, []byte(`{"type":"become_admin"}`))
			s.awaitError(protocol.CodeBadMessage)
		}},
		{"unknown field", func(t *testing.T, h *hostile) {
			s := dialRaw(t, h.l)
			j, _ := json.Marshal(join(h.l.device(demo.East, "Mallory", role.Principal), s.nonce, "legit"))
			s.raw(websocket.MessageText, append(j[:len(j)-1], []byte(`,"roles":["principal"]}`)...))
			s.awaitError(protocol.CodeBadMessage)
		}},
		{"deeply nested JSON", func(t *testing.T, h *hostile) {
			s := dialRaw(t, h.l)
			const depth = 60000 // within the 128 KiB bound
			msg := `{"type":"join","tracks":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`
			s.raw(websocket.MessageText, []byte(msg))
			s.awaitError(protocol.CodeBadMessage)
		}},
		{"oversize message", func(t *testing.T, h *hostile) {
			s := dialRaw(t, h.l)
			s.raw(websocket.MessageText, []byte(`{"type":"join","call":"`+strings.Repeat("x", protocol.MaxMessageBytes)+`"}`))
			s.awaitClose(websocket.StatusMessageTooBig)
		}},
		{"binary frame", func(t *testing.T, h *hostile) {
			s := dialRaw(t, h.l)
			s.raw(websocket.MessageBinary, []byte{0, 1, 2, 3})
			s.awaitClose(websocket.StatusUnsupportedData)
		}},
		{"cross-origin upgrade", func(t *testing.T, h *hostile) {
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			_, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.l.srv.URL(), "http")+"/ws",
				&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
			if err == nil || res == nil || res.StatusCode != http.StatusForbidden {
				t.Fatalf("cross-origin upgrade: %v, %+v; want 403", err, res)
			}
		}},
		{"flood of joins", func(t *testing.T, h *hostile) {
			// 40 connections at once, each with a join whose proof is not
			// over its own challenge: every one refused, none admitted.
			dev := h.l.device(demo.East, "Mallory", role.Principal)
			var wg sync.WaitGroup
			errs := make(chan error, 40)
			for range 40 {
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(context.Background(), patience)
					defer cancel()
					c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.l.srv.URL(), "http")+"/ws", nil)
					if err != nil {
						errs <- err
						return
					}
					defer c.CloseNow()
					if _, _, err := c.Read(ctx); err != nil { // the challenge
						errs <- err
						return
					}
					data, _ := json.Marshal(join(dev, make([]byte, 32), "legit"))
					if err := c.Write(ctx, websocket.MessageText, data); err != nil {
						errs <- err
						return
					}
					_, data, err = c.Read(ctx)
					m, _ := protocol.DecodeServer(data)
					if e, ok := m.(*protocol.ErrorMsg); err != nil || !ok || e.Code != protocol.CodeUnauthorized {
						errs <- fmt.Errorf("answer %s, %v", data, err)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		}},
		{"second join", refusedAction(demo.East, "East Operator", role.Operator, protocol.CodeState, func(h *hostile, s *joinedSession) any {
			return join(h.l.device(demo.East, "East Operator 2", role.Operator), s.nonce, "legit")
		})},
		{"answer without offer", refusedAction(demo.East, "East Operator", role.Operator, protocol.CodeState, func(h *hostile, s *joinedSession) any {
			return protocol.SDP{Type: protocol.TypeAnswer, SDP: "v=0\r\n"}
		})},
		{"key to a non-member", refusedAction(demo.East, "East Operator", role.Operator, protocol.CodeRefused, func(h *hostile, s *joinedSession) any {
			return forgedKey("0123456789abcdef")
		})},
		{"unpublish of another's track", refusedAction(demo.East, "East Operator", role.Operator, protocol.CodeRefused, func(h *hostile, s *joinedSession) any {
			return protocol.Unpublish{Type: protocol.TypeUnpublish, Track: "mic"}
		})},
		{"remove of the other side's principal", refusedAction(demo.East, "East Operator", role.Operator, protocol.CodeForbidden, func(h *hostile, s *joinedSession) any {
			return protocol.ParticipantAction{Type: protocol.TypeRemove, Participant: h.west.ID()}
		})},
		{"send-out of the other side's principal", refusedAction(demo.West, "West Operator", role.Operator, protocol.CodeForbidden, func(h *hostile, s *joinedSession) any {
			return protocol.ParticipantAction{Type: protocol.TypeSendOut, Participant: h.east.ID()}
		})},
		{"adviser admits itself", refusedAction(demo.East, "East Adviser", role.Adviser, protocol.CodeForbidden, func(h *hostile, s *joinedSession) any {
			return protocol.ParticipantAction{Type: protocol.TypeAdmit, Participant: s.id}
		})},
		{"adviser removes a principal", refusedAction(demo.East, "East Adviser", role.Adviser, protocol.CodeForbidden, func(h *hostile, s *joinedSession) any {
			return protocol.ParticipantAction{Type: protocol.TypeRemove, Participant: h.east.ID()}
		})},
		{"publish of video by an interpreter", refusedAction(demo.East, "East Interpreter", role.Interpreter, protocol.CodeForbidden, func(h *hostile, s *joinedSession) any {
			return protocol.Publish{Type: protocol.TypePublish, Tracks: []protocol.TrackInfo{{ID: "cam", Kind: protocol.KindVideo, Source: "camera"}}}
		})},
		{"flood of messages", func(t *testing.T, h *hostile) {
			// far past the burst of 100: rate_limited, then closed (1008)
			s := h.joined(t, demo.East, "East Operator", role.Operator, "legit", nil)
			msg, _ := json.Marshal(protocol.Unpublish{Type: protocol.TypeUnpublish, Track: "nothing"})
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			for range 400 {
				if s.c.Write(ctx, websocket.MessageText, msg) != nil {
					break // closed already
				}
			}
			for { // each unpublish is refused until the limit is reached
				if e, ok := s.read().(*protocol.ErrorMsg); ok && e.Code != protocol.CodeRefused {
					if e.Code != protocol.CodeRateLimited {
						t.Fatalf("error %+v, want rate_limited", e)
					}
					t.Logf("%s: %s", e.Code, e.Message)
					break
				}
			}
			s.awaitClose(websocket.StatusPolicyViolation)
		}},
		{"slow client never answering", func(t *testing.T, h *hostile) {
			// A client that announces a track and never answers the offer
			// is told so and dropped (1011).
			s := h.joined(t, demo.East, "East Slow", role.Principal, "slow", []protocol.TrackInfo{{ID: "mic", Kind: protocol.KindAudio}})
			s.awaitErrorRef(protocol.CodeState, protocol.TypeOffer)
			s.awaitClose(websocket.StatusInternalError)
		}},
		{"slow client never finishing its upgrade", func(t *testing.T, h *hostile) {
			// Headers that never end (slowloris): the server gives up on
			// them (ReadHeaderTimeout) and closes the connection; a request
			// that never arrived reached nothing.
			u, err := url.Parse(h.l.srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			conn, err := net.Dial("tcp", u.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: "+u.Host+"\r\nUpgrade: websocket\r\n"); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(patience))
			got, err := io.ReadAll(conn)
			if err != nil {
				t.Fatalf("the server kept a half-sent request open: %v (read %q)", err, got)
			}
			if len(got) > 0 && !bytes.HasPrefix(got, []byte("HTTP/1.1 408")) {
				t.Fatalf("answer %q, want the connection closed (or 408)", got)
			}
			t.Logf("closed by the server after %q", got)
		}},

		// The HTTP API.
		{"API without a token", func(t *testing.T, h *hostile) {
			h.api(t, "GET", "/api/calls", "", nil).refused(t, http.StatusUnauthorized)
		}},
		{"API with a forged token", func(t *testing.T, h *hostile) {
			h.api(t, "GET", "/api/calls", base64.RawURLEncoding.EncodeToString(make([]byte, 32)), nil).refused(t, http.StatusUnauthorized)
		}},
		{"API session with a replayed nonce", func(t *testing.T, h *hostile) {
			dev := h.l.device(demo.East, "East Operator", role.Operator)
			body := h.sessionBody(t, dev)
			h.api(t, "POST", "/api/session", "", body).decode(t, http.StatusOK, &struct{}{})
			h.api(t, "POST", "/api/session", "", body).refused(t, http.StatusUnauthorized)
		}},
		{"API session with a forged credential", func(t *testing.T, h *hostile) {
			rogue, _ := trust.NewAuthority(demo.East)
			dev, cred := signed(t, rogue, demo.East, time.Now(), time.Now().Add(time.Hour))
			dev.Credential = &cred
			h.api(t, "POST", "/api/session", "", h.sessionBody(t, dev)).refused(t, http.StatusUnauthorized)
		}},
		{"API body over 64 KiB", func(t *testing.T, h *hostile) {
			b := callRequest()
			b["agenda"] = []string{strings.Repeat("x", 70000)}
			h.api(t, "POST", "/api/calls", h.tokens["east operator"], b).refused(t, http.StatusRequestEntityTooLarge)
		}},
		{"API deeply nested JSON", func(t *testing.T, h *hostile) {
			body := `{"line":"demo","agenda":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`
			h.api(t, "POST", "/api/calls", h.tokens["east operator"], body).refused(t, http.StatusBadRequest)
		}},
		{"API form post", func(t *testing.T, h *hostile) {
			req, _ := http.NewRequest("POST", h.l.srv.URL()+"/api/calls", strings.NewReader("line=demo&kind=video"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+h.tokens["east operator"])
			h.send(t, req).refused(t, http.StatusUnsupportedMediaType)
		}},
		{"API request by an adviser", func(t *testing.T, h *hostile) {
			h.api(t, "POST", "/api/calls", h.tokens["east adviser"], callRequest()).refused(t, http.StatusForbidden)
		}},
		{"API accept of one's own side's request", func(t *testing.T, h *hostile) {
			h.api(t, "POST", "/api/calls/"+h.request+"/accept", h.tokens["east operator"], nil).refused(t, http.StatusForbidden)
		}},
		{"API cancel by the other side", func(t *testing.T, h *hostile) {
			h.api(t, "POST", "/api/calls/"+h.request+"/cancel", h.tokens["west operator"], nil).refused(t, http.StatusForbidden)
		}},
		{"API start of a requested call", func(t *testing.T, h *hostile) {
			h.api(t, "POST", "/api/calls/"+h.request+"/start", h.tokens["west operator"], nil).refused(t, http.StatusConflict)
		}},
		{"API transition of an unknown call", func(t *testing.T, h *hostile) {
			h.api(t, "POST", "/api/calls/c-aaaaaaaaaaaa/accept", h.tokens["west operator"], nil).refused(t, http.StatusNotFound)
		}},
		{"enrolment with an unknown token", func(t *testing.T, h *hostile) {
			dev, _ := trust.NewDevice()
			req, _ := dev.Request(demo.East, "Mallory", []role.Role{role.Principal}, time.Now())
			h.api(t, "POST", "/api/enrol", "", map[string]any{"token": "bm90LWEtdG9rZW4", "request": req}).refused(t, http.StatusNotFound)
		}},
		{"approval of an unknown request", func(t *testing.T, h *hostile) {
			rogue, _ := trust.NewAuthority(demo.East)
			_, cred := signed(t, rogue, demo.East, time.Now(), time.Now().Add(time.Hour))
			h.api(t, "POST", "/api/requests/r-unknown/credential", "", map[string]any{"credential": cred}).refused(t, http.StatusNotFound)
		}},
	}
}

// --- raw WebSocket ---

func (s *wsSession) raw(typ websocket.MessageType, data []byte) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := s.c.Write(ctx, typ, data); err != nil {
		s.t.Fatal(err)
	}
}

// awaitError reads until an error message comes; it must have code.
func (s *wsSession) awaitError(code string) { s.t.Helper(); s.awaitErrorRef(code, "") }

func (s *wsSession) awaitErrorRef(code, ref string) {
	s.t.Helper()
	for {
		msg := s.read()
		e, ok := msg.(*protocol.ErrorMsg)
		if !ok {
			continue // roster, offer, ... sent before
		}
		if e.Code != code || e.Message == "" || (ref != "" && e.Ref != ref) {
			s.t.Fatalf("error %+v, want code %q ref %q with a message", e, code, ref)
		}
		s.t.Logf("%s: %s", e.Code, e.Message)
		return
	}
}

// awaitClose reads until the server closes the socket with status.
func (s *wsSession) awaitClose(status websocket.StatusCode) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	for {
		_, _, err := s.c.Read(ctx)
		if err == nil {
			continue
		}
		if got := websocket.CloseStatus(err); got != status {
			s.t.Fatalf("connection ended with %v (status %d), want %d", err, got, status)
		}
		return
	}
}

// joinedSession is a raw socket that has joined as participant id.
type joinedSession struct {
	*wsSession
	id string
}

// joined enrols a device with role r and joins call with it over a raw
// socket: a legitimate join (its history row is its own) before the case
// misbehaves.
func (h *hostile) joined(t *testing.T, side, name string, r role.Role, call string, tracks []protocol.TrackInfo) *joinedSession {
	t.Helper()
	s := &joinedSession{wsSession: dialRaw(t, h.l)}
	dev := h.l.device(side, name, r)
	j := joinMsg(dev, *dev.Credential, s.nonce, demo.Line, call)
	if tracks != nil {
		j.Tracks = tracks
	}
	s.send(j)
	for {
		switch m := s.read().(type) {
		case *protocol.Welcome:
			s.id = m.ID
			h.own = append(h.own, m.ID)
			if call != "legit" && !slices.Contains(h.ownCall, call) {
				h.ownCall = append(h.ownCall, call)
			}
			return s
		case *protocol.ErrorMsg:
			t.Fatalf("legitimate join refused: %+v", m)
		}
	}
}

// forgedKey is a key message no member sealed.
func forgedKey(to string) protocol.Key {
	return protocol.Key{Type: protocol.TypeKey, To: to, KID: 1 << 16,
		Sealed: trust.B64(make([]byte, 1152)), Sig: trust.B64(make([]byte, 64))}
}

// signed is a device whose credential the authority a signed for side with
// these validity times.
func signed(t *testing.T, a *trust.Authority, side string, issued, expires time.Time) (*trust.Device, trust.Credential) {
	t.Helper()
	dev, err := trust.NewDevice()
	if err != nil {
		t.Fatal(err)
	}
	req, err := dev.Request(side, "Mallory", []role.Role{role.Principal}, issued)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := a.Sign(req, issued, expires)
	if err != nil {
		t.Fatal(err)
	}
	return dev, cred
}

// authorityKey is a demo authority's private key, read from its file in
// the data folder.
func (h *hostile) authorityKey(t *testing.T, side string) ed25519.PrivateKey {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.dir, "demo", "authority-"+side+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	seed, err := trust.DecodeB64(f.PrivateKey)
	if err != nil || len(seed) != ed25519.SeedSize {
		t.Fatalf("authority file of %s: %v", side, err)
	}
	return ed25519.NewKeyFromSeed(seed)
}

// --- the legitimate call ---

// seen: frames each principal has decrypted from the other so far.
func (h *hostile) seen() (east, west uint64) {
	v, a := decryptedFrom(h.east, h.west.ID())
	east = v + a
	v, a = decryptedFrom(h.west, h.east.ID())
	return east, v + a
}

// progress waits until each principal has decrypted at least 20 more of the
// other's frames than it had: the call is still served.
func (h *hostile) progress(t *testing.T, east, west uint64) {
	t.Helper()
	servertest.Eventually(t, "the legitimate call carries media", func() (bool, string) {
		e, w := h.seen()
		return e >= east+20 && w >= west+20, fmt.Sprintf("east decrypted %d (from %d), west %d (from %d)", e, east, w, west)
	})
}

// --- the store ---

// rows is every row of every table, as text, in a stable order; the rows
// naming a participant a case joined legitimately (its attendance) are
// left out.
func (h *hostile) rows(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	tables, err := h.db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	tables.Close()
	if len(names) < 5 {
		t.Fatalf("only tables %v", names)
	}
	var out []string
	for _, n := range names {
		rs, err := h.db.QueryContext(ctx, `SELECT * FROM "`+n+`"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			row := fmt.Sprintf("%s%v", n, vals)
			if slices.ContainsFunc(h.own, func(id string) bool { return strings.Contains(row, " "+id+" ") }) {
				continue // the attendance of a client's own legitimate join
			}
			if n == "record_entries" && h.ownEntry(row) {
				continue // the call record of such a join: it joined, left, opened a call
			}
			out = append(out, row)
		}
		rs.Close()
	}
	slices.Sort(out)
	return out
}

// ownEntry: a call record row (internal/audit) of a case's own legitimate
// join: the member's joined, moved and left entries, and the opening and
// closing of a call only such joins used.
func (h *hostile) ownEntry(row string) bool {
	if slices.ContainsFunc(h.own, func(id string) bool { return strings.Contains(row, `"participant":"`+id+`"`) }) {
		return true
	}
	return slices.ContainsFunc(h.ownCall, func(c string) bool {
		return strings.Contains(row, `"call":"`+c+`"`) && (strings.Contains(row, `"kind":"opened"`) || strings.Contains(row, `"kind":"closed"`))
	})
}

// --- HTTP ---

type answer struct {
	status int
	body   []byte
}

func (h *hostile) api(t *testing.T, method, path, token string, body any) answer {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, h.l.srv.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return h.send(t, req)
}

func (h *hostile) send(t *testing.T, req *http.Request) answer {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{res.StatusCode, data}
}

func (a answer) decode(t *testing.T, status int, v any) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("%v: %s", err, a.body)
	}
}

// refused: the status, and a JSON error that says something.
func (a answer) refused(t *testing.T, status int) {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if a.status != status || json.Unmarshal(a.body, &e) != nil || e.Error == "" {
		t.Fatalf("%d %s, want %d with an error", a.status, a.body, status)
	}
	t.Logf("%d: %s", a.status, e.Error)
}

// serverName is the name a session proof to this server signs: the host
// and port of its URL.
func (h *hostile) serverName() string {
	return trust.ServerName(strings.TrimPrefix(h.l.srv.URL(), "http://"), false)
}

func (h *hostile) sessionBody(t *testing.T, dev *trust.Device) map[string]any {
	t.Helper()
	var c struct {
		Nonce string `json:"nonce"`
	}
	h.api(t, "POST", "/api/session/challenge", "", nil).decode(t, http.StatusOK, &c)
	nonce, err := trust.DecodeB64(c.Nonce)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"line": demo.Line, "credential": dev.Credential, "nonce": c.Nonce,
		"proof": trust.B64(dev.SessionProof(nonce, h.serverName(), demo.Line))}
}

func (h *hostile) apiSession(t *testing.T, dev *trust.Device) string {
	t.Helper()
	var s struct {
		Token string `json:"token"`
	}
	h.api(t, "POST", "/api/session", "", h.sessionBody(t, dev)).decode(t, http.StatusOK, &s)
	return s.Token
}

func callRequest() map[string]any {
	return map[string]any{
		"line": demo.Line, "kind": "video", "when": "at 18:00 Europe/Moscow", "duration_minutes": 120,
		"agenda":       []string{"Opening"},
		"participants": []map[string]any{{"name": "East Principal", "roles": []string{"principal"}}},
	}
}
