package apiclient

import (
	"context"
	"fmt"
	"net/url"

	"hotline/internal/api"
	"hotline/internal/trust"
)

// SignInOfficer opens an officer session for a's side of line (docs/API.md,
// "Officer sessions"): the authority signs a fresh challenge. The session
// opens the side's enrolment queue only.
func (c *Client) SignInOfficer(ctx context.Context, a *trust.Authority, line string) error {
	ch, nonce, err := c.nonce(ctx)
	if err != nil {
		return err
	}
	body := map[string]string{"line": line, "side": a.Side, "nonce": ch.Nonce, "proof": trust.B64(a.OfficerProof(nonce, line))}
	var s api.OfficerSession
	if _, err := c.Do(ctx, "POST", "/api/session/officer", body, &s); err != nil {
		return fmt.Errorf("officer session: %w", err)
	}
	c.token = s.Token
	return nil
}

// Pending lists the requests waiting for the signed-in officer's side.
func (c *Client) Pending(ctx context.Context) ([]api.Pending, error) {
	var out api.PendingList
	_, err := c.Do(ctx, "GET", "/api/requests", nil, &out)
	return out.Requests, err
}

// Approve posts the credential an officer signed for request id.
func (c *Client) Approve(ctx context.Context, id string, cred trust.Credential) error {
	_, err := c.Do(ctx, "POST", "/api/requests/"+url.PathEscape(id)+"/credential", api.ApproveBody{Credential: cred}, nil)
	return err
}

// Reject rejects request id of the signed-in officer's side.
func (c *Client) Reject(ctx context.Context, id string) error {
	_, err := c.Do(ctx, "POST", "/api/requests/"+url.PathEscape(id)+"/reject", nil, nil)
	return err
}
