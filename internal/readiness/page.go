package readiness

import (
	"fmt"
	"html/template"
	"net/http"
	"time"

	"hotline/internal/probe"
	"hotline/internal/store"
)

// The /readiness page: for each line, its state now with the reason, the
// last 24 hours and 30 days as plots (join time, round trip, loss, bitrate,
// success rate) and the list of test calls with each side's figures. It is
// rendered on the server, SVG included, and carries no script.

// pageRuns bounds the results read for one line's page (30 days of a probe
// every 15 minutes is 5760 results).
const pageRuns = 6000

// listedRuns is how many test calls the page lists.
const listedRuns = 50

var sideColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd"}

type pagePlot struct {
	Title string
	SVG   template.HTML
}

type pageRun struct {
	Name    string
	Started string
	OK      bool
	Results []probe.Result
}

type pageLine struct {
	Name        string
	Verdict     probe.Verdict
	Day, Month  []pagePlot
	Runs        []pageRun
	RunCount24h int
}

var pageTmpl = template.Must(template.New("readiness").Funcs(template.FuncMap{"pct": func(f float64) float64 { return f * 100 }}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hotline — line readiness</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
.state{display:inline-block;padding:.2em .7em;border-radius:1em;font-weight:bold;color:#fff}
.state-green{background:#2a7d2a}.state-degraded{background:#c98a00}.state-down{background:#b00020}.state-unknown{background:#777}
.plots{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}figcaption{font-size:.9em;color:#555}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:right}
td.l,th.l{text-align:left}.fail{color:#b00020}
</style></head><body>
<h1>Line readiness</h1>
{{range .}}<section class="line" data-line="{{.Name}}">
<h2>Line {{.Name}} <span id="state-{{.Name}}" class="state state-{{.Verdict.State}}" data-state="{{.Verdict.State}}">{{.Verdict.State}}</span></h2>
<p class="reason">{{.Verdict.Reason}}{{if .Verdict.Run}} (test call {{.Verdict.Run}}){{end}}</p>
<h3>Last 24 hours ({{.RunCount24h}} test calls)</h3>
<div class="plots day">{{range .Day}}<figure>{{.SVG}}<figcaption>{{.Title}}</figcaption></figure>{{end}}</div>
<h3>Last 30 days</h3>
<div class="plots month">{{range .Month}}<figure>{{.SVG}}<figcaption>{{.Title}}</figcaption></figure>{{end}}</div>
<h3>Test calls</h3>
<table class="runs"><tr><th class="l">test call</th><th class="l">started (UTC)</th><th class="l">side</th><th>ok</th><th>join ms</th><th>key ms</th><th>RTT ms</th><th>jitter ms</th><th>loss</th><th>kbit/s</th><th>target</th><th>frames</th><th class="l">reason</th></tr>
{{range .Runs}}{{$run := .}}{{range .Results}}<tr class="run{{if not .OK}} fail{{end}}" data-run="{{$run.Name}}"><td class="l">{{$run.Name}}</td><td class="l">{{$run.Started}}</td><td class="l">{{.Side}}</td><td>{{if .OK}}yes{{else}}NO{{end}}</td><td>{{.JoinMs}}</td><td>{{.KeyMs}}</td><td>{{.RTTMs}}</td><td>{{.JitterMs}}</td><td>{{printf "%.2f%%" (pct .Loss)}}</td><td>{{.BitrateKbps}}</td><td>{{.TargetKbps}}</td><td>{{.FramesDecrypted}}</td><td class="l">{{.Reason}}</td></tr>
{{end}}{{end}}</table>
</section>{{else}}<p>No line is provisioned.</p>{{end}}
</body></html>
`))

// Page serves GET /readiness (all lines, or ?line=L).
func (s *Service) Page() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		lines, err := s.cfg.Store.Lines(ctx)
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		want := r.URL.Query().Get("line")
		var out []pageLine
		for _, l := range lines {
			if want != "" && l.Name != want {
				continue
			}
			pl, err := s.pageLine(r, l)
			if err != nil {
				s.cfg.Log.Error("readiness page", "line", l.Name, "err", err)
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
			out = append(out, pl)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		if err := pageTmpl.Execute(w, out); err != nil {
			s.cfg.Log.Warn("readiness page", "err", err)
		}
	})
}

func (s *Service) pageLine(r *http.Request, l store.Line) (pageLine, error) {
	ctx, now := r.Context(), s.cfg.Now()
	v, err := s.judge(ctx, l)
	if err != nil {
		return pageLine{}, err
	}
	runs, err := s.History(ctx, l.Name, now.Add(-30*24*time.Hour), pageRuns)
	if err != nil {
		return pageLine{}, err
	}
	pl := pageLine{Name: l.Name, Verdict: v}
	sides := []string{l.A.Name, l.B.Name}
	dayFrom := now.Add(-24 * time.Hour)
	var day []Run
	for _, run := range runs {
		if !run.Started.Before(dayFrom) {
			day = append(day, run)
		}
	}
	pl.RunCount24h = len(day)
	pl.Day = plots(day, sides, dayFrom, now, time.Hour)
	pl.Month = plots(runs, sides, now.Add(-30*24*time.Hour), now, 24*time.Hour)
	for i, run := range runs {
		if i == listedRuns {
			break
		}
		pl.Runs = append(pl.Runs, pageRun{Name: run.Name, Started: run.Started.UTC().Format("2006-01-02 15:04:05"), OK: passed(run, sides), Results: run.Results})
	}
	return pl, nil
}

// passed: both sides reported the run and both met the other.
func passed(run Run, sides []string) bool {
	seen := 0
	for _, r := range run.Results {
		if !r.OK {
			return false
		}
		for _, s := range sides {
			if r.Side == s {
				seen++
			}
		}
	}
	return seen == len(sides)
}

// plots are the five plots of runs over [from, to]; the success rate is
// per bucket.
func plots(runs []Run, sides []string, from, to time.Time, bucket time.Duration) []pagePlot {
	figure := func(title, unit string, value func(probe.Result) float64) pagePlot {
		var series []Series
		for i, side := range sides {
			s := Series{Name: side, Color: sideColors[i%len(sideColors)]}
			for j := len(runs) - 1; j >= 0; j-- { // oldest first
				for _, r := range runs[j].Results {
					if r.Side == side && r.OK {
						v := value(r)
						s.Points = append(s.Points, Point{At: time.UnixMilli(r.Started), Value: v,
							Label: fmt.Sprintf("%s %s: %s", r.Run, side, formatValue(v, unit))})
					}
				}
			}
			series = append(series, s)
		}
		t := fmt.Sprintf("%s (%s; %s)", title, unit, legend(sides))
		return pagePlot{Title: t, SVG: SVG(title, unit, from, to, series)}
	}
	out := []pagePlot{
		figure("Join to first decrypted frame", "ms", func(r probe.Result) float64 { return float64(r.JoinMs) }),
		figure("Round trip (RTCP)", "ms", func(r probe.Result) float64 { return r.RTTMs }),
		figure("Loss", "%", func(r probe.Result) float64 { return r.Loss * 100 }),
		figure("Bitrate received", "kbit/s", func(r probe.Result) float64 { return r.BitrateKbps }),
	}
	// Success rate: per bucket with test calls, the share that passed.
	rate := Series{Name: "success", Color: "#2a7d2a"}
	type tally struct{ runs, ok int }
	buckets := map[time.Time]*tally{}
	var order []time.Time
	for j := len(runs) - 1; j >= 0; j-- {
		b := runs[j].Started.Truncate(bucket)
		if buckets[b] == nil {
			buckets[b] = &tally{}
			order = append(order, b)
		}
		buckets[b].runs++
		if passed(runs[j], sides) {
			buckets[b].ok++
		}
	}
	for _, b := range order {
		v := 100 * float64(buckets[b].ok) / float64(buckets[b].runs)
		rate.Points = append(rate.Points, Point{At: b.Add(bucket / 2), Value: v,
			Label: fmt.Sprintf("%s: %d of %d test calls passed", b.UTC().Format("2006-01-02 15:04"), buckets[b].ok, buckets[b].runs)})
	}
	out = append(out, pagePlot{Title: fmt.Sprintf("Success rate (%% of test calls per %s)", map[bool]string{true: "hour", false: "day"}[bucket == time.Hour]),
		SVG: SVG("Success rate", "%", from, to, []Series{rate})})
	return out
}

func legend(sides []string) string {
	names := []string{"blue", "red", "green", "purple"}
	out := ""
	for i, s := range sides {
		if i > 0 {
			out += ", "
		}
		out += s + " " + names[i%len(names)]
	}
	return out
}
