package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"hotline/internal/client"
	"hotline/internal/trust"
)

// leaveTimeout bounds the polite goodbye once the run is over (or interrupted).
const leaveTimeout = 5 * time.Second

// runJoin implements `hotline join`: one native endpoint in a call,
// publishing the embedded test media, optionally reporting what it received.
func runJoin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("join", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		server      = fs.String("server", "", "server base `URL`, e.g. http://127.0.0.1:8080 (required)")
		line        = fs.String("line", "", "line `name` (required)")
		callName    = fs.String("call", "", "call `name` (required)")
		devicePath  = fs.String("device", "", "enrolled device `file` (from hotline device init/install; required)")
		audioOnly   = fs.Bool("audio-only", false, "publish the microphone only")
		cameras     = fs.Int("cameras", 1, "number of video tracks to publish (0: audio only)")
		receiveOnly = fs.Bool("receive-only", false, "publish nothing, only receive")
		runFor      = fs.Duration("for", 0, "stay this `duration`, rejoining whenever the connection is lost, then leave (default: until interrupted)")
		stats       = fs.Bool("stats", false, "print the received tracks' statistics as JSON on the last line of stdout")
		interpret   = fs.String("interpret", "", "publish the test tone as this `language`'s interpretation channel, audio only (an interpreter's device)")
		listen      = fs.String("listen", "", "hear this `language`'s channel besides the floor (an interpreter: relay it instead of the floor)")
		verbose     = fs.Bool("v", false, "log debugging detail, Pion's included")
		witness     = fs.Bool("witness", false, "sign a witness statement (roster, own key commitment, code) into the line's call record whenever the verification code changes")
		openPress   = fs.Bool("open-press", false, "open the call's booked public opening when asked (a principal, press officer or operator; default: ask on a terminal)")
		tlsConfig   = caFlag(fs)
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hotline join --server URL --line NAME --call NAME --device FILE [--audio-only] [--cameras N] [--receive-only] [--interpret LANG] [--listen LANG] [--for DURATION] [--stats] [--open-press] [--ca FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err // flag has already printed the problem and the usage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("join: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := joinConfig(fs, *server, *line, *callName, *devicePath, *audioOnly, *cameras, *receiveOnly)
	if err != nil {
		return err
	}
	dev, err := trust.LoadDevice(*devicePath)
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	if dev.Credential == nil {
		return fmt.Errorf("join: device %s is not enrolled yet (hotline device install)", *devicePath)
	}
	cfg.Device = dev
	if *interpret != "" && (*receiveOnly || set(fs, "cameras")) {
		return errors.New("join: --interpret publishes one audio channel; drop --receive-only and --cameras")
	}
	cfg.Interpret, cfg.Listen = *interpret, *listen
	if cfg.Interpret != "" {
		cfg.AudioOnly, cfg.Cameras = true, 0
	}
	if cfg.TLS, err = tlsConfig(); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	if *runFor < 0 {
		return fmt.Errorf("join: --for %v is negative", *runFor)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg.Logger = log

	// The endpoint stays in the call for the whole run: it joins, and joins
	// again whenever the signalling session is lost (the server restarted,
	// the network dropped), until the run is over or the server refuses it
	// for good (docs/PROTOCOL.md, "Reconnecting").
	a := client.Attend(ctx, cfg, client.Backoff{})
	if *witness {
		stop := witnessCodes(ctx, a, *server, *line, cfg.TLS, log)
		defer stop()
	}
	stopOpening := bookedOpening(ctx, a, dev, *server, *devicePath, *line, *callName, cfg, *openPress, log)
	defer stopOpening()
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { defer close(watched); reportDecrypting(watchCtx, a, log) }()

	var timeout <-chan time.Time
	if *runFor > 0 {
		timer := time.NewTimer(*runFor)
		defer timer.Stop()
		timeout = timer.C
	}
	var sessionErr error
	select {
	case <-timeout:
	case <-ctx.Done(): // interrupted: a normal way to stop
	case <-a.Done():
		sessionErr = a.Err()
		if sessionErr == nil {
			sessionErr = errors.New("the server ended the session")
		}
	}

	stopWatch()
	<-watched
	// Take the figures before leaving: closing ends every track.
	snapshot := a.Stats()
	if c := a.Client(); c != nil {
		if code, ok := c.Keys().Code(); ok {
			log.Info("verification code", "code", code)
		}
		for _, f := range c.Keys().Forgeries() {
			log.Warn("FORGED roster entry: it was sent no keys", "id", f.ID, "name", f.Name, "reason", f.Reason)
		}
	}
	log.Info("sessions", "joined", a.Joins())
	leaveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaveTimeout)
	defer cancel()
	if sessionErr == nil {
		if err := a.Leave(leaveCtx); err != nil {
			log.Warn("leave", "err", err)
		}
	} else if err := a.Close(); err != nil {
		log.Warn("close", "err", err)
	}
	for _, t := range snapshot.Tracks {
		log.Info("received", "from", t.From, "track", t.Track, "kind", t.Kind,
			"packets", t.Packets, "frames", t.Frames, "bytes", t.Bytes, "lost", t.Lost,
			"jitter_ms", fmt.Sprintf("%.2f", t.JitterMs), "decrypted", t.Decrypted, "unknown_key", t.UnknownKey, "failed", t.DecryptFailed)
	}
	if *stats {
		if err := writeStatsLine(stdout, snapshot); err != nil {
			return err
		}
	}
	if sessionErr != nil {
		return fmt.Errorf("join: %w", sessionErr)
	}
	return nil
}

// joinConfig turns the flags into a client configuration, refusing
// contradictions.
func joinConfig(fs *flag.FlagSet, server, line, callName, device string, audioOnly bool, cameras int, receiveOnly bool) (client.Config, error) {
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, req := range []struct{ flag, value string }{{"server", server}, {"line", line}, {"call", callName}, {"device", device}} {
		if req.value == "" {
			return client.Config{}, fmt.Errorf("join: --%s is required", req.flag)
		}
	}
	if cameras < 0 {
		return client.Config{}, fmt.Errorf("join: --cameras %d is negative", cameras)
	}
	if audioOnly && set["cameras"] && cameras > 0 {
		return client.Config{}, fmt.Errorf("join: --audio-only contradicts --cameras %d", cameras)
	}
	if receiveOnly && (audioOnly || set["cameras"]) {
		return client.Config{}, errors.New("join: --receive-only publishes nothing; drop --audio-only and --cameras")
	}
	cfg := client.Config{Server: server, Line: line, Call: callName, Publish: !receiveOnly}
	if audioOnly || cameras == 0 {
		cfg.AudioOnly = true
	} else {
		cfg.Cameras = cameras
	}
	return cfg, nil
}

// statsTrack is one received track in the --stats line.
type statsTrack struct {
	From        string  `json:"from"`
	Participant string  `json:"participant"`
	Track       string  `json:"track"`
	Kind        string  `json:"kind"`
	Source      string  `json:"source"`
	Language    string  `json:"language"`
	Packets     uint64  `json:"packets"`
	Frames      uint64  `json:"frames"`
	Bytes       uint64  `json:"bytes"`
	Lost        uint64  `json:"lost"`
	Decrypted   uint64  `json:"decrypted"`
	JitterMs    float64 `json:"jitter_ms"`
	Ended       bool    `json:"ended"`
}

// reportDecrypting logs, once per member and kind of track, when media
// from that member first decrypts: the sign that the call works end to end
// (the tests wait for it).
func reportDecrypting(ctx context.Context, a *client.Attendee, log *slog.Logger) {
	seen := make(map[[2]string]bool)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, t := range a.Stats().Tracks {
			if k := [2]string{t.From, t.Kind}; t.Decrypted > 0 && !seen[k] {
				seen[k] = true
				log.Info("decrypting", "from", t.From, "kind", t.Kind)
			}
		}
	}
}

// statsLine is the --stats line: {"tracks":[...]}.
type statsLine struct {
	Tracks []statsTrack `json:"tracks"`
}

// writeStatsLine prints the stats line.
func writeStatsLine(w io.Writer, s client.Stats) error {
	line := statsLine{Tracks: []statsTrack{}}
	for _, t := range s.Tracks {
		line.Tracks = append(line.Tracks, statsTrack{
			From: t.From, Participant: t.Participant, Track: t.Track, Kind: t.Kind, Source: t.Source, Language: t.Language,
			Packets: t.Packets, Frames: t.Frames, Bytes: t.Bytes, Lost: t.Lost, Decrypted: t.Decrypted,
			JitterMs: float64(int64(t.JitterMs*100)) / 100, Ended: t.Ended,
		})
	}
	data, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("join: stats: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}

// set reports whether flag name was given on the command line.
func set(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
