package audit_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"hotline/internal/audit"
	"hotline/internal/role"
	"hotline/internal/trust"
)

// chain builds an export of n entries of line "demo".
func chain(t testing.TB, n int) audit.Export {
	x := audit.Export{Record: 1, Line: "demo"}
	var seq uint64
	var prev []byte
	for i := range n {
		e, enc, h, err := audit.Link(audit.Entry{Line: "demo", At: int64(1795000000000 + i), Kind: audit.Joined, Call: "c-1", Name: "Zoë <b>&", To: "in"}, seq, prev)
		if err != nil {
			t.Fatal(err)
		}
		x.Entries = append(x.Entries, string(enc))
		seq, prev = e.Seq, h
	}
	return x
}

// TestEntryEncoding: the canonical encoding is what PROTOCOL.md shows, and
// a non-canonical spelling of the same entry is refused.
func TestEntryEncoding(t *testing.T) {
	x := chain(t, 1)
	want := `{"v":1,"line":"demo","seq":1,"prev":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","at":1795000000000,"kind":"joined","call":"c-1","name":"Zoë <b>&","to":"in"}`
	if x.Entries[0] != want {
		t.Fatalf("encoding\n%s\nwant\n%s", x.Entries[0], want)
	}
	for _, bad := range []string{
		`{"line":"demo","v":1,"seq":1,"prev":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","at":1795000000000,"kind":"joined"}`,
		`{"v":1,"line":"demo","seq":1,"prev":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","at":1795000000000,"kind":"joined","name":""}`,
		`{"v":1,"line":"demo","seq":1,"prev":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","at":1795000000000,"kind":"jumped"}`,
		`{"v":1,"line":"demo","seq":1,"prev":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","at":1795000000000, "kind":"joined"}`,
		`{"v":1,"line":"demo","seq":1,"prev":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","at":1795000000000,"kind":"witness"}`,
	} {
		if _, err := audit.Parse([]byte(bad)); !errors.Is(err, audit.ErrMalformed) {
			t.Errorf("%s: %v, want malformed", bad, err)
		}
	}
}

// TestVerifyFindsTheRow: an edited, deleted or swapped entry breaks the
// chain at its row.
func TestVerifyFindsTheRow(t *testing.T) {
	if _, err := audit.Verify(chain(t, 6), nil, nil); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(x *audit.Export){
		"edited":  func(x *audit.Export) { x.Entries[2] = x.Entries[2][:len(x.Entries[2])-2] + `x"}` },
		"deleted": func(x *audit.Export) { x.Entries = append(x.Entries[:2:2], x.Entries[3:]...) },
		"swapped": func(x *audit.Export) { x.Entries[2], x.Entries[3] = x.Entries[3], x.Entries[2] },
	}
	for what, change := range cases {
		x := chain(t, 6)
		change(&x)
		var b *audit.Break
		if _, err := audit.Verify(x, nil, nil); !errors.As(err, &b) || b.Seq != 3 {
			t.Errorf("%s: %v, want a break at 3", what, err)
		}
	}
}

// TestSignedHead: a head verifies against the pins, a tampered one does not.
func TestSignedHead(t *testing.T) {
	auth, err := trust.NewAuthority("east")
	if err != nil {
		t.Fatal(err)
	}
	dev, err := trust.NewDevice()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	req, _ := dev.Request("east", "Olga", []role.Role{role.Operator}, now)
	cred, err := auth.Sign(req, now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dev.Credential, dev.Pins = &cred, []trust.Pin{auth.Pin()}
	x := chain(t, 3)
	rep, err := audit.Verify(x, dev.Pins, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := audit.HeadBody{V: 1, Line: "demo", Seq: 3, Hash: trust.B64(rep.Hash), Signed: now.Unix()}
	s, err := audit.Sign(dev, audit.LabelHead, &h)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := audit.Verify(x, dev.Pins, []audit.Signed{s}); err != nil || len(rep.Heads) != 1 || rep.Heads[0].Code != rep.Code {
		t.Fatalf("%+v %v", rep, err)
	}
	if _, err := audit.Verify(chain(t, 2), dev.Pins, []audit.Signed{s}); !errors.Is(err, audit.ErrMismatch) {
		t.Fatalf("a shorter record: %v", err)
	}
	bad := s
	bad.Body = trust.B64([]byte(`{"v":1,"line":"demo","seq":2,"hash":"` + h.Hash + `","signed":` + strconv.FormatInt(now.Unix(), 10) + `}`))
	if _, _, err := audit.OpenHead(bad, dev.Pins); !errors.Is(err, audit.ErrBadSignature) {
		t.Fatalf("a changed body: %v", err)
	}
}

func FuzzParseExport(f *testing.F) {
	good, _ := json.Marshal(chain(f, 3))
	f.Add(good)
	f.Add([]byte(`{"hotline_record":1,"line":"x","entries":["{}"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := audit.ParseExport(data)
		if err != nil {
			return
		}
		_, _ = audit.Verify(x, nil, nil)
	})
}

func FuzzParseEntry(f *testing.F) {
	f.Add([]byte(chain(f, 1).Entries[0]))
	f.Add([]byte(`{"v":1,"line":"demo","seq":1,"prev":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","at":1,"kind":"probe","call":"probe-1","side":"east","device":"d","ok":false,"report":{"credential":{"body":"e30","sig":"AA"},"body":"e30","sig":"AA"}}`))
	f.Add([]byte(`{"v":1,"line":"demo","seq":1,"prev":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","at":1,"kind":"segment","call":"c-1","to":"public","marker":{"line":"demo","call":"c-1","segment":"public","seq":1,"at":1,"credential":{"body":"e30","sig":"AA"},"sig":"AA"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := audit.Parse(data)
		if err != nil {
			return
		}
		// What parses re-encodes to the same bytes (canonical).
		b, err := audit.Encode(e)
		if err != nil || string(b) != string(data) {
			t.Fatalf("re-encoding %q gives %q, %v", data, b, err)
		}
	})
}

func FuzzParseSigned(f *testing.F) {
	f.Add([]byte(`{"credential":{"body":"e30","sig":"AA"},"body":"e30","sig":"AA"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := audit.ParseSigned(data)
		if err != nil {
			return
		}
		_, _, _ = audit.OpenHead(s, nil)
		_, _, _ = audit.OpenWitness(s, nil)
	})
}
