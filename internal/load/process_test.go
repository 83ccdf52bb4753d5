package load

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
)

// childEnv makes the test binary play a server child (see TestMain).
const childEnv = "HOTLINE_LOAD_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "serve": // like `hotline serve`: a line, then serve until SIGTERM
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		fmt.Println("fake 0.0 serving on http://127.0.0.1:9 (media on udp 127.0.0.1:9; metrics on 127.0.0.1:10; data in d)")
		fmt.Println("more output, ignored")
		<-sig
		os.Exit(0)
	case "fail":
		fmt.Fprintln(os.Stderr, "cannot listen: address in use")
		os.Exit(2)
	case "nourl":
		fmt.Println("hello")
		select {} // until killed
	}
}

func startChild(t *testing.T, mode string) (*Process, error) {
	t.Helper()
	t.Setenv(childEnv, mode)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return StartProcess(context.Background(), exe, []string{"-test.run=^$"})
}

func TestProcessStartsAndStops(t *testing.T) {
	p, err := startChild(t, "serve")
	if err != nil {
		t.Fatal(err)
	}
	if p.URL() != "http://127.0.0.1:9" {
		t.Errorf("url %q", p.URL())
	}
	if p.MetricsURL() != "http://127.0.0.1:10" {
		t.Errorf("metrics url %q", p.MetricsURL())
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	select {
	case <-p.exited:
	default:
		t.Fatal("Stop returned before the child was reaped")
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
}

func TestProcessFailures(t *testing.T) {
	_, err := startChild(t, "fail")
	if !errors.Is(err, ErrProcess) || !strings.Contains(err.Error(), "address in use") {
		t.Errorf("child that exits at once: %v", err)
	}
	_, err = startChild(t, "nourl")
	if !errors.Is(err, ErrProcess) || !strings.Contains(err.Error(), `"hello"`) {
		t.Errorf("child without a URL: %v", err)
	}
	_, err = StartProcess(context.Background(), "/nonexistent/hotline", nil)
	if !errors.Is(err, ErrProcess) {
		t.Errorf("missing program: %v", err)
	}
}

func TestFirstLineAndTail(t *testing.T) {
	w := newFirstLine()
	for _, chunk := range []string{"hotline 1 serv", "ing on https://[::1]:8443 (x)\nnext", " line\n"} {
		if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("write: %d %v", n, err)
		}
	}
	select {
	case l := <-w.done: // buffered: handed over by the Write that ended the line
		if got := baseURL(l); got != "https://[::1]:8443" {
			t.Errorf("line %q: url %q", l, got)
		}
		if got := metricsURL(l); got != "" {
			t.Errorf("line %q names no metrics, got %q", l, got)
		}
	default:
		t.Fatal("no first line")
	}
	// A first line without end is cut at maxFirstLine.
	long := newFirstLine()
	_, _ = long.Write([]byte(strings.Repeat("x", 2*maxFirstLine)))
	if l := <-long.done; len(l) != maxFirstLine {
		t.Errorf("long line: %d bytes", len(l))
	}
	tb := &tailBuffer{max: 8}
	_, _ = tb.Write([]byte("0123456789"))
	_, _ = tb.Write([]byte("ab"))
	if got := tb.String(); got != "456789ab" {
		t.Errorf("tail %q", got)
	}
}
