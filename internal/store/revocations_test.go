package store

import (
	"context"
	"errors"
	"testing"
)

// TestRevocationSerial: a side's stored list is replaced only by a higher
// serial; a refused one changes nothing; the list survives a reopen.
func TestRevocationSerial(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, side := range []Side{{Name: "east", AuthorityKey: []byte("E")}, {Name: "west", AuthorityKey: []byte("W")}} {
		if err := s.AddSide(ctx, side); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddLine(ctx, "demo", "east", "west"); err != nil {
		t.Fatal(err)
	}
	put := func(serial int64, body string) error {
		return s.PutRevocation(ctx, Revocation{Line: "demo", Side: "east", Serial: serial, Body: body, Sig: "s"})
	}
	if err := put(2, "two"); err != nil {
		t.Fatal(err)
	}
	for _, serial := range []int64{2, 1} {
		if err := put(serial, "older"); !errors.Is(err, ErrStaleSerial) {
			t.Fatalf("serial %d: %v, want ErrStaleSerial", serial, err)
		}
	}
	if err := put(3, "three"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRevocation(ctx, Revocation{Line: "nowhere", Side: "east", Serial: 1, Body: "b", Sig: "s"}); err == nil {
		t.Fatal("a list for an unknown line was stored")
	}
	s.Close()
	s, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rs, err := s.Revocations(ctx)
	if err != nil || len(rs) != 1 || rs[0].Serial != 3 || rs[0].Body != "three" || rs[0].Side != "east" {
		t.Fatalf("after reopening: %+v %v", rs, err)
	}
}
