package browser

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hotline/internal/metrics"
	"hotline/internal/peer"
	"hotline/internal/server"
	"hotline/internal/servertest"
)

// joinSteps mirrors window.hotlineJoinSteps() (static/joinsteps.js): each
// step's time in ms since the Join press.
type joinSteps struct {
	Start float64            `json:"start"`
	Steps map[string]float64 `json:"steps"`
}

// pageSteps are the steps every join of a receiving participant has, in the
// order they must happen along one chain (the roster and the offer may come
// in either order; each follows the welcome).
var pageSteps = []string{"start", "join-sent", "welcome", "offer", "answer", "ice-connected", "dtls-connected"}

// lobbyJoin opens the start page of a call and presses Join once the
// camera and microphone are open, as a person does.
func (b *browser) lobbyJoin(url string) {
	b.t.Helper()
	b.open(url)
	servertest.Eventually(b.t, b.name+"'s start page to open its devices", func() (bool, string) {
		n := eval[int](b, `document.querySelectorAll('#camera option').length`)
		return n > 0, fmt.Sprintf("%d cameras", n)
	})
	b.do(chromedp.Click(chromedp.ID("join")))
}

// joinStepsOf waits until b's page has timed its first decoded frame from
// participant id, and returns its steps.
func (b *browser) joinStepsOf(id string) joinSteps {
	b.t.Helper()
	var js joinSteps
	servertest.Eventually(b.t, b.name+" to time its first frame from "+id, func() (bool, string) {
		js = eval[joinSteps](b, `window.hotlineJoinSteps()`)
		_, ok := js.Steps["frame:"+id]
		return ok, fmt.Sprintf("%+v", js.Steps)
	})
	return js
}

// checkOrder reports whether the steps of a late joiner that receives
// publisher's video are all there and in causal order.
func (js joinSteps) checkOrder(publisher string) error {
	var missing []string
	all := append(slices.Clone(pageSteps), "roster", "key:"+publisher, "frame:"+publisher)
	for _, s := range all {
		if _, ok := js.Steps[s]; !ok {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("steps missing: %v in %v", missing, js.Steps)
	}
	before := func(a, b string) error {
		if js.Steps[a] > js.Steps[b] {
			return fmt.Errorf("%s (%.1f ms) after %s (%.1f ms): %v", a, js.Steps[a], b, js.Steps[b], js.Steps)
		}
		return nil
	}
	for i := 1; i < len(pageSteps); i++ {
		if err := before(pageSteps[i-1], pageSteps[i]); err != nil {
			return err
		}
	}
	for _, p := range [][2]string{
		{"welcome", "roster"},
		{"roster", "key:" + publisher}, // a key is checked against the roster
		{"dtls-connected", "frame:" + publisher},
		{"key:" + publisher, "frame:" + publisher}, // nothing decodes without the key
	} {
		if err := before(p[0], p[1]); err != nil {
			return err
		}
	}
	return nil
}

// TestLateJoinSteps: a browser that joins a call where another is already
// sending decodes its video, and its page timed every step of the join in
// order; the server's /metrics has every step it sees, for both.
func TestLateJoinSteps(t *testing.T) {
	srv := startServerWith(t, server.Config{MetricsListen: "127.0.0.1:0"})
	early := newBrowser(t, "early", 640, 480)
	early.open(srv.URL() + "/call/late?name=early&autojoin=1")
	servertest.Eventually(t, "early to be in the call and keyed", func() (bool, string) {
		s := early.state()
		return s.Joined && eval[int](early, `window.hotline.state().e2ee?.epoch ?? -1`) >= 0, fmt.Sprintf("%+v", s)
	})
	earlyID := early.state().ID

	late := newBrowser(t, "late", 640, 480)
	late.lobbyJoin(srv.URL() + "/call/late?name=late")
	late.waitVideoGrowing("early")
	js := late.joinStepsOf(earlyID)
	if err := js.checkOrder(earlyID); err != nil {
		t.Error(err)
	}
	t.Logf("late joiner's steps (ms since Join): %s", js)
	// The performance timeline has the same marks, for a profiler.
	if n := eval[int](late, `performance.getEntriesByType('mark').filter((m) => m.name.startsWith('hotline:join:')).length`); n < len(js.Steps) {
		t.Errorf("%d hotline:join: marks in the performance timeline, want %d", n, len(js.Steps))
	}

	// The early one timed its own join too, without a frame from a
	// publisher that was not there yet.
	ejs := eval[joinSteps](early, `window.hotlineJoinSteps()`)
	for _, s := range pageSteps {
		if _, ok := ejs.Steps[s]; !ok {
			t.Errorf("early's page lacks step %s: %v", s, ejs.Steps)
		}
	}

	counts := scrapeJoinSteps(t, srv)
	for _, step := range peer.JoinSteps {
		if counts[step] < 2 {
			t.Errorf("%s{step=%q} counts %d, want 2 (both joins): %v", metrics.NameJoinStep, step, counts[step], counts)
		}
	}
	late.checkClean()
	early.checkClean()
}

// String lists the steps in time order.
func (js joinSteps) String() string {
	names := make([]string, 0, len(js.Steps))
	for n := range js.Steps {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return js.Steps[names[i]] < js.Steps[names[j]] })
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, " %s=%.0f", n, js.Steps[n])
	}
	return strings.TrimSpace(b.String())
}

// scrapeJoinSteps reads the sample count of each step of
// hotline_join_step_seconds from the server's /metrics.
func scrapeJoinSteps(t testing.TB, srv *servertest.Server) map[string]int {
	t.Helper()
	resp, err := http.Get(srv.MetricsURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	prefix := metrics.NameJoinStep + `_count{step="`
	for line := range strings.SplitSeq(string(body), "\n") {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		var step string
		var n int
		if i := strings.Index(rest, `"} `); i > 0 {
			step = rest[:i]
			_, _ = fmt.Sscan(rest[i+3:], &n)
			out[step] = n
		}
	}
	return out
}

// BenchmarkLateJoin times -benchtime joins (e.g. 10x) of a browser into a
// call where another browser already sends camera and microphone: from
// pressing Join on the start page to the first decoded frame of the other's
// video, as the joiner's page measures it (joinsteps.js). Reports p50 and
// p90 of that and of each step. Not in CI; run it in a loopback-only
// namespace without -race (docs/PERFORMANCE.md, "Join"):
//
//	unshare --net sh -c 'ip link set lo up && go test -run ^$ -bench BenchmarkLateJoin -benchtime 10x ./test/browser/'
func BenchmarkLateJoin(b *testing.B) {
	srv := startServerWith(b, server.Config{MetricsListen: "127.0.0.1:0"})
	early := newBrowser(b, "early", 640, 480)
	early.open(srv.URL() + "/call/bench?name=early&autojoin=1")
	servertest.Eventually(b, "early to be in the call and keyed", func() (bool, string) {
		s := early.state()
		return s.Joined && eval[int](early, `window.hotline.state().e2ee?.epoch ?? -1`) >= 0, fmt.Sprintf("%+v", s)
	})
	earlyID := early.state().ID
	late := newBrowser(b, "late", 640, 480)
	per := map[string][]float64{}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		late.lobbyJoin(srv.URL() + "/call/bench?name=late")
		js := late.joinStepsOf(earlyID)
		if err := js.checkOrder(earlyID); err != nil {
			b.Error(err)
		}
		// What the receiver did meanwhile: key frame requests it sent by
		// RTCP (pliCount), key frames decoded, frames its worker refused.
		diag := eval[string](late, `(async () => {
  const v = (await window.hotline.stats()).filter((s) => s.type === 'inbound-rtp' && s.kind === 'video')
    .map((s) => 'pli=' + s.pliCount + ' keyframes=' + s.keyFramesDecoded);
  const f = await window.hotline.frames();
  return v.join(' ') + ' refused=' + JSON.stringify(f?.failed ?? null);
})()`)
		b.Logf("join %d: %s (%s)", i+1, js, diag)
		for name, ms := range js.Steps {
			name = strings.TrimSuffix(name, ":"+earlyID)
			per[name] = append(per[name], ms)
		}
		eval[bool](late, `(window.hotline.leave(), true)`)
		servertest.Eventually(b, "the late joiner to leave", func() (bool, string) {
			n := srv.Registry().Participants()
			return n == 1, fmt.Sprintf("%d participants", n)
		})
		time.Sleep(time.Second) // the early one's rekey after the departure settles (not timed)
	}
	b.StopTimer()
	for _, name := range []string{"frame", "key", "dtls-connected", "ice-connected", "answer", "roster", "welcome", "join-sent"} {
		v := per[name]
		if len(v) == 0 {
			continue
		}
		slices.Sort(v)
		b.ReportMetric(quantile(v, 0.5), name+"-p50-ms")
		b.ReportMetric(quantile(v, 0.9), name+"-p90-ms")
	}
	b.Logf("server's join steps: %v", scrapeJoinSteps(b, srv))
}

// quantile of sorted v, nearest rank.
func quantile(v []float64, q float64) float64 {
	i := int(q*float64(len(v))+0.5) - 1
	return v[max(0, min(i, len(v)-1))]
}
