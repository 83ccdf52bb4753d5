package relay

import (
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
)

// testLog writes the relay's and Pion's logs to the test's output, at
// Warn (Debug with HOTLINE_TEST_DEBUG set), until the test ends; Pion's
// goroutines finishing late write nowhere.
func testLog(t *testing.T) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("HOTLINE_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	w := &endingWriter{w: t.Output()}
	t.Cleanup(w.end)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type endingWriter struct {
	mu    sync.Mutex
	w     io.Writer
	ended bool
}

func (e *endingWriter) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ended {
		return len(p), nil
	}
	return e.w.Write(p)
}

func (e *endingWriter) end() {
	e.mu.Lock()
	e.ended = true
	e.mu.Unlock()
}
