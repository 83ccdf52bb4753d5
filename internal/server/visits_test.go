package server_test

import (
	"context"
	"fmt"
	"testing"

	"hotline/internal/protocol"
	"hotline/internal/server"
	"hotline/internal/servertest"
)

// TestVisitsReuseMLines: advisers come and go through one stay, more than
// the ~28 visits one stay absorbed when every visit added m-lines
// (docs/PROTOCOL.md, "Reused m-lines"). The principal's SDP stays at its own
// two m-lines plus one visitor's two, and each visitor's media, arriving on
// m-lines that carried the previous visitor's, decrypts with the new
// visitor's key.
func TestVisitsReuseMLines(t *testing.T) {
	const visits = 101
	srv := startServer(t, server.Config{})
	defer srv.Close()
	a := join(t, srv, "long", "principal", nil)
	av := []string{protocol.KindAudio, protocol.KindVideo}
	const maxMLines = 4 // the principal's two, one visitor's two
	mids := map[string]bool{}
	firstSDP, maxSDP := 0, 0
	for i := range visits {
		name := fmt.Sprintf("adviser%d", i)
		v := join(t, srv, "long", name, nil)
		servertest.Eventually(t, "principal decrypts "+name, flowing(a, "principal", []string{name}, av, 5))
		st := a.Stats()
		for _, ts := range st.Tracks {
			if ts.From == name && !ts.Ended {
				mids[ts.Mid] = true
			}
		}
		if st.MLines > maxMLines {
			t.Fatalf("visit %d: the principal's SDP has %d m-lines, want at most %d", i, st.MLines, maxMLines)
		}
		if i == 0 {
			firstSDP = st.SDPBytes
		}
		maxSDP = max(maxSDP, st.SDPBytes)
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		err := v.Leave(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		v.Close()
		servertest.Eventually(t, name+"'s tracks end", func() (bool, string) {
			for _, ts := range a.Stats().Tracks {
				if !ts.Ended {
					return false, "still receiving from " + ts.From
				}
			}
			return true, ""
		})
	}
	st := a.Stats()
	t.Logf("%d visits: principal's SDP %d bytes after the first, at most %d, %d m-lines at the end; visitors came on %d mids", visits, firstSDP, maxSDP, st.MLines, len(mids))
	if len(mids) != 2 {
		t.Fatalf("visitors' tracks came on mids %v, want the same two each time", mids)
	}
	// Ids and names differ in length by a few bytes from one visitor to the next.
	if maxSDP > firstSDP+256 {
		t.Fatalf("the principal's SDP grew from %d to %d bytes", firstSDP, maxSDP)
	}
	if n := len(st.Tracks); n != 2*visits {
		t.Fatalf("principal saw %d tracks over %d visits, want %d", n, visits, 2*visits)
	}
}
