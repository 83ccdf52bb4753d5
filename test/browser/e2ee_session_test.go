package browser

import (
	"encoding/json"
	"testing"
	"time"

	"hotline/internal/e2ee"
	"hotline/internal/trust"
)

// TestE2EEIdentity: static/e2ee/identity.js keeps the device identity in
// IndexedDB with a non-extractable signing key, across a page reload.
func TestE2EEIdentity(t *testing.T) {
	b, url := e2eeHarness(t)
	r := runJSModule(t, b, "/harness/e2ee_identity.js", map[string]string{"phase": "create"})
	var d struct {
		SigPub string `json:"sigPub"`
	}
	if err := json.Unmarshal(r.Data, &d); err != nil || len(d.SigPub) != 64 {
		t.Fatalf("create: data %s: %v", r.Data, err)
	}
	b.navigate(url + "/harness/index.html")
	runJSModule(t, b, "/harness/e2ee_identity.js", map[string]string{"phase": "reload", "sigPub": d.SigPub})
	b.checkConsole()
}

// jsPin is a pin as JSON carries it (PROTOCOL.md: b64u key).
type jsPin struct {
	Side string `json:"side"`
	Key  string `json:"key"`
}

func pinOf(a *trust.Authority) jsPin { return jsPin{Side: a.Side, Key: trust.B64(a.Public)} }

// TestE2EESession: three E2EESessions (static/e2ee/session.js) in one page,
// keys routed by a fake relay. The devices are made in the browser; their
// requests are signed here by internal/trust authorities (east and west
// pinned, a foreign "east" not), so the browser verifies credentials that
// Go made. The harness checks one code for all, forgeries reported and
// never keyed, a rekey without the removed member, refused replays and
// stale epochs (e2ee_session.js). Here, the final code is recomputed with
// internal/e2ee from the keys the page reports.
func TestE2EESession(t *testing.T) {
	b, _ := e2eeHarness(t)
	type dev struct {
		Key   string   `json:"key"`
		Side  string   `json:"side"`
		Name  string   `json:"name"`
		Roles []string `json:"roles"`
	}
	devs := []dev{
		{"A", "east", "Alice East", []string{"principal"}},
		{"B", "west", "Bob West", []string{"principal", "adviser"}},
		{"C", "east", "Wall monitor", []string{"monitor"}},
		{"M", "east", "Mallory", []string{"principal"}},
		{"E", "east", "Expired Eve", []string{"adviser"}},
	}
	r := runJSModule(t, b, "/harness/e2ee_session.js", map[string]any{"phase": "devices", "devices": devs})
	var made struct {
		Requests map[string]trust.Request `json:"requests"`
	}
	if err := json.Unmarshal(r.Data, &made); err != nil || len(made.Requests) != len(devs) {
		t.Fatalf("devices: %s: %v", r.Data, err)
	}

	east, west, foreign := newAuthority(t, "east"), newAuthority(t, "west"), newAuthority(t, "east")
	now := time.Now()
	creds := map[string]trust.Credential{}
	sign := func(key string, a *trust.Authority, issued, expires time.Time) {
		c, err := a.Sign(made.Requests[key], issued, expires)
		if err != nil {
			t.Fatalf("sign %s: %v", key, err)
		}
		creds[key] = c
	}
	sign("A", east, now, now.Add(24*time.Hour))
	sign("B", west, now, now.Add(24*time.Hour))
	sign("C", east, now, now.Add(24*time.Hour))
	sign("M", foreign, now, now.Add(24*time.Hour)) // a valid signature, by nobody pinned
	sign("E", east, now.Add(-48*time.Hour), now.Add(-24*time.Hour))

	// East's revocation list naming the monitor's device (PROTOCOL.md,
	// "Revocation"), and an older one that must not undo it.
	rb, err := trust.VerifyRequest(made.Requests["C"])
	if err != nil {
		t.Fatal(err)
	}
	revokeC, err := east.Revoke("east-west", 2, now, []string{rb.DeviceID})
	if err != nil {
		t.Fatal(err)
	}
	older, err := east.Revoke("east-west", 1, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	r = runJSModule(t, b, "/harness/e2ee_session.js", map[string]any{
		"phase":       "session",
		"credentials": creds,
		"pins":        []jsPin{pinOf(east), pinOf(west)},
		"revocations": map[string]trust.Revocation{"revokeC": revokeC, "older": older},
	})
	var out struct {
		Code1, Code3, Code5 string
		Messages            int
		Rejected            map[string]int
		Final               struct {
			Line, Call, Code string
			Members          []struct {
				SigKey  string `json:"sigKey"`
				KID     uint64 `json:"kid"`
				BaseKey string `json:"baseKey"`
			}
		}
	}
	if err := json.Unmarshal(r.Data, &out); err != nil {
		t.Fatalf("session data %s: %v", r.Data, err)
	}
	t.Logf("codes: all three %q; after C's removal %q; after C's return %q; %d key messages; A refused %v",
		out.Code1, out.Code3, out.Code5, out.Messages, out.Rejected)

	// The same code from Go's implementation, from the keys A holds.
	var ms []e2ee.CodeMember
	for _, m := range out.Final.Members {
		sk, err1 := trust.DecodeB64(m.SigKey)
		bk, err2 := trust.DecodeB64(m.BaseKey)
		if err1 != nil || err2 != nil {
			t.Fatalf("final member %+v: %v %v", m, err1, err2)
		}
		ms = append(ms, e2ee.CodeMember{SigKey: sk, KID: m.KID, BaseKey: bk})
	}
	if len(ms) != 3 {
		t.Fatalf("final members: %d, want 3", len(ms))
	}
	if got := e2ee.VerificationCode(out.Final.Line, out.Final.Call, ms); got != out.Final.Code || got != out.Code5 {
		t.Errorf("internal/e2ee computes %q from the same keys; the browser shows %q", got, out.Final.Code)
	}
	b.checkConsole()
}

func newAuthority(t *testing.T, side string) *trust.Authority {
	t.Helper()
	a, err := trust.NewAuthority(side)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestE2EEWorker: static/e2ee/worker.js as RTCRtpScriptTransforms on real
// loopback PeerConnections with the fake camera and microphone. With the
// key, video decodes, also across a key change; without it, or with
// another sender's tag, every frame is dropped and counted and nothing
// decodes; a sender without a key sends nothing (e2ee_worker.js).
func TestE2EEWorker(t *testing.T) {
	b, _ := e2eeHarness(t)
	r := runJSModule(t, b, "/harness/e2ee_worker.js", map[string]int{"frames": 60})
	var d struct {
		OK struct {
			FramesDecoded int            `json:"framesDecoded"`
			Sent          map[string]int `json:"sent"`
			Decrypted     map[string]int `json:"decrypted"`
		} `json:"ok"`
		NoKey struct {
			FramesDecoded int            `json:"framesDecoded"`
			Failed        map[string]int `json:"failed"`
		} `json:"nokey"`
		WrongTag struct {
			FramesDecoded int            `json:"framesDecoded"`
			Failed        map[string]int `json:"failed"`
		} `json:"wrongtag"`
		Late struct {
			FramesDecoded    int `json:"framesDecoded"`
			DroppedBeforeTag int `json:"droppedBeforeTag"`
		} `json:"late"`
		Answerer struct {
			FramesDecoded int            `json:"framesDecoded"`
			Sent          map[string]int `json:"sent"`
			Decrypted     map[string]int `json:"decrypted"`
		} `json:"answerer"`
		Unpiped struct {
			PacketsReceived int `json:"packetsReceived"`
		} `json:"unpiped"`
		ScriptAnswerer json.RawMessage `json:"scriptAnswerer"`
		Unkeyed        struct {
			Dropped     map[string]int `json:"dropped"`
			Sent        map[string]int `json:"sent"`
			ReceiverSaw int            `json:"receiverSaw"`
		} `json:"unkeyed"`
	}
	if err := json.Unmarshal(r.Data, &d); err != nil {
		t.Fatalf("data %s: %v", r.Data, err)
	}
	t.Logf("keyed: framesDecoded %d, sent %v, decrypted %v", d.OK.FramesDecoded, d.OK.Sent, d.OK.Decrypted)
	t.Logf("receiver without the key: framesDecoded %d, dropped %v", d.NoKey.FramesDecoded, d.NoKey.Failed)
	t.Logf("receiver expecting another sender: framesDecoded %d, dropped %v", d.WrongTag.FramesDecoded, d.WrongTag.Failed)
	t.Logf("sender without a key: dropped %v, sent %v, receiver transform saw %d frames", d.Unkeyed.Dropped, d.Unkeyed.Sent, d.Unkeyed.ReceiverSaw)
	t.Logf("publisher's tag sent late: %d frames dropped before, then framesDecoded %d", d.Late.DroppedBeforeTag, d.Late.FramesDecoded)
	t.Logf("answering end with insertable streams (the call's shape): framesDecoded %d, sent %v, decrypted %v", d.Answerer.FramesDecoded, d.Answerer.Sent, d.Answerer.Decrypted)
	t.Logf("insertable streams never piped: far end received %d packets", d.Unpiped.PacketsReceived)
	t.Logf("observed, not asserted: answering end with RTCRtpScriptTransform set after replaceTrack: %s", d.ScriptAnswerer)
	if d.OK.FramesDecoded < 120 || d.NoKey.FramesDecoded != 0 || d.NoKey.Failed["unknown_kid"] < 60 ||
		d.WrongTag.FramesDecoded != 0 || d.WrongTag.Failed["wrong_sender"] < 60 || d.Unkeyed.ReceiverSaw != 0 ||
		d.Late.DroppedBeforeTag < 40 || d.Late.FramesDecoded < 60 || d.Answerer.FramesDecoded < 60 || d.Unpiped.PacketsReceived != 0 {
		t.Errorf("unexpected figures: %s", r.Data)
	}
	b.checkConsole()
}
