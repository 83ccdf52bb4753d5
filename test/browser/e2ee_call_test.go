package browser

import (
	"fmt"
	"strings"
	"testing"

	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/servertest"
)

// e2eeView is what the tests read of window.hotline.state().e2ee.
type e2eeView struct {
	Code    string `json:"code"`
	Epoch   int    `json:"epoch"`
	KID     *int64 `json:"kid"`
	Members []struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Side     string `json:"side"`
		Verified bool   `json:"verified"`
		KID      *int64 `json:"kid"`
	} `json:"members"`
	Forgeries []any `json:"forgeries"`
	KeysSent  int   `json:"keysSent"`
}

func (b *browser) e2ee() e2eeView {
	b.t.Helper()
	return eval[e2eeView](b, `window.hotline.state().e2ee ?? {}`)
}

// frameCounts is window.hotline.frames(): the media worker's counters.
type frameCounts struct {
	Sent      map[string]int64            `json:"sent"`
	Dropped   map[string]int64            `json:"dropped"`
	Decrypted map[string]map[string]int64 `json:"decrypted"`
	Failed    map[string]int64            `json:"failed"`
	Bypass    bool                        `json:"bypass"`   // frames pass without SFrame (a bypass build only)
	Bypassed  int64                       `json:"bypassed"` // frames passed through so
	Latency   map[string]frameLatency     `json:"latency"`  // "send", "recv"
}

// frameLatency: time frames spent in the media worker (worker.js stats).
type frameLatency struct {
	N       int64   `json:"n"`
	SumMs   float64 `json:"sumMs"`
	MaxMs   float64 `json:"maxMs"`
	Over1ms int64   `json:"over1ms"`
	Over5ms int64   `json:"over5ms"`
}

func (b *browser) frames() frameCounts {
	b.t.Helper()
	return eval[frameCounts](b, `window.hotline.frames()`)
}

// TestE2EEBrowsersCall (THREAT_MODEL.md; issue "Trust and end-to-end
// encryption"): three enrolled Chromiums in an encrypted call decode each
// other's video through the SFrame worker and show the same verification
// code; the east principal removes the east adviser through the
// participants panel; the adviser is told and stops decoding, gets no key of
// the new epoch, and the two principals go on decoding each other under a
// new epoch with a new, again matching, code.
func TestE2EEBrowsersCall(t *testing.T) {
	srv := startServer(t)
	base := srv.URL()
	east := newBrowser(t, "east", 1280, 720)
	west := newBrowser(t, "west", 1280, 720)
	adv := newBrowser(t, "adviser", 1280, 720)
	east.enrolAs(base, demo.East, "East Principal", role.Principal)
	west.enrolAs(base, demo.West, "West Principal", role.Principal)
	adv.enrolAs(base, demo.East, "East Adviser", role.Adviser)
	all := []*browser{east, west, adv}
	names := map[*browser]string{east: "East Principal", west: "West Principal", adv: "East Adviser"}
	for _, b := range all {
		b.open(base + "/call/e2ee?name=x&autojoin=1")
	}
	// The adviser waits in the lobby until its principal admits it.
	east.actThroughPage(adv, "admit")
	for _, b := range all {
		for _, o := range all {
			if o != b {
				b.waitVideoGrowing(names[o])
			}
		}
	}
	code := sameCode(t, all, 3)
	t.Logf("verification code %q on all three", code)
	for _, b := range all {
		f := b.frames()
		if f.Sent["video"] == 0 || f.Sent["audio"] == 0 {
			t.Errorf("%s: the worker encrypted %v frames: media left without it", b.name, f.Sent)
		}
		decrypted := int64(0)
		for _, d := range f.Decrypted {
			decrypted += d["audio"] + d["video"]
		}
		for reason, n := range f.Failed {
			switch {
			case n == 0 || reason == "unknown_kid": // frames before a key arrives are expected
			case reason == "replay" && n*10 <= decrypted:
				// A frame assembled twice (a late packet and its
				// retransmission both arrive, as on a loaded machine) is
				// refused the second time, as it should be; a pipeline
				// that decrypted every frame twice would refuse as many
				// as it decrypts.
				t.Logf("%s: %d repeated frames refused (of %d decrypted)", b.name, n, decrypted)
			default:
				t.Errorf("%s: %d frames failed with %s (%d decrypted)", b.name, n, reason, decrypted)
			}
		}
	}

	// The principal's panel offers removal of its own side's adviser only.
	buttons := eval[[]string](east, `[...document.querySelectorAll('#roster .roster-remove')].map((b) => b.closest('li').dataset.id)`)
	advID := adv.state().ID
	if len(buttons) != 1 || buttons[0] != advID {
		t.Fatalf("east principal's panel offers removal of %v, want only the adviser %s", buttons, advID)
	}
	for _, b := range []*browser{west, adv} {
		if n := eval[int](b, `document.querySelectorAll('#roster .roster-remove').length`); n != 0 {
			t.Errorf("%s is offered %d removals", b.name, n)
		}
	}
	epoch := east.e2ee().Epoch
	sel := fmt.Sprintf(`#roster li[data-id=%q] .roster-remove`, advID)
	east.click(sel)
	east.click(sel) // "Remove", then "Confirm"

	servertest.Eventually(t, "the adviser to be told it was removed", func() (bool, string) {
		title := eval[string](adv, `document.getElementById('overlay').hidden ? '' : document.getElementById('overlay-title').textContent`)
		return strings.Contains(title, "removed"), title
	})
	for _, b := range []*browser{east, west} {
		servertest.Eventually(t, b.name+": the roster drops the adviser", func() (bool, string) {
			r := b.state().Roster
			return len(r) == 2, fmt.Sprint(r)
		})
	}
	servertest.Eventually(t, "the east principal's new epoch", func() (bool, string) {
		e := east.e2ee()
		return e.Epoch > epoch, fmt.Sprint("epoch ", e.Epoch)
	})
	newCode := sameCode(t, []*browser{east, west}, 2)
	if newCode == code {
		t.Errorf("the code did not change with the roster: %q", code)
	}
	newKID := *east.e2ee().KID
	// The principals decode each other under the new epoch.
	east.waitVideoGrowing("West Principal")
	west.waitVideoGrowing("East Principal")
	servertest.Eventually(t, "west to hold east's new key", func() (bool, string) {
		for _, m := range west.e2ee().Members {
			if m.ID == east.state().ID && m.KID != nil && *m.KID == newKID {
				return true, ""
			}
		}
		return false, fmt.Sprint(west.e2ee().Members)
	})

	// The adviser decodes nothing any more and never got the new key.
	s := adv.state()
	if s.Joined || len(s.Tiles) != 0 {
		t.Errorf("removed adviser: joined %v, %d tiles", s.Joined, len(s.Tiles))
	}
	for _, m := range adv.e2ee().Members {
		if m.KID != nil && *m.KID == newKID {
			t.Errorf("the removed adviser holds the east principal's new key %d", newKID)
		}
	}
	east.checkClean()
	west.checkClean()
	adv.checkConsole()
}

// sameCode waits until every browser shows a verification code for a roster
// of n verified members, all equal, and returns it.
func sameCode(t *testing.T, bs []*browser, n int) string {
	t.Helper()
	var code string
	servertest.Eventually(t, "the same verification code everywhere", func() (bool, string) {
		codes := make([]string, len(bs))
		for i, b := range bs {
			e := b.e2ee()
			verified := 0
			for _, m := range e.Members {
				if m.Verified {
					verified++
				}
			}
			if verified != n || len(e.Forgeries) != 0 {
				return false, fmt.Sprintf("%s: %d verified members, %d forgeries", b.name, verified, len(e.Forgeries))
			}
			codes[i] = e.Code
		}
		for _, c := range codes {
			if c == "" || c != codes[0] {
				return false, fmt.Sprint(codes)
			}
		}
		code = codes[0]
		return true, ""
	})
	return code
}

// actThroughPage waits until b's participants panel offers action (admit,
// call_in, send_out) for other's participant, and clicks it.
func (b *browser) actThroughPage(other *browser, action string) {
	b.t.Helper()
	var id string
	servertest.Eventually(b.t, other.name+" to join", func() (bool, string) {
		id = other.state().ID
		return id != "", "no id yet"
	})
	// As a person would: on a page that is connected to the line (an
	// action clicked while it rejoins or resumes is not sent).
	servertest.Eventually(b.t, b.name+" to be connected", func() (bool, string) {
		s := b.state()
		return s.Joined && !s.Reconnecting && !s.Resuming, fmt.Sprintf("joined %v, reconnecting %v, resuming %v", s.Joined, s.Reconnecting, s.Resuming)
	})
	sel := fmt.Sprintf(`#roster li[data-id=%q] button[data-action=%q]`, id, action)
	servertest.Eventually(b.t, fmt.Sprintf("%s's panel to offer %s for %s", b.name, action, other.name), func() (bool, string) {
		n := eval[int](b, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
		return n == 1, eval[string](b, `document.getElementById('roster').innerText`)
	})
	b.click(sel)
}

// click clicks the element sel selects, found and clicked in one step in
// the page (a panel rebuilt between a lookup and a click would otherwise
// lose the click).
func (b *browser) click(sel string) {
	b.t.Helper()
	if !eval[bool](b, fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.click(); return true; })()`, sel)) {
		b.t.Fatalf("%s: nothing to click at %s", b.name, sel)
	}
}
