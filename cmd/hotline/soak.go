package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"hotline/internal/load"
)

// soakOptions are `hotline bench --soak`'s flags (internal/load, Soak).
type soakOptions struct {
	duration, visitEvery, stay, sampleEvery, warmUp time.Duration
	csvPath, summaryPath                            string
}

func soakFlags(fs *flag.FlagSet) *soakOptions {
	o := &soakOptions{}
	fs.DurationVar(&o.duration, "soak", 0, "run a soak this long instead: one call of four for hours, advisers coming and going (e.g. 2h)")
	fs.DurationVar(&o.visitEvery, "visit-every", 2*time.Minute, "with --soak: an adviser joins this often")
	fs.DurationVar(&o.stay, "stay", 0, "with --soak: and stays this long (default: half of --visit-every)")
	fs.DurationVar(&o.sampleEvery, "sample-every", load.DefaultSampleEvery, "with --soak: sample the server and the residents this often")
	fs.DurationVar(&o.warmUp, "warm-up", 0, "with --soak: the baseline is taken after this (default: a fifth of --soak)")
	fs.StringVar(&o.csvPath, "csv", "", "with --soak: write one CSV row per sample to this `file`")
	fs.StringVar(&o.summaryPath, "summary", "", "with --soak: write the summary JSON to this `file` too (it always goes to stdout)")
	return o
}

// run is `hotline bench --soak`: the summary goes to stdout as JSON.
func (o *soakOptions) run(ctx context.Context, fs *flag.FlagSet, cfg load.Config, dataDir string, verbose bool, stdout, stderr io.Writer) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	if (cfg.Server == "") != (dataDir == "") || (cfg.Server == "") != (cfg.Metrics == "") {
		return errors.New("bench: --server, --metrics and --data go together")
	}
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	cfg.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	sc := load.SoakConfig{
		TLS: cfg.TLS, Duration: o.duration, VisitEvery: o.visitEvery, Stay: o.stay, SampleEvery: o.sampleEvery, WarmUp: o.warmUp,
		Log: cfg.Log, ClientLog: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	}
	if o.csvPath != "" {
		f, err := os.Create(o.csvPath)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer f.Close()
		sc.CSV = f
	}
	var sum load.SoakSummary
	err := benchAgainst(ctx, &cfg, dataDir, func(cfg load.Config) (err error) {
		sc.Server, sc.Metrics, sc.Line, sc.Enrol = cfg.Server, cfg.Metrics, cfg.Line, cfg.Enrol
		sum, err = load.Soak(ctx, sc)
		return err
	})
	if err != nil {
		return fmt.Errorf("bench: soak: %w", err)
	}
	if o.summaryPath != "" {
		f, err := os.Create(o.summaryPath)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		err = sum.WriteJSON(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	return sum.WriteJSON(stdout)
}
