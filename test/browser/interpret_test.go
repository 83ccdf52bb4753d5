package browser

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hotline/internal/api"
	"hotline/internal/booking"
	"hotline/internal/demo"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/servertest"
)

// writeTone writes a WAV file of a sine tone (48 kHz, 16-bit mono, 5 s; the
// fake capture device loops it) for --use-file-for-fake-audio-capture.
func writeTone(t *testing.T, hz float64) string {
	t.Helper()
	const rate, secs = 48000, 5
	n := rate * secs
	data := make([]byte, 44+2*n)
	copy(data, "RIFF")
	binary.LittleEndian.PutUint32(data[4:], uint32(36+2*n))
	copy(data[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(data[16:], 16)
	binary.LittleEndian.PutUint16(data[20:], 1) // PCM
	binary.LittleEndian.PutUint16(data[22:], 1) // mono
	binary.LittleEndian.PutUint32(data[24:], rate)
	binary.LittleEndian.PutUint32(data[28:], rate*2)
	binary.LittleEndian.PutUint16(data[32:], 2)
	binary.LittleEndian.PutUint16(data[34:], 16)
	copy(data[36:], "data")
	binary.LittleEndian.PutUint32(data[40:], uint32(2*n))
	for i := range n {
		v := int16(0.5 * math.MaxInt16 * math.Sin(2*math.Pi*hz*float64(i)/rate))
		binary.LittleEndian.PutUint16(data[44+2*i:], uint16(v))
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("tone-%.0f.wav", hz))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// toneBrowser is a browser whose fake microphone plays a tone of hz.
func toneBrowser(t *testing.T, name string, hz float64) *browser {
	t.Helper()
	return launch(t, name, 1280, 720, 1,
		chromedp.Flag("use-file-for-fake-audio-capture", writeTone(t, hz)),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
}

// bookInterpreted books a call with the given languages, naming the
// interpreters of the east side, accepted by the west.
func bookInterpreted(t *testing.T, base string, languages []string, interpreters ...string) string {
	t.Helper()
	ctx := context.Background()
	svc := booking.New(demoOf(t, base).Store())
	east := booking.Caller{Line: demo.Line, Side: demo.East, Name: "East Principal", Roles: []role.Role{role.Principal}}
	west := booking.Caller{Line: demo.Line, Side: demo.West, Name: "West Principal", Roles: []role.Role{role.Principal}}
	var named []api.Person
	for _, n := range interpreters {
		named = append(named, api.Person{Name: n, Roles: []role.Role{role.Interpreter}})
	}
	c, _, err := svc.Request(ctx, east, api.Request{Line: demo.Line, Kind: schedule.Video, When: "now", Duration: time.Hour,
		Named: named, Languages: languages})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Transition(ctx, west, c.ID, schedule.EventAccept, api.Transition{}); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// pick chooses value in the page's select sel, as a person does.
func (b *browser) pick(sel, value string) {
	b.t.Helper()
	eval[bool](b, fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = %q;
		s.dispatchEvent(new Event('change')); return true; })()`, sel, value))
}

// interpState mirrors state().interpretation (interpretation.js).
type interpState struct {
	Active     bool    `json:"active"`
	Listening  string  `json:"listening"`
	FloorGain  float64 `json:"floorGain"`
	Interprets string  `json:"interprets"`
	Live       bool    `json:"live"`
	HandOver   bool    `json:"handOver"`
	Gains      []struct {
		Name     string   `json:"name"`
		Source   string   `json:"source"`
		Language string   `json:"language"`
		Gain     *float64 `json:"gain"`
	} `json:"gains"`
}

func (b *browser) interp() interpState {
	b.t.Helper()
	return eval[interpState](b, `window.hotline.state().interpretation ?? {}`)
}

// levels reads the page's mix at 440 and 1200 Hz (dB), averaged over a few
// reads a tenth of a second apart.
func (b *browser) levels() (floor, channel float64) {
	b.t.Helper()
	v := eval[[]float64](b, `(async () => {
		const sum = [0, 0];
		for (let i = 0; i < 10; i++) {
			const l = window.hotline.levels([440, 1200]);
			sum[0] += Math.max(l[0], -200); sum[1] += Math.max(l[1], -200);
			await new Promise((r) => setTimeout(r, 100));
		}
		return sum.map((x) => x / 10);
	})()`)
	return v[0], v[1]
}

// TestInterpretationDucking (issue "Interpretation"): the principal's
// browser speaks a 440 Hz tone, the interpreter's 1200 Hz into the en
// channel; a listener that picks en hears its own mix (measured with an
// AnalyserNode) with the 1200 Hz peak at least 10 dB above the 440 Hz one
// (the floor ducked about 15 dB under the channel); after picking Floor the
// 1200 Hz peak is gone (the server stops forwarding the channel).
func TestInterpretationDucking(t *testing.T) {
	srv := startServer(t)
	base := srv.URL()
	id := bookInterpreted(t, base, []string{"en", "ru"}, "East Interpreter")
	pr := toneBrowser(t, "principal", 440)
	in := toneBrowser(t, "interpreter", 1200)
	lis := toneBrowser(t, "listener", 440)
	pr.enrolAs(base, demo.East, "East Principal", role.Principal)
	in.enrolAs(base, demo.East, "East Interpreter", role.Interpreter)
	lis.enrolAs(base, demo.West, "West Principal", role.Principal)
	for _, b := range []*browser{pr, in, lis} {
		b.open(base + "/call/" + id + "?autojoin=1")
	}
	for _, b := range []*browser{in, lis} {
		servertest.Eventually(t, b.name+"'s interpretation controls", func() (bool, string) {
			s := b.interp()
			return s.Active && eval[bool](b, `document.querySelector('#listen-language') !== null`), fmt.Sprintf("%+v", s)
		})
	}
	in.pick("#interp-booth", "en")
	servertest.Eventually(t, "the interpreter live in the en booth", func() (bool, string) {
		s := in.interp()
		return s.Interprets == "en" && s.Live, fmt.Sprintf("%+v", s)
	})
	lis.pick("#listen-language", "en")
	servertest.Eventually(t, "the listener's mix of the floor and the en channel", func() (bool, string) {
		s := lis.interp()
		channel := false
		for _, g := range s.Gains {
			channel = channel || g.Source == "interpretation" && g.Language == "en" && g.Gain != nil && *g.Gain == 1
		}
		return s.Listening == "en" && channel && s.FloorGain < 0.2, fmt.Sprintf("%+v", s)
	})
	var floor, channel float64
	servertest.Eventually(t, "1200 Hz at least 10 dB above 440 Hz", func() (bool, string) {
		floor, channel = lis.levels()
		return channel-floor >= 10 && channel > -90, fmt.Sprintf("440 Hz %.1f dB, 1200 Hz %.1f dB", floor, channel)
	})
	t.Logf("en picked: 440 Hz (floor) %.1f dB, 1200 Hz (en channel) %.1f dB: %.1f dB apart", floor, channel, channel-floor)

	lis.pick("#listen-language", "floor")
	servertest.Eventually(t, "the 1200 Hz peak gone after picking Floor", func() (bool, string) {
		floor, channel = lis.levels()
		return floor > -90 && floor-channel >= 30, fmt.Sprintf("440 Hz %.1f dB, 1200 Hz %.1f dB", floor, channel)
	})
	t.Logf("Floor picked: 440 Hz %.1f dB, 1200 Hz %.1f dB", floor, channel)

	// The added CPU of mixing, as a figure (no threshold): the listener's
	// graph (two sources, a gain each, a bus, the analyser) rendered offline
	// for 60 s of audio, against the same sources played straight out.
	cost := eval[[]float64](lis, `(async () => {
		const render = async (mix) => {
			const sr = 48000, ctx = new OfflineAudioContext(1, sr * 60, sr);
			const src = [440, 1200].map((f) => { const o = ctx.createOscillator(); o.frequency.value = f; o.start(); return o; });
			if (mix) {
				const bus = ctx.createGain(), an = ctx.createAnalyser();
				an.fftSize = 8192;
				src.forEach((o, i) => { const g = ctx.createGain(); g.gain.value = i ? 1 : 10 ** (-15 / 20); o.connect(g).connect(bus); });
				bus.connect(an);
				bus.connect(ctx.destination);
			} else src.forEach((o) => o.connect(ctx.destination));
			const t0 = performance.now();
			await ctx.startRendering();
			return performance.now() - t0;
		};
		await render(true); // warm up
		const best = [Infinity, Infinity];
		for (let i = 0; i < 5; i++) for (const mix of [false, true]) best[+mix] = Math.min(best[+mix], await render(mix));
		return best;
	})()`)
	t.Logf("mixing cost: 60 s of audio rendered in %.1f ms plain, %.1f ms through the mix graph (%.2f%% of one core in all; %+.3f%% for the mix)",
		cost[0], cost[1], 100*cost[1]/60000, 100*(cost[1]-cost[0])/60000)
	for _, b := range []*browser{pr, in, lis} {
		b.checkConsole()
	}
}

// TestInterpreterConsoleHandOver (issue "Interpretation"): two
// interpreters in one booth take turns through their consoles: the live
// one presses Hand over, the other sees "Take over from …" and presses it;
// the microphone passes, never both live, and the listener of the channel
// now receives the second interpreter.
func TestInterpreterConsoleHandOver(t *testing.T) {
	srv := startServer(t)
	base := srv.URL()
	id := bookInterpreted(t, base, []string{"en"}, "East Interpreter", "East Interpreter 2")
	i1 := toneBrowser(t, "interpreter1", 1200)
	i2 := toneBrowser(t, "interpreter2", 900)
	lis := toneBrowser(t, "listener", 440)
	i1.enrolAs(base, demo.East, "East Interpreter", role.Interpreter)
	i2.enrolAs(base, demo.East, "East Interpreter 2", role.Interpreter)
	lis.enrolAs(base, demo.West, "West Principal", role.Principal)
	for _, b := range []*browser{i1, i2, lis} {
		b.open(base + "/call/" + id + "?autojoin=1")
		servertest.Eventually(t, b.name+"'s interpretation controls", func() (bool, string) {
			s := b.interp()
			return s.Active && eval[bool](b, `document.querySelector('#listen-language') !== null`), fmt.Sprintf("%+v", s)
		})
	}
	i1.pick("#interp-booth", "en")
	servertest.Eventually(t, "the first interpreter live", func() (bool, string) {
		s := i1.interp()
		return s.Live, fmt.Sprintf("%+v", s)
	})
	i2.pick("#interp-booth", "en")
	lis.pick("#listen-language", "en")
	hears := func(name string) func() (bool, string) {
		return func() (bool, string) {
			s := lis.interp()
			var chans []string
			for _, g := range s.Gains {
				if g.Source == "interpretation" {
					chans = append(chans, g.Name)
				}
			}
			return len(chans) == 1 && chans[0] == name, fmt.Sprint(chans)
		}
	}
	servertest.Eventually(t, "the listener hears the first interpreter", hears("East Interpreter"))
	if s := i2.interp(); s.Live || s.Interprets != "en" {
		t.Fatalf("the second interpreter: %+v", s)
	}
	button := func(b *browser) string {
		return eval[string](b, `(() => { const h = document.querySelector('#interp-hand'); return h.hidden ? '' : h.textContent; })()`)
	}
	if got := button(i1); got != "Hand over" {
		t.Fatalf("the live interpreter's button: %q", got)
	}
	i1.do(chromedp.Click(chromedp.ID("interp-hand")))
	servertest.Eventually(t, "the partner sees the request", func() (bool, string) {
		got := button(i2)
		return got == "Take over from East Interpreter", got
	})
	if !i1.interp().Live {
		t.Fatal("the first interpreter stopped being live before the partner took over")
	}
	i2.do(chromedp.Click(chromedp.ID("interp-hand")))
	servertest.Eventually(t, "the microphone passed", func() (bool, string) {
		a, b := i1.interp(), i2.interp()
		return !a.Live && b.Live && !a.HandOver, fmt.Sprintf("first %+v, second %+v", a, b)
	})
	servertest.Eventually(t, "the listener hears the second interpreter", hears("East Interpreter 2"))
	for _, b := range []*browser{i1, i2, lis} {
		b.checkConsole()
	}
}
