package readiness

import (
	"strings"
	"testing"
	"time"
)

func TestSVG(t *testing.T) {
	to := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	from := to.Add(-24 * time.Hour)
	s := Series{Name: "east<", Color: "#123456"}
	for i := range 3 {
		s.Points = append(s.Points, Point{At: from.Add(time.Duration(i+1) * time.Hour), Value: float64(100 * i), Label: "run <x>"})
	}
	out := string(SVG("Join", "ms", from, to, []Series{s, {Name: "west"}}))
	if c := strings.Count(out, `<circle class="pt"`); c != 3 || !strings.Contains(out, `data-points="3"`) {
		t.Errorf("%d points drawn: %s", c, out)
	}
	if strings.Contains(out, "<x>") || strings.Contains(out, "east<") || !strings.Contains(out, "<polyline") {
		t.Errorf("labels not escaped or no line: %s", out)
	}
	empty := string(SVG("Join", "ms", from, to, nil))
	if !strings.Contains(empty, "no test call") || strings.Contains(empty, "<circle") {
		t.Errorf("empty plot: %s", empty)
	}
}
