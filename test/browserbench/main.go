// Command browserbench is hotline's browser benchmark (issue 17): it starts
// the server built from this tree (`hotline demo`, a child process so that
// its CPU is its own), opens N headless Chromiums in one call, each with a
// camera file it writes itself (320×240 at 30 fps, a barcode in every
// frame) and the fake microphone, every browser receiving every other, and
// measures over a window the server's CPU and RSS, the browsers' CPU,
// glass-to-glass delay, decoded frame rate and jitter buffer per remote
// video, then the join time of a late joiner. docs/PERFORMANCE.md
// ("Browsers") describes the method.
//
//	go run ./test/browserbench -browsers 2 -duration 30s -json
//
// It runs in a loopback-only network namespace: started outside one, it
// enters a fresh one itself (unshare --net, as scripts/test.sh does; needs
// root). It is a tool of the tests, not part of the hotline binary, which
// must not depend on chromedp.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// inNamespace is set in the environment of the copy of this program that
// runs inside the namespace it made, so that it never makes another.
const inNamespace = "HOTLINE_BROWSERBENCH_NETNS"

// errReported: the failure has been reported on stderr already.
var errReported = errors.New("failed")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := start(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "browserbench:", err)
		}
		os.Exit(1)
	}
}

// start parses the flags, builds the server if need be, and runs the
// benchmark in a loopback-only namespace, entering one first if this
// process is not in one.
func start(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if loopbackOnly() {
		return run(ctx, cfg, stdout)
	}
	if os.Getenv(inNamespace) != "" {
		return errors.New("still not in a loopback-only network namespace after unshare --net")
	}
	if cfg.hotline == "" {
		// Build before entering the namespace, where the module proxy
		// cannot be reached.
		dir, err := os.MkdirTemp("", "browserbench-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if cfg.hotline, err = build(ctx, dir, cfg.tags, stderr); err != nil {
			return err
		}
		args = append(args, "-hotline", cfg.hotline)
	}
	if err := exec.CommandContext(ctx, "unshare", "--net", "true").Run(); err != nil {
		return fmt.Errorf("cannot make a loopback-only network namespace (unshare --net needs root): %w; run as root, or inside one: unshare --net sh -c 'ip link set lo up && ...'", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "unshare", append([]string{"--net", "sh", "-c", `ip link set lo up && exec "$0" "$@"`, self}, args...)...)
	cmd.Env = append(os.Environ(), inNamespace+"=1")
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Interrupted, the copy in the namespace stops its browsers and server.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	err = cmd.Run()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		// The copy in the namespace has said what went wrong.
		return errReported
	}
	return err
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("browserbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.IntVar(&cfg.browsers, "browsers", 2, fmt.Sprintf("browsers in the call, each publishing camera and microphone and receiving all others (2..%d)", maxSenders-1))
	fs.DurationVar(&cfg.duration, "duration", 30*time.Second, "measured window, once every browser decodes every other")
	fs.DurationVar(&cfg.warmup, "warmup", 3*time.Second, "wait after every browser decodes every other, before the window")
	fs.IntVar(&cfg.joins, "joins", 1, "late joins measured after the window (one more browser opening the call page; 0: none)")
	fs.StringVar(&cfg.pageQuery, "page-query", "", "extra query parameters for the call pages, e.g. e2ee=bypass (with a build that knows them)")
	fs.StringVar(&cfg.tags, "tags", "", "build tags for the server built from this tree (e.g. a test-only tag)")
	fs.StringVar(&cfg.hotline, "hotline", "", "use this hotline binary instead of building ./cmd/hotline")
	fs.IntVar(&cfg.width, "width", 1280, "browser window width")
	fs.IntVar(&cfg.height, "height", 720, "browser window height")
	fs.BoolVar(&cfg.json, "json", false, "print the figures as one JSON object on the last line of stdout (the table goes to stderr)")
	verbose := fs.Bool("v", false, "log progress")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	cfg.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg.stderr = stderr
	return cfg, cfg.validate()
}

func (c config) validate() error {
	switch {
	case c.browsers < 2 || c.browsers > maxSenders-1:
		return fmt.Errorf("-browsers %d: between 2 and %d (one more for the late joiner makes %d barcode senders)", c.browsers, maxSenders-1, maxSenders)
	case c.duration < time.Second || c.duration > time.Hour:
		return fmt.Errorf("-duration %v: between 1s and 1h", c.duration)
	case c.warmup < 0 || c.warmup > 10*time.Minute:
		return fmt.Errorf("-warmup %v: between 0 and 10m", c.warmup)
	case c.joins < 0 || c.joins > 100:
		return fmt.Errorf("-joins %d: between 0 and 100", c.joins)
	case c.width < 100 || c.height < 100 || c.width > 4000 || c.height > 4000:
		return fmt.Errorf("window %dx%d: each side between 100 and 4000", c.width, c.height)
	}
	return nil
}

// loopbackOnly reports whether every network interface here is a loopback
// one and at least one is up: a namespace where nothing can leave the
// machine.
func loopbackOnly() bool {
	ifs, err := net.Interfaces()
	if err != nil {
		return false
	}
	up := false
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			return false
		}
		up = up || i.Flags&net.FlagUp != 0
	}
	return up
}

// build compiles hotline from this tree into dir.
func build(ctx context.Context, dir, tags string, stderr io.Writer) (string, error) {
	out := filepath.Join(dir, "hotline")
	args := []string{"build", "-o", out}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, "hotline/cmd/hotline")...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build hotline (run from inside the module): %w", err)
	}
	return out, nil
}
