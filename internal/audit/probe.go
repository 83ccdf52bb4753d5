package audit

import (
	"fmt"
	"time"

	"hotline/internal/marker"
	"hotline/internal/probe"
	"hotline/internal/trust"
)

// ProbeEntry is the entry of a probe's result as stored: report is its
// signed report (internal/probe's JSON form) as it came.
func ProbeEntry(line string, at time.Time, report []byte) (Entry, error) {
	rep, err := probe.ParseReport(report)
	if err != nil {
		return Entry{}, err
	}
	r, err := probe.BodyOf(rep)
	if err != nil {
		return Entry{}, err
	}
	ok := r.OK
	return Entry{Line: line, At: at.UnixMilli(), Kind: Probe, Call: r.Run, Side: r.Side, Device: r.Device,
		Reason: r.Reason, OK: &ok, Report: &Signed{Credential: rep.Credential, Body: rep.Body, Sig: rep.Sig}}, nil
}

// checkProbe verifies a probe entry's report against the pins, as the
// server did when it stored it (internal/probe's Verify: a probe
// credential of the line, the signer's own side and device, the signature)
// at the time the result says its test call began, and that the entry's
// fields are the report's.
func checkProbe(e Entry, pins []trust.Pin) error {
	rep := probe.Report{Body: e.Report.Body, Sig: e.Report.Sig, Credential: e.Report.Credential}
	claimed, err := probe.BodyOf(rep) // unverified: only for its time
	if err != nil {
		return err
	}
	r, _, err := probe.Verify(rep, e.Line, pins, time.UnixMilli(claimed.Started))
	if err != nil {
		return err
	}
	if r.Run != e.Call || r.Side != e.Side || r.Device != e.Device || r.OK != *e.OK || r.Reason != e.Reason {
		return fmt.Errorf("%w: the entry's run, side, device, ok or reason differ from its report's", ErrMalformed)
	}
	return nil
}

// checkMarker verifies a segment entry's marker against the pins at the
// time it was signed (internal/marker's Verify: the signer's credential,
// roles and signature, this call) and that it is the entry's segment.
func checkMarker(e Entry, pins []trust.Pin) error {
	m := *e.Marker
	if _, err := marker.Verify(m, e.Line, e.Call, pins, time.UnixMilli(m.At)); err != nil {
		return err
	}
	if m.Segment != e.To {
		return fmt.Errorf("%w: the entry says %q, its marker %q", ErrMalformed, e.To, m.Segment)
	}
	return nil
}
