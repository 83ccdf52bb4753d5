// Package opening runs a call's booked public opening from a client
// (docs/PROTOCOL.md, "Segments", "A booked opening"). The server only
// states the booking (the roster's opening); it cannot sign a marker, so
// the opening happens when a person whose device may run the segment (a
// principal, press officer or operator) says so: the client asks once,
// "Open to the press now?", and signs the opening marker. Closing is the
// safe direction, so it is automatic: when the booked length has passed
// since the opening marker's time, every such client signs the marker that
// goes private; the first one the server takes wins, the others are
// refused as changing nothing. static/segment.js does the same in the page.
package opening

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"hotline/internal/apiclient"
	"hotline/internal/client"
	"hotline/internal/marker"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/trust"
)

// Deadline is when the booked opening that st's marker opened ends: the
// marker's time plus booked. ok is false unless st is the public segment
// of a call with a booked opening, opened by the call's first marker (a
// segment opened live later has no booked end).
func Deadline(st marker.State, booked time.Duration) (at time.Time, ok bool) {
	if booked <= 0 || st.Segment != protocol.SegmentPublic || st.Marker == nil || st.Seq != 1 {
		return time.Time{}, false
	}
	return time.UnixMilli(st.Marker.At).Add(booked), true
}

// Offered reports whether a client with roles should offer to open the
// booked opening: there is one and the call was never opened.
func Offered(st marker.State, booked time.Duration, roles []role.Role) bool {
	return booked > 0 && st.Seq == 0 && st.Marker == nil && role.AllowedAny(roles, role.StartPublicSegment)
}

// Config is what Run needs.
type Config struct {
	// Client is the endpoint in the call now (nil while it rejoins).
	Client func() *client.Client
	Device *trust.Device // its device, which signs the markers
	API    *apiclient.Client
	Line   string
	Call   string
	// Confirm is asked once, when the call's booked opening was never
	// opened, with its length: true opens it. nil: never opens (the
	// client still closes an opening at its end).
	Confirm func(booked time.Duration) bool
	// Changed, if set, hears each marker this client posted.
	Changed func(m protocol.Marker)
	Log     *slog.Logger
}

// poll is how often Run looks at the segment its client believes.
const poll = 50 * time.Millisecond

// Run offers the booked opening and closes it at its end, until ctx
// ends. A device whose roles cannot run the segment
// does nothing.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	who, err := cfg.Device.Identity(time.Now())
	if err != nil {
		return err
	}
	mayOpen := role.AllowedAny(who.Roles, role.StartPublicSegment)
	mayClose := role.AllowedAny(who.Roles, role.EndPublicSegment)
	if !mayOpen && !mayClose {
		return nil
	}
	asked := false
	var shown time.Duration // the length this client's person confirmed: the end is never later
	var closed uint32       // the seq of the opening this client closed (or saw closed)
	var retry time.Time
	var told uint32 // the seq of the opening whose end this client logged
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			c := cfg.Client()
			if c == nil {
				continue
			}
			st, _ := c.Keys().Segment()
			booked := c.Opening()
			if shown > 0 && (booked == 0 || booked > shown) {
				booked = shown
			}
			if mayOpen && !asked && Offered(st, booked, who.Roles) {
				asked = true
				if cfg.Confirm != nil && cfg.Confirm(booked) {
					shown = booked
					cfg.post(ctx, marker.Sign(cfg.Device, cfg.Line, cfg.Call, protocol.SegmentPublic, 1, time.Now()))
				}
			}
			if end, ok := Deadline(st, booked); ok && told != st.Seq {
				told = st.Seq
				cfg.Log.Info("booked public opening: private at", "at", end.Format(time.TimeOnly), "in", time.Until(end).Round(time.Second))
			}
			if end, ok := Deadline(st, booked); ok && mayClose && closed != st.Seq && !now.Before(end) && !now.Before(retry) {
				if cfg.post(ctx, marker.Sign(cfg.Device, cfg.Line, cfg.Call, protocol.SegmentPrivate, st.Seq+1, time.Now())) {
					closed = st.Seq
				} else {
					retry = now.Add(time.Second)
				}
			}
		}
	}
}

// post sends m and reports whether it is done with it. A conflict is
// another client's marker taken first (the call already opened, or already
// private): harmless, and done.
func (cfg Config) post(ctx context.Context, m protocol.Marker) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := cfg.API.PostMarker(ctx, m)
	switch {
	case err == nil:
		cfg.Log.Info("segment marker posted", "segment", m.Segment, "seq", m.Seq)
		if cfg.Changed != nil {
			cfg.Changed(m)
		}
		return true
	case apiclient.Status(err) == http.StatusConflict || errors.Is(err, context.Canceled):
		cfg.Log.Info("segment marker not needed", "segment", m.Segment, "seq", m.Seq, "err", err)
		return true
	default:
		cfg.Log.Warn("segment marker refused", "segment", m.Segment, "seq", m.Seq, "err", err)
		return false
	}
}
