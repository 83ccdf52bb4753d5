// Package prober runs readiness probes (issue 14): one side's probe joins
// a test call through the real path (signalling, TLS where configured, ICE,
// the SFU, SFrame with real keys), meets the other side's probe there,
// measures what it receives from it, signs its result with its device key
// and reports it to the server, then reads the other side's signed result
// back to compare the verification codes. `hotline probe` drives it.
package prober

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"hotline/internal/apiclient"
	"hotline/internal/certs"
	"hotline/internal/client"
	"hotline/internal/probe"
	"hotline/internal/role"
	"hotline/internal/trust"
)

// Config is one side's probe.
type Config struct {
	Server   string      // the server's base URL
	TLS      *tls.Config // for https (nil: system roots)
	Line     string
	Device   *trust.Device // enrolled with the probe role
	PeerSide string        // the side whose probe to meet ("": the line's other side)
	Run      string        // the test call's name (probe.RunName)
	// Window is how long figures are measured once the other side's first
	// frame is decrypted (0: DefaultWindow); MeetTimeout how long to wait for
	// that frame (0: DefaultMeetTimeout); PeerWait how long to wait for the
	// other side's result once ours is reported (0: DefaultPeerWait).
	Window, MeetTimeout, PeerWait time.Duration
	Logger                        *slog.Logger
}

// Defaults: a run lasts about 20 s when all goes well.
const (
	DefaultWindow      = 15 * time.Second
	DefaultMeetTimeout = 30 * time.Second
	DefaultPeerWait    = 30 * time.Second
	tick               = 20 * time.Millisecond
)

// Outcome is a run as its probe saw it: its own result (signed and
// reported), and the other side's, verified against the device's pins.
type Outcome struct {
	Result    probe.Result
	Peer      *probe.Result // nil if the other side's result did not come within PeerWait
	CodeMatch bool          // both results carry the same verification code digest
	Stored    bool          // the server took our report
}

// Run runs one test call. Its error is for what prevented a result from
// being reported at all (the server unreachable for the report); a failed
// test call is a result with OK false.
func Run(ctx context.Context, cfg Config) (Outcome, error) {
	if cfg.Device == nil || cfg.Device.Credential == nil {
		return Outcome{}, errors.New("prober: no enrolled device")
	}
	self, err := cfg.Device.Identity(time.Now())
	if err != nil {
		return Outcome{}, fmt.Errorf("prober: %w", err)
	}
	if !slices.Contains(self.Roles, role.Probe) {
		return Outcome{}, fmt.Errorf("prober: the device's roles %v hold no probe role", self.Roles)
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.MeetTimeout <= 0 {
		cfg.MeetTimeout = DefaultMeetTimeout
	}
	if cfg.PeerWait <= 0 {
		cfg.PeerWait = DefaultPeerWait
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	res := measure(ctx, cfg, self)
	res.V, res.Line, res.Run, res.Side, res.Device = 1, cfg.Line, cfg.Run, self.Side, self.DeviceID
	if len(res.Reason) > 200 {
		res.Reason = res.Reason[:200]
	}
	return report(ctx, cfg, res)
}

// measure joins the test call and fills the figures of res.
func measure(ctx context.Context, cfg Config, self *trust.Identity) (res probe.Result) {
	start := time.Now()
	res.Started = start.UnixMilli()
	res.PeerSide = cfg.PeerSide
	fail := func(format string, args ...any) probe.Result {
		res.OK, res.Reason = false, fmt.Sprintf(format, args...)
		return res
	}
	c, err := client.Join(ctx, client.Config{
		Server: cfg.Server, TLS: cfg.TLS, Line: cfg.Line, Call: cfg.Run, Device: cfg.Device,
		Publish: true, Cameras: 1, Logger: cfg.Logger,
	})
	if err != nil {
		return fail("join: %v", err)
	}
	defer func() {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := c.Leave(lctx); err != nil {
			c.Close()
		}
	}()

	// Meet: the peer's key verified and held, then its first frame decrypted.
	deadline := time.Now().Add(cfg.MeetTimeout)
	t := time.NewTicker(tick)
	defer t.Stop()
	var peer string
	for res.JoinMs == 0 {
		select {
		case <-ctx.Done():
			return fail("interrupted")
		case <-c.Done():
			return fail("the session ended: %v", c.Err())
		case <-t.C:
		}
		if time.Now().After(deadline) {
			switch {
			case peer == "":
				return fail("no probe of %s joined within %v", sideName(cfg.PeerSide), cfg.MeetTimeout)
			case res.KeyMs == 0:
				return fail("no key from %s's probe within %v", res.PeerSide, cfg.MeetTimeout)
			default:
				return fail("no frame from %s's probe decrypted within %v", res.PeerSide, cfg.MeetTimeout)
			}
		}
		if peer == "" {
			peer, res.PeerSide = findPeer(c, self.Side, cfg.PeerSide)
		}
		if peer == "" {
			continue
		}
		if _, ok := c.Keys().Code(); ok && res.KeyMs == 0 {
			res.KeyMs = max(time.Since(start).Milliseconds(), 1)
		}
		if res.KeyMs > 0 && decrypted(c.Stats(), peer) > 0 {
			res.JoinMs = max(time.Since(start).Milliseconds(), 1)
		}
	}
	// The code is taken now that both are in and hold each other's keys:
	// at the window's end the other probe may already be leaving (the
	// roster changes, keys rotate) and the two would differ for that alone.
	code, ok := c.Keys().Code()
	if !ok {
		return fail("no verification code: a member's key is missing")
	}
	res.CodeDigest = probe.CodeDigest(code)

	// Measure over the window.
	s0, t0 := c.Stats(), time.Now()
	select {
	case <-ctx.Done():
		return fail("interrupted")
	case <-c.Done():
		return fail("the session ended: %v", c.Err())
	case <-time.After(cfg.Window):
	}
	s1, secs := c.Stats(), time.Since(t0).Seconds()
	rx0, rx1 := peerTotals(s0, peer), peerTotals(s1, peer)
	res.BitrateKbps = round(float64(rx1.bytes-rx0.bytes) * 8 / 1000 / secs)
	res.TargetKbps = round(float64(sentBytes(s1)-sentBytes(s0)) * 8 / 1000 / secs)
	if exp := rx1.expected - rx0.expected; exp > 0 {
		res.Loss = math.Round(float64(rx1.lost-rx0.lost)/float64(exp)*10000) / 10000
	}
	res.JitterMs = round(rx1.jitter)
	res.FramesDecrypted = rx1.decrypted
	if rtt, ok := c.RoundTrip(); ok {
		res.RTTMs = round(float64(rtt) / float64(time.Millisecond))
	}
	if rx1.decrypted == rx0.decrypted {
		return fail("no frame from %s's probe decrypted during the %v window", res.PeerSide, cfg.Window)
	}
	res.OK = true
	return res
}

func sideName(s string) string {
	if s == "" {
		return "the other side"
	}
	return s
}

// findPeer is the participant id of a verified member holding the probe
// role on the peer side (any other side when want is ""), and its side.
func findPeer(c *client.Client, own, want string) (id, side string) {
	for pid, who := range c.Keys().Members() {
		if !slices.Contains(who.Roles, role.Probe) {
			continue
		}
		if (want == "" && who.Side != own) || (want != "" && who.Side == want) {
			return pid, who.Side
		}
	}
	return "", ""
}

func decrypted(s client.Stats, peer string) uint64 {
	return peerTotals(s, peer).decrypted
}

type totals struct {
	bytes, expected, lost, decrypted uint64
	jitter                           float64 // the largest of the tracks', ms
}

func peerTotals(s client.Stats, peer string) totals {
	var t totals
	for _, tr := range s.Tracks {
		if tr.Participant != peer {
			continue
		}
		t.bytes += tr.Bytes
		t.expected += tr.Expected
		t.lost += tr.Lost
		t.decrypted += tr.Decrypted
		t.jitter = max(t.jitter, tr.JitterMs)
	}
	return t
}

func sentBytes(s client.Stats) uint64 {
	var n uint64
	for _, st := range s.Sent {
		n += st.Bytes
	}
	return n
}

func round(f float64) float64 { return math.Round(f*100) / 100 }

// report signs res, sends it, and waits for the other side's result.
func report(ctx context.Context, cfg Config, res probe.Result) (Outcome, error) {
	out := Outcome{Result: res}
	rep, err := probe.Sign(cfg.Device, res)
	if err != nil {
		return out, err
	}
	api, err := apiclient.New(cfg.Server, certs.HTTPClient(cfg.TLS, 30*time.Second))
	if err != nil {
		return out, err
	}
	deadline := time.Now().Add(cfg.PeerWait)
	for {
		var run probe.RunReports
		if _, err := api.Do(ctx, "POST", "/api/probe/results", rep, &run); err != nil {
			return out, fmt.Errorf("prober: report: %w", err)
		}
		out.Stored = true
		for _, r := range run.Reports {
			pr, id, err := probe.Verify(r, cfg.Line, cfg.Device.Pins, time.Now())
			if err != nil || pr.Run != res.Run || id.Side == res.Side || (res.PeerSide != "" && id.Side != res.PeerSide) {
				continue
			}
			out.Peer = &pr
			out.CodeMatch = res.CodeDigest != "" && pr.CodeDigest == res.CodeDigest
			return out, nil
		}
		if time.Now().After(deadline) {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return out, nil
		case <-time.After(500 * time.Millisecond):
		}
	}
}
