package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"hotline/internal/api"
	"hotline/internal/apiclient"
	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/servertest"
	"hotline/internal/trust"
)

// postRevocation posts a signed list to the line's revocation route.
func postRevocation(ctx context.Context, srv *servertest.Server, line string, r trust.Revocation) (api.RevocationState, error) {
	cl, err := apiclient.New(srv.URL(), &http.Client{Timeout: patience})
	if err != nil {
		return api.RevocationState{}, err
	}
	var st api.RevocationState
	_, err = cl.Do(ctx, "POST", "/api/lines/"+line+"/revocations", api.RevocationBody{Revocation: r}, &st)
	return st, err
}

// TestRevocation (PROTOCOL.md, "Revocation"; THREAT_MODEL.md, "a revoked
// device is out at once"): east's authority revokes Eve's device in the
// middle of a call. The server takes Eve out at once (told "removed"), the
// others rekey and Eve never holds their new keys; Eve's API session is
// closed and a new sign-in refused; Eve cannot rejoin, not even to replace
// her own session; the others' rosters carry the signed list. An older
// list, a list for another line and one signed by the wrong side are
// refused and change nothing.
func TestRevocation(t *testing.T) {
	l := startE2EELine(t)
	alice := l.join("rv", demo.East, "Alice", nil)
	walt := l.join("rv", demo.West, "Walt", nil)
	eveDev := l.device(demo.East, "Eve")
	eve := joinWith(t, l.srv, "rv", "Eve", eveDev, nil)
	for _, c := range []*client.Client{alice, walt, eve} {
		servertest.Eventually(t, "everyone decrypts everyone", func() error { return decryptedFromAll(c.Stats(), 2, 5) })
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	eveAPI, err := apiclient.New(l.srv.URL(), &http.Client{Timeout: patience})
	if err != nil {
		t.Fatal(err)
	}
	if err := eveAPI.SignIn(ctx, eveDev, demo.Line); err != nil {
		t.Fatalf("Eve signs in before the revocation: %v", err)
	}

	east, west := l.srv.Demo.Authority(demo.East), l.srv.Demo.Authority(demo.West)
	list, err := east.Revoke(demo.Line, 5, time.Now(), []string{eveDev.ID()})
	if err != nil {
		t.Fatal(err)
	}
	aliceKID, waltKID := alice.Keys().KID(), walt.Keys().KID()
	st, err := postRevocation(ctx, l.srv, demo.Line, list)
	if err != nil || st.Serial != 5 || st.Side != demo.East || len(st.Devices) != 1 || st.Devices[0] != eveDev.ID() {
		t.Fatalf("posting the list: %+v %v", st, err)
	}
	select {
	case <-eve.Done():
	case <-ctx.Done():
		t.Fatal("the revoked device is still in the call")
	}
	if e := lastError(eve); e == nil || e.Code != protocol.CodeRemoved {
		t.Fatalf("Eve was told %+v, want %q", e, protocol.CodeRemoved)
	}
	for _, c := range []*client.Client{alice, walt} {
		servertest.Eventually(t, "the roster drops Eve and carries the list", func() error {
			r := c.Roster()
			if len(r) != 2 {
				return fmt.Errorf("%d members", len(r))
			}
			if !c.Keys().Revoked(eveDev.ID()) {
				return errors.New("the key manager holds no list naming Eve")
			}
			return nil
		})
	}
	servertest.Eventually(t, "Alice and Walt rekey", func() error {
		if alice.Keys().KID() == aliceKID || walt.Keys().KID() == waltKID {
			return errors.New("not yet")
		}
		return nil
	})
	newAlice := alice.Keys().KID()
	servertest.Eventually(t, "Walt decrypts Alice's new epoch", func() error {
		for _, tr := range walt.Stats().Tracks {
			if tr.Participant == alice.ID() && tr.LastKID == newAlice && tr.Decrypted > 0 {
				return nil
			}
		}
		return fmt.Errorf("no frame under KID %d yet", newAlice)
	})
	for _, tr := range eve.Stats().Tracks {
		if tr.LastKID == newAlice || tr.LastKID == walt.Keys().KID() {
			t.Fatalf("the revoked device decrypted under a new key: %+v", tr)
		}
	}
	if n := eve.Keys().Stats().KeysAccepted; n > 2 {
		t.Fatalf("Eve accepted %d keys; only the two first epochs were hers", n)
	}

	// Her API session is gone, and a new one refused.
	if _, err := eveAPI.Do(ctx, "GET", "/api/session", nil, nil); apiclient.Status(err) != http.StatusUnauthorized {
		t.Fatalf("Eve's session after the revocation: %v, want 401", err)
	}
	if err := eveAPI.SignIn(ctx, eveDev, demo.Line); apiclient.Status(err) != http.StatusUnauthorized {
		t.Fatalf("Eve signs in after the revocation: %v, want 401", err)
	}
	// She cannot rejoin: the join is refused as unauthorized.
	jctx, jcancel := context.WithTimeout(ctx, patience)
	defer jcancel()
	c, err := client.Join(jctx, client.Config{Server: l.srv.URL(), Line: demo.Line, Call: "rv", Device: eveDev, Logger: servertest.Logger()})
	var se *client.ServerError
	if err == nil {
		c.Close()
		t.Fatal("the revoked device joined again")
	}
	if !errors.As(err, &se) || se.Msg.Code != protocol.CodeUnauthorized {
		t.Fatalf("Eve's rejoin: %v, want an unauthorized error", err)
	}
	if n := len(alice.Roster()); n != 2 {
		t.Fatalf("the refused rejoin changed the roster: %d", n)
	}

	// The others' key managers hold the list: a roster naming Eve again
	// would make her a forgery (internal/e2ee TestRevokedMember).
	for name, r := range map[string]trust.Revocation{
		"an older serial": must(east.Revoke(demo.Line, 4, time.Now(), nil)),
		"another line":    must(east.Revoke("elsewhere", 6, time.Now(), nil)),
	} {
		if _, err := postRevocation(ctx, l.srv, demo.Line, r); err == nil {
			t.Errorf("%s was accepted", name)
		}
	}
	forged := list
	forged.Sig = must(west.Revoke(demo.Line, 5, time.Now(), []string{eveDev.ID()})).Sig
	if _, err := postRevocation(ctx, l.srv, demo.Line, forged); apiclient.Status(err) != http.StatusForbidden {
		t.Errorf("a list with west's signature: %v, want 403", err)
	}
	if _, err := client.Join(jctx, client.Config{Server: l.srv.URL(), Line: demo.Line, Call: "rv", Device: eveDev, Logger: servertest.Logger()}); err == nil {
		t.Fatal("a refused list undid the revocation")
	}
}

func must(r trust.Revocation, err error) trust.Revocation {
	if err != nil {
		panic(err)
	}
	return r
}
