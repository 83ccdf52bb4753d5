// Package load is `hotline bench`: it drives a running server with native
// endpoints (internal/client), several calls of several participants, each
// publishing the test media and receiving everyone else, and measures the
// line. The server's side (CPU per forwarded packet, throughput, residence
// in the SFU) comes from scraping its /metrics at both ends of a window
// that starts once every participant receives media, so joins are left out;
// the endpoints' side (one-way delay, loss, join time) from their own
// statistics. The SRTP floor (internal/srtpfloor) is measured alongside, as
// the yardstick for the CPU figure.
//
// The server should be a process of its own (Process starts one): its CPU
// counter then measures the server alone.
package load

import (
	"crypto/tls"
	"hotline/internal/trust"

	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
)

// Bounds and defaults of a Config.
const (
	MaxParticipants = 16   // the server's default per-call limit
	MaxCalls        = 1000 // a bound on the endpoints this process runs, not on the server
	MinDuration     = time.Second
	MaxDuration     = time.Hour

	DefaultDuration    = 10 * time.Second
	DefaultMaxLoss     = 0.005
	DefaultMaxP99      = time.Millisecond
	DefaultFloorBudget = time.Second
)

// ErrConfig: a Config is out of bounds.
var ErrConfig = errors.New("load: invalid configuration")

// Config is one bench run.
type Config struct {
	Server       string        // the server's base URL; must be on loopback
	Metrics      string        // base URL of its metrics listener (serve --metrics-listen); must be on loopback
	TLS          *tls.Config   // for an https Server (nil: the system roots)
	Calls        int           // calls at the start
	Participants int           // per call, 2..MaxParticipants
	Duration     time.Duration // measured window of each step

	// Ramp adds Step calls after each step that passes (loss ≤ MaxLoss and
	// residence p99 ≤ MaxP99), keeping the earlier calls, until one fails
	// or MaxCalls calls ran.
	Ramp     bool
	Step     int
	MaxCalls int
	MaxLoss  float64
	MaxP99   time.Duration

	// FloorBudget is about how long the SRTP floor measurement runs;
	// 0: DefaultFloorBudget.
	FloorBudget time.Duration

	Log       *slog.Logger // progress; nil: discarded
	ClientLog *slog.Logger // the endpoints' own logs; nil: discarded

	// Line is the line the bench's calls belong to, and Enrol makes one
	// enrolled device of it per endpoint (required by Run: the server
	// admits only enrolled devices).
	Line  string
	Enrol func(name string) (*trust.Device, error)
	// E2EE encrypts every frame end to end with SFrame, as real clients
	// do; without it frames go unencrypted (keys are still exchanged), so
	// that the two runs show what encryption costs.
	E2EE bool
}

// Validate checks every bound. An empty Server or Metrics passes, so that a command
// can check its flags before it starts the server (Run requires one).
func (c Config) Validate() error {
	for _, u := range []string{c.Server, c.Metrics} {
		if u != "" {
			if err := loopbackURL(u); err != nil {
				return err
			}
		}
	}
	switch {
	case c.Calls < 1 || c.Calls > MaxCalls:
		return fmt.Errorf("%w: %d calls, between 1 and %d allowed", ErrConfig, c.Calls, MaxCalls)
	case c.Participants < 2 || c.Participants > MaxParticipants:
		return fmt.Errorf("%w: %d participants per call, between 2 and %d allowed", ErrConfig, c.Participants, MaxParticipants)
	case c.Duration < MinDuration || c.Duration > MaxDuration:
		return fmt.Errorf("%w: duration %v, between %v and %v allowed", ErrConfig, c.Duration, MinDuration, MaxDuration)
	case c.FloorBudget < 0 || c.FloorBudget > time.Minute:
		return fmt.Errorf("%w: floor budget %v, between 0 and 1m allowed", ErrConfig, c.FloorBudget)
	}
	if !c.Ramp {
		return nil
	}
	switch {
	case c.Step < 1 || c.Step > MaxCalls:
		return fmt.Errorf("%w: ramp step of %d calls, between 1 and %d allowed", ErrConfig, c.Step, MaxCalls)
	case c.MaxCalls < c.Calls || c.MaxCalls > MaxCalls:
		return fmt.Errorf("%w: at most %d calls, between the %d to start with and %d allowed", ErrConfig, c.MaxCalls, c.Calls, MaxCalls)
	case !(c.MaxLoss >= 0 && c.MaxLoss <= 1): // also refuses NaN
		return fmt.Errorf("%w: loss bound %v, between 0 and 1 allowed", ErrConfig, c.MaxLoss)
	case c.MaxP99 <= 0 || c.MaxP99 > 10*time.Second:
		return fmt.Errorf("%w: residence p99 bound %v, above 0 and at most 10s allowed", ErrConfig, c.MaxP99)
	}
	return nil
}

// loopbackURL accepts an http(s) base URL on a loopback host. The bench
// sends Mbit/s of media per participant: it is for a server on this
// machine, not for loading one that others use over a network.
func loopbackURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%w: server URL: %w", ErrConfig, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: server URL %q: scheme must be http or https", ErrConfig, s)
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%w: server URL %q: the bench loads servers on this machine only (a loopback address)", ErrConfig, s)
	}
	return nil
}
