package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"hotline/internal/apiclient"
	"hotline/internal/audit"
	"hotline/internal/demo"
	"hotline/internal/markdown"
	"hotline/internal/role"
	"hotline/internal/schedule"
	"hotline/internal/trust"
)

// readout signs a readout of call by dev, of side (the device's own unless
// told otherwise).
func readout(t *testing.T, dev *trust.Device, side, call, text, corrects string) audit.Signed {
	t.Helper()
	b := audit.ReadoutBody{V: audit.Version, Line: demo.Line, Call: call, Side: side, Text: text, Corrects: corrects, Published: time.Now().Unix()}
	s, err := audit.Sign(dev, audit.LabelReadout, &b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// TestReadouts (issue 15): each side's press officer or operator publishes
// a signed readout of a call, and a correction that references it; the
// other side's device, a principal, a tampered readout and a correction of
// the other side's readout are refused. The list, the public Atom feed
// (parsed back with gofeed) and the page show them, each side's apart;
// every listed readout verifies against the pins and fails once changed;
// a hostile readout's markup stays text; the record notes each readout.
func TestReadouts(t *testing.T) {
	l := startRecordLine(t)
	ctx := context.Background()
	id := bookCall(t, l.e2eeLine, schedule.Video)
	press := l.device(demo.East, "East Press", role.PressOfficer)
	westOp := l.device(demo.West, "West Operator", role.Operator)
	anon, err := apiclient.New(l.srv.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	l.pins = press.Pins

	first, err := anon.PublishReadout(ctx, demo.Line, readout(t, press, demo.East, id, "# East readout\n\nThe talks were **frank**.", ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.PublishReadout(ctx, demo.Line, readout(t, westOp, demo.West, id, markdown.Hostile, "")); err != nil {
		t.Fatal(err)
	}
	if _, err := anon.PublishReadout(ctx, demo.Line, readout(t, press, demo.East, id, "Correction: the talks were *constructive*.", first.ID)); err != nil {
		t.Fatal(err)
	}

	tampered := readout(t, press, demo.East, id, "We agreed.", "")
	body, _ := trust.DecodeB64(tampered.Body)
	tampered.Body = trust.B64([]byte(strings.Replace(string(body), "We agreed.", "We agreed to everything.", 1)))
	for what, c := range map[string]struct {
		s    audit.Signed
		code int
	}{
		"the other side's device":             {readout(t, westOp, demo.East, id, "East capitulated.", ""), 403},
		"a principal (no right)":              {readout(t, l.device(demo.East, "East Principal", role.Principal), demo.East, id, "Mine.", ""), 403},
		"a tampered readout":                  {tampered, 403},
		"a correction of the other's readout": {readout(t, westOp, demo.West, id, "Fixed theirs.", first.ID), 400},
		"a readout of no call":                {readout(t, press, demo.East, "c-nosuchcall1", "Nothing.", ""), 404},
	} {
		if _, err := anon.PublishReadout(ctx, demo.Line, c.s); apiclient.Status(err) != c.code {
			t.Errorf("%s: %v, want %d", what, err, c.code)
		}
	}

	list, err := anon.Readouts(ctx, demo.Line)
	if err != nil || len(list.Readouts) != 3 {
		t.Fatalf("listed %+v, %v", list, err)
	}
	for _, x := range list.Readouts {
		s, err := audit.ParseSigned(x.Signed)
		if err != nil {
			t.Fatal(err)
		}
		if rb, _, err := audit.OpenReadout(s, l.pins); err != nil || rb.Text != x.Text || rb.Side != x.Side {
			t.Fatalf("readout %s does not verify: %v", x.ID, err)
		}
		changed := s
		changed.Body = trust.B64([]byte(strings.Replace(string(mustB64(t, s.Body)), "talks", "tanks", 1)))
		if changed.Body != s.Body {
			if _, _, err := audit.OpenReadout(changed, l.pins); !errors.Is(err, audit.ErrBadSignature) {
				t.Fatalf("a changed readout: %v", err)
			}
		}
	}
	if c := list.Readouts[2]; c.Corrects != first.ID || c.Side != demo.East {
		t.Fatalf("the correction: %+v", c)
	}

	// The Atom feed, public, newest first.
	res, feedText := get(t, l.srv.URL()+"/lines/"+demo.Line+"/readouts.atom")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/atom+xml") {
		t.Fatalf("feed: %s %s", res.Status, res.Header.Get("Content-Type"))
	}
	feed, err := gofeed.NewParser().ParseString(feedText)
	if err != nil {
		t.Fatal(err)
	}
	if feed.FeedType != "atom" || len(feed.Items) != 3 || !strings.Contains(feed.Items[0].Title, "correction of "+first.ID) ||
		!strings.Contains(feed.Items[0].Content, "<em>constructive</em>") || feed.Items[0].Authors[0].Name != "East Press (east)" {
		t.Fatalf("feed %s: %d items, first %+v", feed.FeedType, len(feed.Items), feed.Items[0])
	}
	hostile := feed.Items[1].Content
	if strings.Contains(hostile, "<script") || strings.Contains(hostile, "<img") || !strings.Contains(hostile, "&lt;script&gt;") {
		t.Fatalf("the hostile readout in the feed: %s", hostile)
	}

	// The page: both sides under the call; the hostile markup is text.
	res, page := get(t, l.srv.URL()+"/lines/"+demo.Line+"/readouts")
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("page: %s, CSP %q", res.Status, res.Header.Get("Content-Security-Policy"))
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "<img") || strings.Count(page, `class="readout"`) != 3 ||
		!strings.Contains(page, `data-side="east"`) || !strings.Contains(page, `data-side="west"`) || !strings.Contains(page, "<strong>frank</strong>") {
		t.Fatalf("page:\n%s", page)
	}
	if res, _ := get(t, l.srv.URL()+"/lines/nosuchline/readouts.atom"); res.StatusCode != 404 {
		t.Fatalf("an unknown line's feed: %s", res.Status)
	}

	// The record notes the three readouts and verifies.
	rep, es, err := l.verify(l.api(l.device(demo.East, "East Operator", role.Operator)))
	if err != nil || rep.Counts[audit.Readout] != 3 {
		t.Fatalf("record %v: %+v", err, rep.Counts)
	}
	for _, e := range es {
		if e.Kind == audit.Readout && e.Ref == first.ID && (e.Name != "East Press" || e.Call != id) {
			t.Fatalf("readout entry %+v", e)
		}
	}
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := trust.DecodeB64(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
