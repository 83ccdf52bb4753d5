package load

// The soak (`hotline bench --soak`): one call of four for hours, as the
// talks go: three residents stay while advisers come and go, one at a time,
// and each leave rotates the end-to-end keys. It samples the server (RSS,
// goroutines) and the residents (SDP size, loss) every SampleEvery, so that
// growth shows: the summary compares the figures after a warm-up with the
// figures at the end.

import (
	"context"
	"crypto/tls"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"hotline/internal/client"
	"hotline/internal/trust"
)

// Bounds of a SoakConfig.
const (
	MinSoak            = 5 * time.Second
	MaxSoak            = 24 * time.Hour
	MinVisitEvery      = time.Second
	MinSampleEvery     = 100 * time.Millisecond
	DefaultSampleEvery = 10 * time.Second
	soakResidents      = 3 // the call of four: three residents and a visitor
)

// SoakConfig is one soak run.
type SoakConfig struct {
	Server, Metrics string      // as in Config: loopback only
	TLS             *tls.Config // for an https Server
	Line            string
	Enrol           func(name string) (*trust.Device, error)

	Duration    time.Duration // the whole run
	VisitEvery  time.Duration // an adviser joins this often, the first at once
	Stay        time.Duration // and stays this long; 0: half of VisitEvery
	SampleEvery time.Duration // 0: DefaultSampleEvery
	WarmUp      time.Duration // samples before it are not the baseline; 0: a fifth of Duration

	CSV       io.Writer    // one row per sample (SoakCSVHeader); may be nil
	Log       *slog.Logger // progress; nil: discarded
	ClientLog *slog.Logger // the endpoints' logs; nil: discarded
}

func (c *SoakConfig) defaults() error {
	if c.Stay == 0 {
		c.Stay = c.VisitEvery / 2
	}
	if c.SampleEvery == 0 {
		c.SampleEvery = DefaultSampleEvery
	}
	if c.WarmUp == 0 {
		c.WarmUp = c.Duration / 5
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.ClientLog == nil {
		c.ClientLog = slog.New(slog.DiscardHandler)
	}
	for _, u := range []string{c.Server, c.Metrics} {
		if err := loopbackURL(u); err != nil {
			return err
		}
	}
	switch {
	case c.Enrol == nil || c.Line == "":
		return fmt.Errorf("%w: no line and enrolment", ErrConfig)
	case c.Duration < MinSoak || c.Duration > MaxSoak:
		return fmt.Errorf("%w: soak of %v, between %v and %v allowed", ErrConfig, c.Duration, MinSoak, MaxSoak)
	case c.VisitEvery < MinVisitEvery || c.VisitEvery > c.Duration:
		return fmt.Errorf("%w: a visit every %v, between %v and the soak's %v allowed", ErrConfig, c.VisitEvery, MinVisitEvery, c.Duration)
	case c.Stay <= 0 || c.Stay >= c.VisitEvery:
		return fmt.Errorf("%w: a stay of %v, above 0 and below the %v between visits allowed", ErrConfig, c.Stay, c.VisitEvery)
	case c.SampleEvery < MinSampleEvery || c.SampleEvery > c.Duration:
		return fmt.Errorf("%w: a sample every %v, between %v and the soak's %v allowed", ErrConfig, c.SampleEvery, MinSampleEvery, c.Duration)
	case c.WarmUp < 0 || c.WarmUp >= c.Duration:
		return fmt.Errorf("%w: a warm-up of %v, below the soak's %v allowed", ErrConfig, c.WarmUp, c.Duration)
	}
	return nil
}

// SoakSample is one row of the soak's CSV.
type SoakSample struct {
	ElapsedS   float64
	RSSBytes   float64 // the server's
	Goroutines float64 // the server's
	SDPBytes   int     // the largest resident's local description
	MLines     int     // its m-lines
	Visits     int     // advisers who have joined so far
	Visitor    bool    // one is in the call now
	LossRatio  float64 // the residents' received packets lost since the last sample
	KeyEpochs  int     // distinct keys the first resident has sent with so far
}

// SoakCSVHeader is the CSV's first row.
var SoakCSVHeader = []string{"elapsed_s", "rss_bytes", "goroutines", "sdp_bytes", "mlines", "visits", "visitor", "loss_ratio", "key_epochs"}

func (s SoakSample) row() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return []string{f(round(s.ElapsedS, 3)), f(s.RSSBytes), f(s.Goroutines), strconv.Itoa(s.SDPBytes), strconv.Itoa(s.MLines),
		strconv.Itoa(s.Visits), strconv.FormatBool(s.Visitor), f(round(s.LossRatio, 6)), strconv.Itoa(s.KeyEpochs)}
}

// soak is one run's state.
type soak struct {
	cfg       SoakConfig
	scraper   *Scraper
	call      string
	residents []*client.Client
	kids      map[uint64]bool

	mu        sync.Mutex // the visits' state, shared with the visiting goroutine
	visitor   *client.Client
	visitName string
	visits    int
	decrypted int  // visits whose media the first resident decrypted
	seen      bool // the current one's
	start     time.Time
	expected  uint64 // the residents' expected and lost packets at the last sample
	lost      uint64
	samples   []SoakSample
	csv       *csv.Writer
}

// Soak runs cfg and returns its summary; every endpoint it started is
// closed before it returns.
func Soak(ctx context.Context, cfg SoakConfig) (SoakSummary, error) {
	if err := cfg.defaults(); err != nil {
		return SoakSummary{}, err
	}
	tag := time.Now().UnixNano()
	s := &soak{cfg: cfg, scraper: NewScraper(cfg.Metrics, nil), call: fmt.Sprintf("soak-%x", tag), kids: map[uint64]bool{}}
	defer s.close()
	if cfg.CSV != nil {
		s.csv = csv.NewWriter(cfg.CSV)
		if err := s.csv.Write(SoakCSVHeader); err != nil {
			return SoakSummary{}, fmt.Errorf("load: soak CSV: %w", err)
		}
	}
	for i := range soakResidents {
		c, err := s.join(ctx, fmt.Sprintf("resident%d", i+1))
		if err != nil {
			return SoakSummary{}, err
		}
		s.residents = append(s.residents, c)
	}
	if err := s.awaitResidents(ctx); err != nil {
		return SoakSummary{}, err
	}
	s.start = time.Now()
	vctx, stop := context.WithCancel(ctx)
	visiting := make(chan error, 1)
	go func() { visiting <- s.visit(vctx) }()
	defer func() {
		stop()
		<-visiting
	}()
	end := time.NewTimer(cfg.Duration)
	defer end.Stop()
	sampler := time.NewTicker(cfg.SampleEvery)
	defer sampler.Stop()
	for {
		select {
		case <-ctx.Done():
			return SoakSummary{}, fmt.Errorf("load: interrupted: %w", ctx.Err())
		case err := <-visiting:
			visiting <- nil // for the deferred wait
			return SoakSummary{}, err
		case <-end.C:
			if err := s.sample(ctx); err != nil {
				return SoakSummary{}, err
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.summary(), nil
		case <-sampler.C:
			if err := s.sample(ctx); err != nil {
				return SoakSummary{}, err
			}
		}
		if err := sessionsAlive(s.residents); err != nil {
			return SoakSummary{}, err
		}
	}
}

// visit lets an adviser in every VisitEvery, the first at once, for Stay
// each (or less, if its join took longer), until ctx ends.
func (s *soak) visit(ctx context.Context) error {
	tick := time.NewTicker(s.cfg.VisitEvery)
	defer tick.Stop()
	for {
		s.mu.Lock()
		s.visits++
		name := fmt.Sprintf("adviser%d", s.visits)
		s.mu.Unlock()
		c, err := s.join(ctx, name)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.visitor, s.visitName, s.seen = c, name, false
		s.mu.Unlock()
		// The stay begins once the visitor is seen: its media decrypted at
		// the first resident.
		if err := s.awaitVisitor(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		stay := time.NewTimer(s.cfg.Stay)
		select {
		case <-ctx.Done():
		case <-stay.C:
		}
		stay.Stop()
		if err := s.endVisit(); err != nil || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (s *soak) join(ctx context.Context, name string) (*client.Client, error) {
	dev, err := s.cfg.Enrol(name)
	if err != nil {
		return nil, fmt.Errorf("load: enrol: %w", err)
	}
	jctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	c, err := client.Join(jctx, client.Config{
		Server: s.cfg.Server, TLS: s.cfg.TLS, Line: s.cfg.Line, Call: s.call,
		Device: dev, Publish: true, Logger: s.cfg.ClientLog,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: join %s as %s: %w", ErrNoMedia, s.call, name, err)
	}
	return c, nil
}

// awaitResidents waits until every resident receives the others' audio and
// video.
func (s *soak) awaitResidents(ctx context.Context) error {
	return poll(ctx, func() bool {
		for _, c := range s.residents {
			st := c.Stats()
			if receivingFrom(st, "audio")+receivingFrom(st, "video") < 2*(soakResidents-1) {
				return false
			}
		}
		return true
	}, "the residents' media")
}

// awaitVisitor waits until the first resident has decrypted the visitor's
// media.
func (s *soak) awaitVisitor(ctx context.Context) error {
	return poll(ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.noteDecrypted()
		return s.seen
	}, "the visitor's media")
}

// poll checks done every pollInterval, for at most mediaTimeout.
func poll(ctx context.Context, done func() bool, what string) error {
	deadline := time.NewTimer(mediaTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for !done() {
		select {
		case <-tick.C:
		case <-deadline.C:
			return fmt.Errorf("%w: %s after %v", ErrNoMedia, what, mediaTimeout)
		case <-ctx.Done():
			return fmt.Errorf("load: interrupted: %w", ctx.Err())
		}
	}
	return nil
}

// endVisit sends the visitor away, noting whether the first resident
// decrypted its media.
func (s *soak) endVisit() error {
	s.mu.Lock()
	s.noteDecrypted()
	c, name := s.visitor, s.visitName
	s.visitor = nil
	s.mu.Unlock()
	lctx, cancel := context.WithTimeout(context.Background(), joinTimeout)
	defer cancel()
	err := c.Leave(lctx)
	c.Close()
	if err != nil {
		return fmt.Errorf("load: %s leaves: %w", name, err)
	}
	return nil
}

// noteDecrypted counts the current visit as decrypted once the first
// resident has decrypted a frame of the visitor's. s.mu must be held.
func (s *soak) noteDecrypted() {
	if s.visitor == nil || s.seen {
		return
	}
	for _, t := range s.residents[0].Stats().Tracks {
		if t.From == s.visitName && t.Decrypted > 0 {
			s.seen = true
			s.decrypted++
			return
		}
	}
}

func (s *soak) sample(ctx context.Context) error {
	m, err := s.scraper.Scrape(ctx)
	if err != nil {
		return err
	}
	if m.RSSBytes == 0 || m.Goroutines == 0 {
		return fmt.Errorf("%w: %s or %s missing", ErrMetrics, nameRSS, nameGoroutines)
	}
	s.mu.Lock()
	s.noteDecrypted()
	smp := SoakSample{ElapsedS: time.Since(s.start).Seconds(), RSSBytes: m.RSSBytes, Goroutines: m.Goroutines, Visits: s.visits, Visitor: s.visitor != nil}
	s.mu.Unlock()
	var expected, lost uint64
	for _, c := range s.residents {
		st := c.Stats()
		if st.SDPBytes > smp.SDPBytes {
			smp.SDPBytes, smp.MLines = st.SDPBytes, st.MLines
		}
		for _, t := range st.Tracks {
			expected += t.Expected
			lost += t.Lost
		}
	}
	if de := int64(expected) - int64(s.expected); de > 0 {
		smp.LossRatio = max(float64(int64(lost)-int64(s.lost)), 0) / float64(de)
	}
	s.expected, s.lost = expected, lost
	s.kids[s.residents[0].Keys().KID()] = true
	smp.KeyEpochs = len(s.kids)
	s.samples = append(s.samples, smp)
	s.cfg.Log.Info("soak", "elapsed", time.Duration(smp.ElapsedS*float64(time.Second)).Round(time.Second),
		"rss_mb", round(smp.RSSBytes/1e6, 1), "goroutines", smp.Goroutines, "sdp_bytes", smp.SDPBytes, "visits", smp.Visits, "loss", round(smp.LossRatio, 4))
	if s.csv == nil {
		return nil
	}
	if err := s.csv.Write(smp.row()); err != nil {
		return fmt.Errorf("load: soak CSV: %w", err)
	}
	s.csv.Flush()
	return s.csv.Error()
}

func (s *soak) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.visitor != nil {
		s.visitor.Close()
	}
	for _, c := range s.residents {
		c.Close()
	}
	s.scraper.Close()
}

// median of the values f picks from samples.
func median(samples []SoakSample, f func(SoakSample) float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	vs := make([]float64, len(samples))
	for i, s := range samples {
		vs[i] = f(s)
	}
	slices.Sort(vs)
	return vs[len(vs)/2]
}
