package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Bounds on the server child's life.
const (
	startTimeout = 30 * time.Second // until its first line
	stopTimeout  = 15 * time.Second // after SIGTERM, before SIGKILL
	maxFirstLine = 4 << 10
	stderrTail   = 8 << 10 // kept for error messages
)

// ErrProcess: the server child failed to start, or to stop cleanly.
var ErrProcess = errors.New("load: server process")

// Process is a server running as a child process, so that its
// process_cpu_seconds_total counts the server alone and not the endpoints
// that load it.
type Process struct {
	cmd      *exec.Cmd
	url      string
	metrics  string
	stderr   *tailBuffer
	exited   chan struct{} // closed once Wait returned
	waitErr  error
	stopOnce sync.Once
	stopErr  error
}

// StartProcess runs path with args and waits for its base URL: the first
// token starting with http:// or https:// on its first line of output, as
// `hotline serve` prints ("hotline VERSION serving on http://ADDR (...)").
// Its later output is discarded; the end of its stderr is kept for errors.
func StartProcess(ctx context.Context, path string, args []string) (*Process, error) {
	line := newFirstLine()
	p := &Process{
		cmd:    exec.Command(path, args...),
		stderr: &tailBuffer{max: stderrTail},
		exited: make(chan struct{}),
	}
	p.cmd.Stdout = line
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start %s: %w", ErrProcess, path, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	var err error
	select {
	case l := <-line.done:
		if p.url = baseURL(l); p.url == "" {
			err = fmt.Errorf("%w: first line %q names no http(s) URL", ErrProcess, l)
		}
		p.metrics = metricsURL(l)
	case <-p.exited:
		err = fmt.Errorf("%w: exited before serving (%v): %s", ErrProcess, p.waitErr, p.stderr.String())
	case <-timer.C:
		err = fmt.Errorf("%w: no first line within %v: %s", ErrProcess, startTimeout, p.stderr.String())
	case <-ctx.Done():
		err = fmt.Errorf("%w: %w", ErrProcess, ctx.Err())
	}
	if err != nil {
		return nil, errors.Join(err, p.Stop())
	}
	return p, nil
}

// URL is the server's base URL.
func (p *Process) URL() string { return p.url }

// PID is the child's process id, for reading its CPU and memory from /proc.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// MetricsURL is the base URL of the server's metrics listener, read from
// its first line ("metrics on HOST:PORT", as `hotline serve` prints it), or
// "" if it names none.
func (p *Process) MetricsURL() string { return p.metrics }

// Stop sends SIGTERM, waits for the child to exit (SIGKILL after
// stopTimeout) and reaps it. An exit status other than 0 is an error, with
// the end of its stderr. Idempotent.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		select {
		case <-p.exited: // already gone: its status says how it went
		default:
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
				p.stopErr = fmt.Errorf("%w: SIGTERM: %w", ErrProcess, err)
			}
			timer := time.NewTimer(stopTimeout)
			defer timer.Stop()
			select {
			case <-p.exited:
			case <-timer.C:
				_ = p.cmd.Process.Kill()
				<-p.exited
				p.stopErr = errors.Join(p.stopErr, fmt.Errorf("%w: killed after not stopping within %v", ErrProcess, stopTimeout))
			}
		}
		if p.waitErr != nil && p.stopErr == nil {
			p.stopErr = fmt.Errorf("%w: %w: %s", ErrProcess, p.waitErr, p.stderr.String())
		}
	})
	return p.stopErr
}

// Kill ends the child with SIGKILL, as a crash would (no shutdown, no
// goodbye to its clients), and reaps it. Stop afterwards does nothing.
func (p *Process) Kill() {
	p.stopOnce.Do(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
}

// baseURL finds the first http(s) URL among the whitespace-separated
// tokens of line.
func baseURL(line string) string {
	for _, f := range strings.Fields(line) {
		if strings.HasPrefix(f, "http://") || strings.HasPrefix(f, "https://") {
			return f
		}
	}
	return ""
}

// metricsURL reads "metrics on HOST:PORT" in line (trailing punctuation
// aside) as the base URL of a plain-HTTP metrics listener.
func metricsURL(line string) string {
	f := strings.Fields(line)
	for i := 0; i+2 < len(f); i++ {
		if f[i] == "metrics" && f[i+1] == "on" {
			if addr := strings.TrimRight(f[i+2], ",;)"); strings.Contains(addr, ":") {
				return "http://" + addr
			}
		}
	}
	return ""
}

// firstLine is a writer that hands over its first line (bounded) and
// swallows everything else.
type firstLine struct {
	mu   sync.Mutex
	buf  []byte
	sent bool
	done chan string // receives the first line once
}

func newFirstLine() *firstLine { return &firstLine{done: make(chan string, 1)} }

func (w *firstLine) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sent {
		return len(b), nil
	}
	w.buf = append(w.buf, b[:min(len(b), maxFirstLine-len(w.buf))]...)
	if i := bytes.IndexByte(w.buf, '\n'); i >= 0 || len(w.buf) == maxFirstLine {
		if i < 0 {
			i = len(w.buf)
		}
		w.sent = true
		w.done <- strings.TrimSpace(string(w.buf[:i]))
		w.buf = nil
	}
	return len(b), nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}
