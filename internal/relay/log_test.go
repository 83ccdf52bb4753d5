package relay

import (
	"log/slog"
	"testing"
)

// testLog writes the relay's and Pion's logs to the test's log at debug.
func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}
