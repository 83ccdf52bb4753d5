package apiclient

import (
	"context"
	"net/url"
	"time"

	"hotline/internal/api"
	"hotline/internal/marker"
	"hotline/internal/protocol"
	"hotline/internal/trust"
)

func segmentPath(line, call string) string {
	return "/api/live/" + url.PathEscape(line) + "/" + url.PathEscape(call) + "/segment"
}

// Segment reads a live call's segment (docs/API.md, "Segments").
func (c *Client) Segment(ctx context.Context, line, call string) (api.Segment, error) {
	var out api.Segment
	_, err := c.Do(ctx, "GET", segmentPath(line, call), nil, &out)
	return out, err
}

// SetSegment moves a live call into segment ("public" or "private"): it
// reads the call's last marker, signs the next one with dev (the device
// this client signed in with) and posts it.
func (c *Client) SetSegment(ctx context.Context, dev *trust.Device, line, call, segment string) (api.Segment, error) {
	cur, err := c.Segment(ctx, line, call)
	if err != nil {
		return api.Segment{}, err
	}
	return c.PostMarker(ctx, marker.Sign(dev, line, call, segment, cur.Seq+1, time.Now()))
}

// PostMarker posts a segment marker signed by the device this client
// signed in with, for the live call it names.
func (c *Client) PostMarker(ctx context.Context, m protocol.Marker) (api.Segment, error) {
	raw, err := checked(m, api.ParseMarker)
	if err != nil {
		return api.Segment{}, err
	}
	var out api.Segment
	_, err = c.Do(ctx, "POST", segmentPath(m.Line, m.Call), raw, &out)
	return out, err
}
