package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"hotline/internal/probe"
	"hotline/internal/prober"
	"hotline/internal/trust"
)

// probeLine is the output of one run: --json prints it as one object.
type probeLine struct {
	OK              bool    `json:"ok"` // our side met the other, decrypted it, and the codes match
	Run             string  `json:"run"`
	Side            string  `json:"side"`
	PeerSide        string  `json:"peer_side"`
	Reason          string  `json:"reason,omitempty"`
	JoinMs          int64   `json:"join_ms"`
	KeyMs           int64   `json:"key_ms"`
	RTTMs           float64 `json:"rtt_ms"`
	JitterMs        float64 `json:"jitter_ms"`
	Loss            float64 `json:"loss"`
	BitrateKbps     float64 `json:"bitrate_kbps"`
	TargetKbps      float64 `json:"target_kbps"`
	FramesDecrypted uint64  `json:"frames_decrypted"`
	CodeMatch       bool    `json:"code_match"`
	PeerOK          *bool   `json:"peer_ok"` // the other side's signed result; null if it did not come
	Stored          bool    `json:"stored"`
}

// runProbe implements `hotline probe`: one side's readiness probe, a test
// call with the other side's probe every interval (or once).
func runProbe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		server     = fs.String("server", "", "server base `URL` (required)")
		line       = fs.String("line", "", "line `name` (required)")
		devicePath = fs.String("device", "", "device `file` enrolled with the probe role (required)")
		every      = fs.Duration("every", 15*time.Minute, "run a test call every `interval`, at its multiples of UTC time, so both sides' probes meet")
		peerSide   = fs.String("peer-side", "", "the `side` whose probe to meet (default: the line's other side)")
		once       = fs.Bool("once", false, "run one test call now and exit (non-zero unless it passed)")
		asJSON     = fs.Bool("json", false, "print each run as one JSON object")
		runName    = fs.String("run", "", "the test call's `name` (probe-...; default: from the clock and --every)")
		window     = fs.Duration("window", prober.DefaultWindow, "measure for this `duration` once the other side's media is decrypted")
		verbose    = fs.Bool("v", false, "log debugging detail")
		tlsConfig  = caFlag(fs)
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hotline probe --server URL --line L --device FILE [--every 15m] [--peer-side S] [--once] [--json] [--ca FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("probe: unexpected argument %q", fs.Arg(0))
	}
	for _, req := range []struct{ flag, value string }{{"server", *server}, {"line", *line}, {"device", *devicePath}} {
		if req.value == "" {
			return fmt.Errorf("probe: --%s is required", req.flag)
		}
	}
	if *every < time.Minute {
		return fmt.Errorf("probe: --every %v: at least a minute", *every)
	}
	if *runName != "" && (!probe.IsTestCall(*runName) || !*once) {
		return fmt.Errorf("probe: --run needs --once and a name starting with %q", probe.CallPrefix)
	}
	dev, err := trust.LoadDevice(*devicePath)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	if dev.Credential == nil {
		return fmt.Errorf("probe: device %s is not enrolled yet (hotline device install)", *devicePath)
	}
	tc, err := tlsConfig()
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg := prober.Config{Server: *server, TLS: tc, Line: *line, Device: dev, PeerSide: *peerSide, Window: *window}
	if *verbose {
		cfg.Logger = log
	}
	if *once {
		cfg.Run = *runName
		if cfg.Run == "" {
			cfg.Run = probe.RunName(time.Now(), *every)
		}
		l, err := probeOnce(ctx, cfg, stdout, *asJSON, log)
		if err != nil {
			return err
		}
		if !l.OK {
			return fmt.Errorf("probe: the test call did not pass: %s", l.Reason)
		}
		return nil
	}
	for {
		next := time.Now().Truncate(*every).Add(*every)
		log.Info("next test call", "at", next.UTC().Format(time.RFC3339), "run", probe.RunName(next, *every))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(next)):
		}
		cfg.Run = probe.RunName(next, *every)
		if _, err := probeOnce(ctx, cfg, stdout, *asJSON, log); err != nil {
			log.Warn("probe run", "err", err) // the next interval tries again
		}
	}
}

// probeOnce runs one test call and prints it.
func probeOnce(ctx context.Context, cfg prober.Config, stdout io.Writer, asJSON bool, log *slog.Logger) (probeLine, error) {
	out, err := prober.Run(ctx, cfg)
	if err != nil && !out.Stored {
		return probeLine{}, fmt.Errorf("probe: %w", err)
	}
	r := out.Result
	l := probeLine{
		OK: r.OK && out.CodeMatch, Run: r.Run, Side: r.Side, PeerSide: r.PeerSide, Reason: r.Reason,
		JoinMs: r.JoinMs, KeyMs: r.KeyMs, RTTMs: r.RTTMs, JitterMs: r.JitterMs, Loss: r.Loss,
		BitrateKbps: r.BitrateKbps, TargetKbps: r.TargetKbps, FramesDecrypted: r.FramesDecrypted,
		CodeMatch: out.CodeMatch, Stored: out.Stored,
	}
	if out.Peer != nil {
		ok := out.Peer.OK
		l.PeerOK = &ok
	}
	switch {
	case l.Reason != "":
	case out.Peer == nil:
		l.Reason = "the other side's result did not come"
	case !out.CodeMatch:
		l.Reason = "the verification codes differ"
	}
	if asJSON {
		data, err := json.Marshal(l)
		if err != nil {
			return l, err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", data)
		return l, err
	}
	if l.OK {
		log.Info("test call passed", "run", l.Run, "peer", l.PeerSide, "join_ms", l.JoinMs, "key_ms", l.KeyMs, "rtt_ms", l.RTTMs,
			"jitter_ms", l.JitterMs, "loss", l.Loss, "bitrate_kbps", l.BitrateKbps, "target_kbps", l.TargetKbps,
			"frames_decrypted", l.FramesDecrypted, "code_match", l.CodeMatch)
	} else {
		log.Warn("test call FAILED", "run", l.Run, "reason", l.Reason)
	}
	return l, nil
}
