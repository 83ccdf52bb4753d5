package load_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"testing"
	"time"

	"hotline/internal/demo"
	"hotline/internal/load"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
	"hotline/internal/trust"
)

// A soak of seconds, a visit every three: the summary is sane (every visit
// happened and its media decrypted at a resident, keys rotated), the CSV has
// a row per sample, and neither the SDP nor the goroutines grow with the
// visits. The 2-hour run (docs/PERFORMANCE.md) is the same code, not in CI.
func TestSoakSmoke(t *testing.T) {
	tier.Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // only stops a hung test
	defer cancel()
	srv := servertest.Start(t, server.Config{MetricsListen: "127.0.0.1:0"}, nil)
	defer srv.Close()
	var out bytes.Buffer
	const visits = 5
	sum, err := load.Soak(ctx, load.SoakConfig{
		Server: srv.URL(), Metrics: srv.MetricsURL(), Line: demo.Line,
		Enrol:       func(name string) (*trust.Device, error) { return srv.Demo.EnrolDevice(demo.East, name) },
		Duration:    visits * 3 * time.Second,
		VisitEvery:  3 * time.Second,
		Stay:        2500 * time.Millisecond,
		SampleEvery: 250 * time.Millisecond,
		WarmUp:      2 * time.Second,
		CSV:         &out,
		Log:         servertest.Logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := sum.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	t.Logf("summary: %s", js.String())
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != sum.Samples+1 || len(rows[0]) != len(load.SoakCSVHeader) || sum.Samples < 10 {
		t.Fatalf("CSV of %d rows (header %q) for %d samples", len(rows), rows[0], sum.Samples)
	}
	// A join may take longer than its turn on a loaded machine.
	if sum.Visits < 2 || sum.Visits > visits+1 {
		t.Errorf("%d visits in %v s with one every 3 s", sum.Visits, sum.DurationS)
	}
	// Each stay begins once the visitor's media decrypts; the last visit
	// may be cut short by the end.
	if sum.VisitsDecrypted < sum.Visits-1 {
		t.Errorf("the resident decrypted %d of %d visitors' media", sum.VisitsDecrypted, sum.Visits)
	}
	if sum.KeyEpochs < 2 {
		t.Errorf("%d key epochs over %d visits: keys did not rotate", sum.KeyEpochs, sum.Visits)
	}
	// Three residents' two m-lines each, and a visitor's two.
	if sum.MLinesMax > 8 || sum.SDPBytesMax == 0 || sum.SDPBytesMax > sum.SDPBytesFirst+2048 {
		t.Errorf("SDP grew: first %d bytes, max %d bytes and %d m-lines", sum.SDPBytesFirst, sum.SDPBytesMax, sum.MLinesMax)
	}
	// The server runs in this process: its goroutines include the
	// endpoints', which come and go with each visitor.
	if !(sum.GoroutinesAfterWarmUp > 0) || sum.GoroutinesEnd > 1.25*sum.GoroutinesAfterWarmUp {
		t.Errorf("goroutines grew: %v after warm-up, %v at the end", sum.GoroutinesAfterWarmUp, sum.GoroutinesEnd)
	}
	if !(sum.RSSAfterWarmUpMB > 0 && sum.RSSEndMB > 0) || sum.LossFirstHalf < 0 || sum.LossSecondHalf > 1 {
		t.Errorf("figures out of range: %+v", sum)
	}
}
