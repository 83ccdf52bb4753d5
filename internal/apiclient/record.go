package apiclient

import (
	"context"
	"net/url"

	"hotline/internal/api"
	"hotline/internal/audit"
)

// Record fetches the line's call record (docs/API.md, "Call record"),
// decoded with audit.ParseExport; nothing in it is verified yet.
func (c *Client) Record(ctx context.Context, line string) (audit.Export, []byte, error) {
	raw, err := c.do(ctx, "GET", "/api/lines/"+url.PathEscape(line)+"/record", nil, nil, audit.MaxExport)
	if err != nil {
		return audit.Export{}, nil, err
	}
	x, err := audit.ParseExport(raw)
	return x, raw, err
}

// PostHead hands the server a signed head to append to the record.
func (c *Client) PostHead(ctx context.Context, line string, s audit.Signed) (uint64, error) {
	return c.postStatement(ctx, line, "heads", s)
}

// PostWitness hands the server a witness statement to append to the record.
func (c *Client) PostWitness(ctx context.Context, line string, s audit.Signed) (uint64, error) {
	return c.postStatement(ctx, line, "witness", s)
}

func (c *Client) postStatement(ctx context.Context, line, what string, s audit.Signed) (uint64, error) {
	var out api.RecordAppended
	_, err := c.Do(ctx, "POST", "/api/lines/"+url.PathEscape(line)+"/record/"+what, s, &out)
	return out.Seq, err
}

// PublishReadout publishes a signed readout (docs/API.md, "Readouts").
func (c *Client) PublishReadout(ctx context.Context, line string, s audit.Signed) (api.ReadoutPublished, error) {
	var out api.ReadoutPublished
	_, err := c.Do(ctx, "POST", "/api/lines/"+url.PathEscape(line)+"/readouts", s, &out)
	return out, err
}

// Readouts lists the line's readouts (no session needed).
func (c *Client) Readouts(ctx context.Context, line string) (api.ReadoutList, error) {
	var out api.ReadoutList
	_, err := c.Do(ctx, "GET", "/api/lines/"+url.PathEscape(line)+"/readouts", nil, &out)
	return out, err
}
