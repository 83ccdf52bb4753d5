package load

import (
	"encoding/json"
	"io"
)

// SoakSummary is a soak's figures. "After warm-up" is the median of the
// first quarter of the samples taken after the warm-up, "end" the median of
// the last quarter: a visitor's presence moves RSS and goroutines up and
// down within minutes, and medians keep that swing out of the comparison.
type SoakSummary struct {
	DurationS   float64 `json:"duration_s"`
	VisitEveryS float64 `json:"visit_every_s"`
	StayS       float64 `json:"stay_s"`
	WarmUpS     float64 `json:"warm_up_s"`
	Samples     int     `json:"samples"`

	Visits          int `json:"visits"`
	VisitsDecrypted int `json:"visits_decrypted"` // visitors whose media the first resident decrypted
	KeyEpochs       int `json:"key_epochs"`       // distinct keys the first resident sent with

	RSSAfterWarmUpMB      float64 `json:"rss_after_warm_up_mb"`
	RSSEndMB              float64 `json:"rss_end_mb"`
	RSSMaxMB              float64 `json:"rss_max_mb"`
	GoroutinesAfterWarmUp float64 `json:"goroutines_after_warm_up"`
	GoroutinesEnd         float64 `json:"goroutines_end"`
	GoroutinesMax         float64 `json:"goroutines_max"`

	SDPBytesFirst int `json:"sdp_bytes_first"` // the first sample's
	SDPBytesMax   int `json:"sdp_bytes_max"`
	MLinesMax     int `json:"mlines_max"`

	// The mean of the samples' loss ratios in the first and the second half
	// of the time after the warm-up.
	LossFirstHalf  float64 `json:"loss_first_half"`
	LossSecondHalf float64 `json:"loss_second_half"`
}

func (s *soak) summary() SoakSummary {
	cfg := s.cfg
	sum := SoakSummary{
		DurationS: round(cfg.Duration.Seconds(), 3), VisitEveryS: round(cfg.VisitEvery.Seconds(), 3),
		StayS: round(cfg.Stay.Seconds(), 3), WarmUpS: round(cfg.WarmUp.Seconds(), 3),
		Samples: len(s.samples), Visits: s.visits, VisitsDecrypted: s.decrypted, KeyEpochs: len(s.kids),
	}
	var after []SoakSample
	for _, smp := range s.samples {
		sum.RSSMaxMB = max(sum.RSSMaxMB, round(smp.RSSBytes/1e6, 2))
		sum.GoroutinesMax = max(sum.GoroutinesMax, smp.Goroutines)
		sum.SDPBytesMax = max(sum.SDPBytesMax, smp.SDPBytes)
		sum.MLinesMax = max(sum.MLinesMax, smp.MLines)
		if smp.ElapsedS >= cfg.WarmUp.Seconds() {
			after = append(after, smp)
		}
	}
	if len(s.samples) > 0 {
		sum.SDPBytesFirst = s.samples[0].SDPBytes
	}
	if len(after) == 0 {
		return sum
	}
	q := max(len(after)/4, 1)
	first, last := after[:q], after[len(after)-q:]
	rss := func(s SoakSample) float64 { return s.RSSBytes / 1e6 }
	gor := func(s SoakSample) float64 { return s.Goroutines }
	sum.RSSAfterWarmUpMB, sum.RSSEndMB = round(median(first, rss), 2), round(median(last, rss), 2)
	sum.GoroutinesAfterWarmUp, sum.GoroutinesEnd = median(first, gor), median(last, gor)
	half := len(after) / 2
	mean := func(ss []SoakSample) float64 {
		if len(ss) == 0 {
			return 0
		}
		t := 0.0
		for _, s := range ss {
			t += s.LossRatio
		}
		return round(t/float64(len(ss)), 6)
	}
	sum.LossFirstHalf, sum.LossSecondHalf = mean(after[:half]), mean(after[half:])
	return sum
}

// WriteJSON writes the summary as one indented JSON object.
func (s SoakSummary) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(s)
}
