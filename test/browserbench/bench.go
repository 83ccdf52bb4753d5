package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"hotline/internal/chromium"
	"hotline/internal/demo"
	"hotline/internal/load"
	"hotline/internal/role"
	"hotline/internal/store"
)

// config is one run.
type config struct {
	browsers         int
	duration, warmup time.Duration
	joins            int
	pageQuery, tags  string
	hotline          string // the server binary; "": build one
	width, height    int
	json             bool
	log              *slog.Logger
	stderr           io.Writer
}

// callName is the call every browser joins.
const callName = "bench"

// patience bounds each wait on the browsers (to decode every other, a late
// joiner's first frames): it only keeps a broken run from hanging.
const patience = 3 * time.Minute

// joinPatience bounds a late joiner's wait for a frame from every other
// browser; a join that misses some within it is reported as such.
const joinPatience = time.Minute

//go:embed measure.js
var measureJS string

// measureScript is measure.js with the barcode's layout from camera.go.
func measureScript() string {
	return fmt.Sprintf("const COLS = %d, ROWS = %d, DATA = %d, CBITS = %d;\n", barCols, barRows, dataBits, counterBits) + measureJS
}

// run is the benchmark, in a loopback-only namespace.
func run(ctx context.Context, cfg config, stdout io.Writer) (err error) {
	if err := chromium.Check(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "browserbench-")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	if cfg.hotline == "" {
		if cfg.hotline, err = build(ctx, dir, cfg.tags, cfg.stderr); err != nil {
			return err
		}
	}
	// Browsers 0..N-1 are in the call; browser N is the late joiner.
	links, err := provision(ctx, filepath.Join(dir, "data"), cfg.browsers+1)
	if err != nil {
		return err
	}
	cams := make([]string, cfg.browsers+1)
	for i := range cams {
		cams[i] = filepath.Join(dir, fmt.Sprintf("camera-%d.y4m", i))
		if err := writeCamera(cams[i], i); err != nil {
			return err
		}
	}
	// Every browser connects from 127.0.0.1: lift the per-address bound.
	srv, err := load.StartProcess(ctx, cfg.hotline, []string{"demo", "--listen", "127.0.0.1:0", "--udp-port", "0", "--tcp-port", "0",
		"--data", filepath.Join(dir, "data"), "--max-conns", "-1", "--max-conns-per-address", "-1"})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, srv.Stop()) }()
	cfg.log.Info("server started", "url", srv.URL(), "pid", srv.PID())
	callURL := func(i int) (string, error) {
		q, err := url.ParseQuery(cfg.pageQuery)
		if err != nil {
			return "", fmt.Errorf("-page-query: %w", err)
		}
		q.Set("name", links[i].Name)
		q.Set("autojoin", "1")
		return srv.URL() + "/call/" + callName + "?" + q.Encode(), nil
	}
	if _, err := callURL(0); err != nil {
		return err
	}

	// Open the call: all browsers at once.
	bs := make([]*browser, cfg.browsers)
	defer func() {
		for _, b := range bs {
			if b != nil {
				b.close()
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make([]error, cfg.browsers)
	for i := range bs {
		wg.Go(func() {
			b, err := launchBrowser(ctx, dir, i, cams[i], cfg.width, cfg.height)
			bs[i] = b
			if err == nil {
				err = b.enrol(links[i].URL(srv.URL()))
			}
			if err == nil {
				u, _ := callURL(i)
				err = b.navigate(u)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	cfg.log.Info("browsers opened the call", "browsers", cfg.browsers)
	for i, b := range bs {
		if err := b.waitSenders(ctx, others(cfg.browsers, i), patience); err != nil {
			return err
		}
	}
	cfg.log.Info("every browser decodes every other; warming up", "warmup", cfg.warmup)
	if err := sleep(ctx, cfg.warmup); err != nil {
		return err
	}

	w, err := measureWindow(ctx, cfg, srv.PID(), bs)
	if err != nil {
		return err
	}
	rep := w.report(cfg)

	if cfg.joins > 0 {
		cfg.log.Info("late joiner")
		late, err := launchBrowser(ctx, dir, cfg.browsers, cams[cfg.browsers], cfg.width, cfg.height)
		if err != nil {
			return err
		}
		defer late.close()
		if err := late.enrol(links[cfg.browsers].URL(srv.URL())); err != nil {
			return err
		}
		u, _ := callURL(cfg.browsers)
		for range cfg.joins {
			j, err := late.join(ctx, u, others(cfg.browsers+1, cfg.browsers))
			if err != nil {
				// The window's figures stand; the report says the
				// join failed, and the run fails at the end.
				rep.JoinError = err.Error()
				break
			}
			rep.Joins = append(rep.Joins, j)
		}
		rep.summariseJoins()
	}

	table := stdout
	if cfg.json {
		table = cfg.stderr
	}
	if err := rep.writeTable(table); err != nil {
		return err
	}
	if cfg.json {
		if err := rep.writeJSON(stdout); err != nil {
			return err
		}
	}
	if rep.JoinError != "" {
		return errors.New(rep.JoinError)
	}
	return nil
}

// provision makes the demo line in dataDir with n enrolment links for
// principals (who join the call at once), before the server starts.
func provision(ctx context.Context, dataDir string, n int) ([]demo.Link, error) {
	if _, err := demo.Provision(ctx, dataDir); err != nil {
		return nil, err
	}
	st, err := store.Open(dataDir, nil)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	links := make([]demo.Link, n)
	for i := range links {
		if links[i], err = demo.AddLink(ctx, st, demo.East, fmt.Sprintf("browser-%d", i), []role.Role{role.Principal}); err != nil {
			return nil, err
		}
	}
	return links, nil
}

// others lists the senders 0..n-1 but self.
func others(n, self int) []int {
	var out []int
	for i := range n {
		if i != self {
			out = append(out, i)
		}
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// browser is one headless Chromium with one tab.
type browser struct {
	index  int
	ctx    context.Context
	cancel func()
	pid    int
}

// launchBrowser starts Chromium with camera as its camera file, the fake
// microphone, and the measuring script in every page it opens.
func launchBrowser(ctx context.Context, dir string, index int, camera string, width, height int) (*browser, error) {
	profile := filepath.Join(dir, fmt.Sprintf("profile-%d", index))
	opts := append(chromium.Options(profile, width, height, true),
		chromedp.Flag("use-file-for-fake-video-capture", camera))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelCtx := chromedp.NewContext(allocCtx)
	b := &browser{index: index, ctx: bctx, cancel: func() { cancelCtx(); cancelAlloc() }}
	if _, err := chromedp.Call(bctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: measureScript()}); err != nil {
		b.close()
		return nil, fmt.Errorf("browser %d: start and inject the measuring script: %w", index, err)
	}
	p := chromedp.FromContext(bctx).Browser.Process()
	if p == nil {
		b.close()
		return nil, fmt.Errorf("browser %d: no process", index)
	}
	b.pid = p.Pid
	return b, nil
}

func (b *browser) close() { b.cancel() }

// enrol opens an enrolment link and waits until the page says the browser
// is enrolled.
func (b *browser) enrol(link string) error {
	if err := chromedp.Do(b.ctx, chromedp.Navigate(link)); err != nil {
		return fmt.Errorf("browser %d: open the enrolment link: %w", b.index, err)
	}
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`document.querySelector('[data-state="enrolled"]') !== null`,
		chromedp.WithPollingTimeout(patience))); err != nil {
		return fmt.Errorf("browser %d: enrolment did not complete: %w", b.index, err)
	}
	return nil
}

func (b *browser) navigate(u string) error {
	if err := chromedp.Do(b.ctx, chromedp.Navigate(u)); err != nil {
		return fmt.Errorf("browser %d: open %s: %w", b.index, u, err)
	}
	return nil
}

// eval evaluates a JavaScript expression (awaiting a promise) and decodes
// its value.
func eval[T any](b *browser, js string) (T, error) {
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return v, fmt.Errorf("browser %d: %s: %w", b.index, js, err)
	}
	return v, nil
}

// joinTimes mirrors __gbench.join() (measure.js); times in ms since the
// epoch, 0 for not yet.
type joinTimes struct {
	Navigation  float64            `json:"navigation"`
	JoinSent    float64            `json:"joinSent"`
	FirstRemote float64            `json:"firstRemote"`
	First       map[string]float64 `json:"first"` // by sender index
	Unread      int                `json:"unread"`
}

// errMissing: a page did not read a frame from every sender in time.
var errMissing = errors.New("no frame read from every other browser")

// waitSenders waits until the page has read a frame from each of senders.
func (b *browser) waitSenders(ctx context.Context, senders []int, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		j, err := eval[joinTimes](b, `window.__gbench.join()`)
		if err != nil {
			return err
		}
		missing := 0
		for _, s := range senders {
			if j.First[fmt.Sprint(s)] == 0 {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("browser %d: %w: none from %d of %v within %v (%d frames unreadable); the page's state: %s", b.index, errMissing, missing, senders, patience, j.Unread, b.pageState())
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// join opens the call page, waits for a frame from every sender and
// leaves (about:blank), and reports the times from its navigation start.
// A join that saw frames from some senders only is reported with those
// missing; one that saw no remote frame at all is an error.
func (b *browser) join(ctx context.Context, u string, senders []int) (joinReport, error) {
	if err := b.navigate(u); err != nil {
		return joinReport{}, err
	}
	werr := b.waitSenders(ctx, senders, joinPatience)
	if werr != nil && !errors.Is(werr, errMissing) {
		return joinReport{}, werr
	}
	j, err := eval[joinTimes](b, `window.__gbench.join()`)
	if err != nil {
		return joinReport{}, err
	}
	if j.FirstRemote == 0 {
		return joinReport{}, fmt.Errorf("late join: no remote frame at all: %w", werr)
	}
	r := joinReport{PageToFirstMs: j.FirstRemote - j.Navigation}
	last := 0.0
	for _, s := range senders {
		if f := j.First[fmt.Sprint(s)]; f > 0 {
			last = max(last, f)
		} else {
			r.Missing = append(r.Missing, s)
		}
	}
	if len(r.Missing) == 0 {
		r.PageToAllMs = last - j.Navigation
	}
	if j.JoinSent > 0 {
		r.JoinToFirstMs = j.FirstRemote - j.JoinSent
	}
	if err := b.navigate("about:blank"); err != nil {
		return joinReport{}, err
	}
	// Let the server see the leave before the next join.
	return r, sleep(ctx, 2*time.Second)
}

// pageState summarises the app's own view of the call (window.hotline.state(),
// internal/web/static/app.js) for an error message.
func (b *browser) pageState() string {
	s, err := eval[string](b, `(() => { const s = window.hotline?.state?.(); return s ? JSON.stringify({joined: s.joined, connection: s.connection, roster: s.roster, errors: s.errors, tiles: (s.tiles ?? []).map((t) => [t.name, t.kind, t.framesDecoded, t.packetsReceived])}) : 'no app'; })()`)
	if err != nil {
		return err.Error()
	}
	return s
}
