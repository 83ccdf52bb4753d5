package api

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/trust"
)

// FuzzParseRequest: any bytes give either ErrInvalid or a request within
// every documented bound, and an accepted body's re-encoding parses to the
// same request.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(validBody))
	f.Add([]byte(`{"line":"demo","kind":"video","when":"now","duration_minutes":1}`))
	f.Add([]byte(`{"line":"demo","kind":"video","when":"now","duration_minutes":1,"x":1}`))
	f.Add([]byte(`{"line":"demo","kind":"video","when":"now","duration_minutes":720,"agenda":[],"participants":[]} `))
	f.Add([]byte(`{"participants":[{"name":"\u2028","roles":["press"]}]}`))
	f.Add([]byte(`{"line":"demo","kind":"video","when":"now","duration_minutes":30,"languages":["ru","en"],"participants":[{"name":"Ivan","roles":["interpreter"],"interprets":["ru","en"]}]}`))
	f.Add([]byte(`{"line":"demo","kind":"video","when":"now","duration_minutes":30,"languages":["ru"],"participants":[{"name":"Ivan","roles":["adviser"],"interprets":["fr"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRequest(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error without ErrInvalid: %v", err)
			}
			return
		}
		if protocol.ValidID("line", r.Line) != nil || (r.Kind != schedule.Video && r.Kind != schedule.Phone) ||
			r.When == "" || len(r.When) > schedule.MaxWhenLen ||
			r.Duration < schedule.MinDuration || r.Duration > schedule.MaxDuration || r.Duration%time.Minute != 0 ||
			len(r.Agenda) > schedule.MaxAgendaItems || len(r.Named) > MaxNamed {
			t.Fatalf("out of bounds: %+v", r)
		}
		checkNamed(t, r.Named)
		b := RequestBody{Line: r.Line, Kind: string(r.Kind), When: r.When, DurationMinutes: int64(r.Duration / time.Minute), Agenda: r.Agenda, Languages: r.Languages}
		for _, n := range r.Named {
			b.Participants = append(b.Participants, namedJSON(n))
		}
		again, err := ParseRequest(mustJSON(t, b))
		if err != nil || again.When != r.When || again.Duration != r.Duration || len(again.Named) != len(r.Named) {
			t.Fatalf("re-encoded request: %+v, %v", again, err)
		}
	})
}

// FuzzParseTransition: the same for transition bodies.
func FuzzParseTransition(f *testing.F) {
	f.Add([]byte(``))
	f.Add([]byte(`{"version":3,"participants":[{"name":"West Principal","roles":["principal"]}]}`))
	f.Add([]byte(`{"version":-3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ParseTransition(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error without ErrInvalid: %v", err)
			}
			return
		}
		if tr.Version < 0 || len(tr.Named) > MaxNamed {
			t.Fatalf("out of bounds: %+v", tr)
		}
		checkNamed(t, tr.Named)
	})
}

func checkNamed(t *testing.T, named []Person) {
	t.Helper()
	seen := map[string]bool{}
	for _, n := range named {
		if trust.ValidDisplayName(n.Name) != nil || seen[n.Name] || len(n.Roles) == 0 || len(n.Roles) > MaxRoles ||
			(len(n.Interprets) > 0 && (!slices.Contains(n.Roles, role.Interpreter) || protocol.ValidLanguages(n.Interprets) != nil)) {
			t.Fatalf("participant out of bounds: %+v", n)
		}
		seen[n.Name] = true
	}
}

func namedJSON(n Person) Participant {
	p := Participant{Name: n.Name, Interprets: n.Interprets}
	for _, r := range n.Roles {
		p.Roles = append(p.Roles, string(r))
	}
	return p
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzParseBodies: the sign-in and enrolment parsers refuse any bytes with
// ErrInvalid or give values within their bounds.
func FuzzParseBodies(f *testing.F) {
	f.Add([]byte(`{"line":"demo","credential":{"body":"e30","sig":"AA"},"nonce":"` + strings.Repeat("A", 43) + `","proof":"` + strings.Repeat("A", 86) + `"}`))
	f.Add([]byte(`{"token":"t","request":{"body":"e30","sig":"AA"}}`))
	f.Add([]byte(`{"line":"demo","request":{"body":"e30","sig":"AA"}}`))
	f.Add([]byte(`{"credential":{"body":"e30","sig":"AA"}}`))
	f.Add([]byte(`{"revocation":{"body":"e30","sig":"AA"}}`))
	f.Add([]byte(`{"line":"demo","side":"east","nonce":"` + strings.Repeat("A", 43) + `","proof":"` + strings.Repeat("A", 86) + `"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, err := ParseSignIn(data); err == nil {
			if protocol.ValidID("line", s.Line) != nil || len(s.Nonce) != trust.NonceSize || len(s.Proof) != trust.SignatureSize {
				t.Fatalf("sign-in out of bounds: %+v", s)
			}
		} else if !errors.Is(err, ErrInvalid) {
			t.Fatalf("sign-in: error without ErrInvalid: %v", err)
		}
		if e, err := ParseEnrol(data); err == nil {
			if e.Token == "" || len(e.Token) > MaxToken {
				t.Fatalf("enrol out of bounds: %+v", e)
			}
		} else if !errors.Is(err, ErrInvalid) {
			t.Fatalf("enrol: error without ErrInvalid: %v", err)
		}
		if s, err := ParseSubmit(data); err == nil {
			if protocol.ValidID("line", s.Line) != nil {
				t.Fatalf("submit out of bounds: %+v", s)
			}
		} else if !errors.Is(err, ErrInvalid) {
			t.Fatalf("submit: error without ErrInvalid: %v", err)
		}
		if _, err := ParseApprove(data); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("approve: error without ErrInvalid: %v", err)
		}
		if r, err := ParseRevocation(data); err == nil {
			if r.Revocation.Body == "" || r.Revocation.Sig == "" {
				t.Fatalf("revocation without body or sig: %+v", r)
			}
		} else if !errors.Is(err, ErrInvalid) {
			t.Fatalf("revocation: error without ErrInvalid: %v", err)
		}
		if o, err := ParseOfficerSignIn(data); err == nil {
			if protocol.ValidID("line", o.Line) != nil || trust.ValidSide(o.Side) != nil || len(o.Nonce) != trust.NonceSize || len(o.Proof) != trust.SignatureSize {
				t.Fatalf("officer sign-in out of bounds: %+v", o)
			}
		} else if !errors.Is(err, ErrInvalid) {
			t.Fatalf("officer sign-in: error without ErrInvalid: %v", err)
		}
	})
}
