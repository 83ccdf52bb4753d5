package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
)

// TestLargestCall: the largest call the limits allow, protocol.MaxParticipants
// native endpoints (receive-only: the roster is what is tested, not media),
// with credentials made large (64-character names of characters the roster
// escapes to six bytes, several roles, both sides). Every endpoint receives
// the whole roster (its 128 KiB read limit would end its session otherwise),
// verifies every entry and exchanges keys with everyone; one more is
// refused. A server configured beyond the cap does not start.
func TestLargestCall(t *testing.T) {
	tier.Integration(t)
	dir := filepath.Join(t.TempDir(), "data")
	if s, err := server.Start(context.Background(), server.Config{Listen: "127.0.0.1:0", DataDir: dir, MaxParticipants: protocol.MaxParticipants + 1}, nil); !errors.Is(err, server.ErrConfig) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("a server for %d participants per call: %v, want ErrConfig", protocol.MaxParticipants+1, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("data folder created by a refused configuration: %v", err)
	}

	// Twenty endpoints and the server share this process: on a loaded
	// machine one may take longer than the production bounds to send its
	// join, to read its twenty 64 KB rosters or to answer one of its many
	// offers. Those bounds are tested elsewhere; here they only have to
	// stop a run that hangs.
	srv := startServer(t, server.Config{MaxParticipants: protocol.MaxParticipants, AnswerTimeout: servertest.Patience,
		Limits: server.Limits{JoinTimeout: servertest.Patience, WriteTimeout: servertest.Patience}})
	defer srv.Close()
	line := srv.Demo
	n := protocol.MaxParticipants
	clients := make([]*client.Client, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		side := []string{demo.East, demo.West}[i%2]
		name := fmt.Sprintf("%02d", i) + strings.Repeat("<", protocol.MaxNameRunes-2)
		dev, err := line.EnrolDevice(side, name, role.Principal, role.Adviser, role.Interpreter, role.Monitor)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { // a few at a time would be gentler; all at once is the worst case for the roster churn
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			c, err := client.Join(ctx, client.Config{Server: srv.URL(), Line: demo.Line, Call: "big", Device: dev, Logger: servertest.Logger()})
			if err != nil {
				errs <- fmt.Errorf("%s: %w", name[:2], err)
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, c := range clients {
		if c != nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	servertest.Eventually(t, "everyone verifies everyone", func() (bool, string) {
		for i, c := range clients {
			select {
			case <-c.Done():
				t.Fatalf("endpoint %d's session ended: %v", i, c.Err())
			default:
			}
			if r := len(c.Roster()); r != n {
				return false, fmt.Sprintf("endpoint %d holds a roster of %d", i, r)
			}
			if m := len(c.Keys().Members()); m != n-1 {
				return false, fmt.Sprintf("endpoint %d verified %d members, want %d", i, m, n-1)
			}
			if f := c.Keys().Forgeries(); len(f) > 0 {
				return false, fmt.Sprintf("endpoint %d sees forgeries %+v", i, f)
			}
			if st := c.Keys().Stats(); st.KeysAccepted < n-1 {
				return false, fmt.Sprintf("endpoint %d accepted %d keys, want %d", i, st.KeysAccepted, n-1)
			}
		}
		return true, ""
	})
	for i, c := range clients {
		select {
		case <-c.Done():
			t.Errorf("endpoint %d's session ended: %v", i, c.Err())
		default:
		}
	}
	size, err := json.Marshal(protocol.Roster{Type: protocol.TypeRoster, Participants: clients[0].Roster()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d endpoints; the roster each received is %d bytes (%.0f%% of the %d-byte message limit)",
		n, len(size), 100*float64(len(size))/protocol.MaxMessageBytes, protocol.MaxMessageBytes)

	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	_, err = client.Join(ctx, client.Config{Server: srv.URL(), Line: demo.Line, Call: "big", Device: demoDevice(t, srv, "one more"), Logger: servertest.Logger()})
	if err == nil || !strings.Contains(err.Error(), protocol.CodeRefused) {
		t.Fatalf("join %d: %v, want refused", n+1, err)
	}
}
