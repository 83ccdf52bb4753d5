package load

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"hotline/internal/client"
	"hotline/internal/protocol"
	"hotline/internal/srtpfloor"
)

// mediaTimeout bounds the wait for every new participant to receive
// everyone else; past it the server is taken to be overloaded.
const mediaTimeout = 60 * time.Second

// joinTimeout bounds one endpoint's join (until the server's welcome).
const joinTimeout = 30 * time.Second

// pollInterval paces the checks for flowing media.
const pollInterval = 50 * time.Millisecond

// ErrNoMedia: an endpoint could not join, or media did not reach every
// participant in time. During a ramp it marks the server's limit rather
// than a failure of the bench.
var ErrNoMedia = errors.New("load: media did not flow")

// bench is one run's state: its endpoints, grouped by call.
type bench struct {
	cfg     Config
	log     *slog.Logger
	scraper *Scraper
	prefix  string // call names: <prefix>-<n>, unique per run
	calls   [][]*client.Client
}

// Run measures the server at cfg.Server as cfg says, and closes every
// endpoint it started before returning, whatever happened.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Server == "" {
		return Report{}, fmt.Errorf("%w: no server URL", ErrConfig)
	}
	if cfg.Metrics == "" {
		return Report{}, fmt.Errorf("%w: no metrics URL (the server's --metrics-listen address)", ErrConfig)
	}
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	if cfg.Enrol == nil || cfg.Line == "" {
		return Report{}, fmt.Errorf("%w: no line and enrolment (the server admits only enrolled devices)", ErrConfig)
	}
	if cfg.FloorBudget == 0 {
		cfg.FloorBudget = DefaultFloorBudget
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.ClientLog == nil {
		cfg.ClientLog = slog.New(slog.DiscardHandler)
	}
	rep := Report{Ramp: cfg.Ramp, E2EE: cfg.E2EE}
	// The floor first, before any endpoint competes with it for the CPU.
	floor, err := measureFloor(cfg.Participants-1, cfg.FloorBudget)
	if err != nil {
		return Report{}, err
	}
	rep.FloorMicrosPerPkt = round(floor, 4)
	cfg.Log.Info("SRTP floor", "us_per_forwarded_packet", rep.FloorMicrosPerPkt, "subscribers", cfg.Participants-1)
	if cfg.E2EE {
		c, err := measureSFrame(cfg.FloorBudget)
		if err != nil {
			return Report{}, err
		}
		rep.SFrame = &c
		cfg.Log.Info("SFrame cost", "seal_us_per_frame", c.SealMicros, "open_us_per_frame", c.OpenMicros, "mean_frame_bytes", c.MeanFrameBytes)
	}

	var tag [3]byte
	_, _ = rand.Read(tag[:])
	// The metrics listener speaks plain HTTP on loopback, whatever the
	// public listener does.
	b := &bench{cfg: cfg, log: cfg.Log, scraper: NewScraper(cfg.Metrics, nil), prefix: "bench-" + hex.EncodeToString(tag[:])}
	defer b.close()

	added := cfg.Calls
	for {
		step, err := b.step(ctx, added, floor)
		if err != nil {
			if !cfg.Ramp || len(rep.Steps) == 0 || !errors.Is(err, ErrNoMedia) {
				return Report{}, err
			}
			// Past capacity, new calls may never get their media: that ends
			// the ramp like a failed step.
			rep.StopReason = err.Error()
			return rep, nil
		}
		rep.Steps = append(rep.Steps, step)
		b.log.Info("step", "calls", step.Calls, "streams", step.Streams, "pass", step.Pass,
			"loss", step.LossRatio, "residence_p99_us", step.ResidenceP99us)
		if !cfg.Ramp {
			return rep, nil
		}
		if !step.Pass {
			rep.StopReason = fmt.Sprintf("%d calls: loss %.4f (max %g), residence p99 %.0f µs (max %.0f)",
				step.Calls, step.LossRatio, cfg.MaxLoss, step.ResidenceP99us, float64(cfg.MaxP99.Microseconds()))
			return rep, nil
		}
		rep.CapacityCalls, rep.CapacityStreams = step.Calls, step.Streams
		if step.Calls >= cfg.MaxCalls {
			rep.StopReason = fmt.Sprintf("reached the limit of %d calls", cfg.MaxCalls)
			return rep, nil
		}
		added = min(cfg.Step, cfg.MaxCalls-step.Calls)
	}
}

// step adds n calls, waits for their media, then measures one window over
// every call running.
func (b *bench) step(ctx context.Context, n int, floor float64) (Step, error) {
	fresh, err := b.addCalls(ctx, n)
	if err != nil {
		return Step{}, err
	}
	if err := b.awaitMedia(ctx, fresh); err != nil {
		return Step{}, err
	}
	all := b.clients()
	s0, err := b.scraper.Scrape(ctx)
	if err != nil {
		return Step{}, err
	}
	start := snapshot(all)
	timer := time.NewTimer(b.cfg.Duration)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
		return Step{}, fmt.Errorf("load: interrupted: %w", ctx.Err())
	}
	s1, err := b.scraper.Scrape(ctx)
	if err != nil {
		return Step{}, err
	}
	end := snapshot(all)
	if err := sessionsAlive(all); err != nil {
		return Step{}, err
	}
	return b.figures(s0, s1, start, end, snapshot(fresh), floor)
}

// figures assembles a step from the window's scrapes and snapshots; join
// times come from the endpoints this step added.
func (b *bench) figures(s0, s1 Sample, start, end, fresh []client.Stats, floor float64) (Step, error) {
	srv, err := serverWindow(s0, s1)
	if err != nil {
		return Step{}, err
	}
	var ds []trackDelta
	for i := range end {
		ds = append(ds, trackDeltas(start[i], end[i])...)
	}
	ow := oneWay(ds)
	joins, missing := joinTimes(fresh)
	if missing > 0 {
		return Step{}, fmt.Errorf("%w: %d received tracks without a first frame", ErrNoMedia, missing)
	}
	calls, p := len(b.calls), b.cfg.Participants
	st := Step{
		Calls:            calls,
		Participants:     p,
		Streams:          calls * p * (p - 1),
		DurationS:        round(srv.seconds, 3),
		ForwardedPPS:     round(srv.forwardedPPS, 1),
		ForwardedMbps:    round(srv.forwardedMbps, 3),
		CPUMicrosPerPkt:  round(srv.cpuMicrosPerPkt, 3),
		ServerCPUPercent: round(srv.cpuPercent, 1),
		ResidenceP50us:   round(srv.residenceP50us, 1),
		ResidenceP99us:   round(srv.residenceP99us, 1),
		ResidenceP999us:  round(srv.residenceP999us, 1),
		ServerRSSMB:      round(s1.RSSBytes/1e6, 1),
		JoinP50ms:        round(ms(percentile(joins, 0.50)), 2),
		JoinP95ms:        round(ms(percentile(joins, 0.95)), 2),
		OneWayP50ms:      round(ms(ow.Quantile(0.50)), 3),
		OneWayP99ms:      round(ms(ow.Quantile(0.99)), 3),
		LossRatio:        round(lossRatio(ds), 6),
	}
	if floor > 0 {
		st.CPURatioToFloor = round(srv.cpuMicrosPerPkt/floor, 2)
	}
	st.Pass = !b.cfg.Ramp || (st.LossRatio <= b.cfg.MaxLoss && srv.residenceP99us <= float64(b.cfg.MaxP99)/float64(time.Microsecond))
	return st, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// addCalls starts n calls, joining their participants one after another,
// and returns the new endpoints.
func (b *bench) addCalls(ctx context.Context, n int) ([]*client.Client, error) {
	var fresh []*client.Client
	for range n {
		name := fmt.Sprintf("%s-%d", b.prefix, len(b.calls)+1)
		b.calls = append(b.calls, nil)
		members := &b.calls[len(b.calls)-1]
		for j := range b.cfg.Participants {
			jctx, cancel := context.WithTimeout(ctx, joinTimeout)
			dev, err := b.cfg.Enrol(fmt.Sprintf("p%d", j+1))
			if err != nil {
				cancel()
				return nil, fmt.Errorf("load: enrol: %w", err)
			}
			c, err := client.Join(jctx, client.Config{
				Server:      b.cfg.Server,
				TLS:         b.cfg.TLS,
				Line:        b.cfg.Line,
				Call:        name,
				Device:      dev,
				Publish:     true,
				PlainFrames: !b.cfg.E2EE,
				Logger:      b.cfg.ClientLog,
			})
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return nil, fmt.Errorf("load: interrupted: %w", ctx.Err())
				}
				return nil, fmt.Errorf("%w: join %s as p%d: %w", ErrNoMedia, name, j+1, err)
			}
			*members = append(*members, c)
			fresh = append(fresh, c)
		}
	}
	b.log.Info("joined", "calls", len(b.calls), "new_endpoints", len(fresh))
	return fresh, nil
}

// awaitMedia waits until each endpoint receives audio and a complete video
// frame from every other participant of its call.
func (b *bench) awaitMedia(ctx context.Context, cs []*client.Client) error {
	deadline := time.NewTimer(mediaTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		missing := 0
		for _, c := range cs {
			st := c.Stats()
			missing += 2*(b.cfg.Participants-1) - receivingFrom(st, protocol.KindAudio) - receivingFrom(st, protocol.KindVideo)
		}
		if missing == 0 {
			return nil
		}
		if err := sessionsAlive(cs); err != nil {
			return err
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return fmt.Errorf("%w: %d (endpoint, track) pairs without media after %v", ErrNoMedia, missing, mediaTimeout)
		case <-ctx.Done():
			return fmt.Errorf("load: interrupted: %w", ctx.Err())
		}
	}
}

// receivingFrom counts the live tracks of kind that have delivered a
// complete frame.
func receivingFrom(s client.Stats, kind string) int {
	n := 0
	for _, t := range s.Tracks {
		if t.Kind == kind && !t.Ended && t.Frames > 0 {
			n++
		}
	}
	return n
}

// sessionsAlive fails if any endpoint's signalling session has ended.
func sessionsAlive(cs []*client.Client) error {
	for _, c := range cs {
		select {
		case <-c.Done():
			return fmt.Errorf("load: endpoint %s left unexpectedly: %w", c.ID(), c.Err())
		default:
		}
	}
	return nil
}

func (b *bench) clients() []*client.Client {
	var all []*client.Client
	for _, call := range b.calls {
		all = append(all, call...)
	}
	return all
}

func snapshot(cs []*client.Client) []client.Stats {
	out := make([]client.Stats, len(cs))
	for i, c := range cs {
		out[i] = c.Stats()
	}
	return out
}

// close ends every endpoint, in parallel (each waits for its own
// goroutines), and the scraper's connections.
func (b *bench) close() {
	var wg sync.WaitGroup
	for _, c := range b.clients() {
		wg.Go(func() {
			if err := c.Close(); err != nil {
				b.log.Debug("close endpoint", "err", err)
			}
		})
	}
	wg.Wait()
	b.scraper.Close()
}

// measureFloor runs the SRTP floor for subscribers, sized to take about
// budget: a short run calibrates the packet count.
func measureFloor(subscribers int, budget time.Duration) (float64, error) {
	const probe = 500
	r, err := srtpfloor.Measure(subscribers, probe, 1200)
	if err != nil {
		return 0, fmt.Errorf("load: floor: %w", err)
	}
	packets := probe
	if perPacket := r.NsPerForwarded * float64(subscribers); perPacket > 0 {
		packets = int(min(max(float64(budget)/perPacket, probe), 50e6))
	}
	if r, err = srtpfloor.Measure(subscribers, packets, 1200); err != nil {
		return 0, fmt.Errorf("load: floor: %w", err)
	}
	return r.NsPerForwarded / 1000, nil
}
