package probe

import (
	"strings"
	"testing"
	"time"
)

func TestJudge(t *testing.T) {
	sides := [2]string{"east", "west"}
	ok := func(side, run string) Result {
		return Result{Run: run, Side: side, OK: true, JoinMs: 300, RTTMs: 2, JitterMs: 3, Loss: 0, BitrateKbps: 1000, TargetKbps: 1000, FramesDecrypted: 100, CodeDigest: "c"}
	}
	lossy := ok("west", "probe-2")
	lossy.Loss = 0.1
	failed := ok("east", "probe-2")
	failed.OK, failed.Reason = false, "no frame from west's probe decrypted within 30s"
	otherCode := ok("west", "probe-2")
	otherCode.CodeDigest = "d"
	for _, tc := range []struct {
		name   string
		runs   [][]Result
		want   State
		reason string
	}{
		{"nothing yet", nil, Unknown, "no test call"},
		{"both met", [][]Result{{ok("east", "probe-1"), ok("west", "probe-1")}}, Green, "both sides met"},
		{"a loss", [][]Result{{ok("east", "probe-2"), lossy}}, Degraded, "west: loss 10.0%"},
		{"a side failed", [][]Result{{failed}, {ok("east", "probe-1"), ok("west", "probe-1")}}, Down, "east: no frame"},
		{"codes differ", [][]Result{{ok("east", "probe-2"), otherCode}}, Down, "different verification codes"},
		{"one side so far: the run before decides", [][]Result{{ok("east", "probe-2")}, {ok("east", "probe-1"), ok("west", "probe-1")}}, Green, ""},
		{"one side so far, nothing before", [][]Result{{ok("east", "probe-2")}}, Unknown, ""},
	} {
		v := Judge(tc.runs, sides, DefaultThresholds)
		if v.State != tc.want || !strings.Contains(v.Reason, tc.reason) {
			t.Errorf("%s: %+v, want %s (%q)", tc.name, v, tc.want, tc.reason)
		}
	}
}

func TestRunName(t *testing.T) {
	for _, s := range []string{RunName(mustTime("2026-12-06T02:44:10Z"), 15*60e9), RunName(mustTime("2026-12-06T02:30:00Z"), 15*60e9)} {
		if s != "probe-20261206t023000" || !IsTestCall(s) {
			t.Errorf("RunName = %q", s)
		}
	}
}

func mustTime(s string) (t time.Time) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
