package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"hotline/internal/api"
)

// ErrRefused wraps a body that the client refused before sending it, with
// the server's own parser's words (and api.ErrInvalid).
var ErrRefused = errors.New("refused before sending anything")

// checked encodes a body and checks it with the server's own parser, so
// that bad input is refused here, before anything is sent.
func checked[T any](v any, parse func([]byte) (T, error)) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if _, err := parse(b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return b, nil
}

// CheckRequest is a request body as it would be sent, checked with
// api.ParseRequest.
func CheckRequest(b api.RequestBody) (json.RawMessage, error) { return checked(b, api.ParseRequest) }

// CheckTransition is a transition body as it would be sent, checked with
// api.ParseTransition.
func CheckTransition(b api.TransitionBody) (json.RawMessage, error) {
	return checked(b, api.ParseTransition)
}

// Calls lists the line's upcoming booked calls (requested, accepted, live);
// line "" is the session's.
func (c *Client) Calls(ctx context.Context, line string) (api.CallList, error) {
	return c.list(ctx, "/api/calls", line)
}

// History lists the line's past booked calls with their attendance.
func (c *Client) History(ctx context.Context, line string) (api.CallList, error) {
	return c.list(ctx, "/api/history", line)
}

func (c *Client) list(ctx context.Context, path, line string) (api.CallList, error) {
	if line != "" {
		path += "?line=" + url.QueryEscape(line)
	}
	var l api.CallList
	_, err := c.Do(ctx, "GET", path, nil, &l)
	return l, err
}

// Call returns one booked call.
func (c *Client) Call(ctx context.Context, id string) (api.Call, error) {
	var out api.Call
	_, err := c.Do(ctx, "GET", "/api/calls/"+url.PathEscape(id), nil, &out)
	return out, err
}

// Request requests a booked call. The body is checked with the server's
// parser first (ErrRefused).
func (c *Client) Request(ctx context.Context, b api.RequestBody) (api.Call, error) {
	body, err := CheckRequest(b)
	if err != nil {
		return api.Call{}, err
	}
	var out api.Call
	_, err = c.Do(ctx, "POST", "/api/calls", body, &out)
	return out, err
}

// Transition makes event (accept, decline, cancel, start, end) on a booked
// call. A zero body is sent as no body at all.
func (c *Client) Transition(ctx context.Context, id, event string, b api.TransitionBody) (api.Call, error) {
	var body any
	if b.Version != 0 || len(b.Participants) > 0 {
		raw, err := CheckTransition(b)
		if err != nil {
			return api.Call{}, err
		}
		body = raw
	}
	var out api.Call
	_, err := c.Do(ctx, "POST", "/api/calls/"+url.PathEscape(id)+"/"+url.PathEscape(event), body, &out)
	return out, err
}

// ICS is the booked call's iCalendar file (RFC 5545).
func (c *Client) ICS(ctx context.Context, id string) ([]byte, error) {
	return c.Do(ctx, "GET", "/calls/"+url.PathEscape(id)+".ics", nil, nil)
}

// Line is a line's pins (GET /api/lines/{name}), as `hotline line show
// --json` prints them.
func (c *Client) Line(ctx context.Context, name string) (api.LineInfo, error) {
	var out api.LineInfo
	_, err := c.Do(ctx, "GET", "/api/lines/"+url.PathEscape(name), nil, &out)
	return out, err
}
