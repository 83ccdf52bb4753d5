// Package apiclient is a Go client of hotline's HTTP API (docs/API.md), on
// the shapes of internal/api: device sign-in with the session proof
// (trust.SessionProof), then the booked calls with the bearer token. It is
// what `hotline call` and the tests use.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"hotline/internal/api"
	"hotline/internal/trust"
)

// MaxReply bounds what the client reads of an answer (a list of 200 booked
// calls with their histories fits many times over).
const MaxReply = 4 << 20

// ErrNotEnrolled is returned by SignIn for a device without a credential.
var ErrNotEnrolled = errors.New("the device is not enrolled yet (hotline device install)")

// Client talks to one server. Its zero token makes it a client of the
// routes that need no session (the challenge, enrolment).
type Client struct {
	base string
	// server is the name the session proof signs: the base URL's
	// host[:port] in trust.ServerName form (docs/API.md, "Authentication").
	server string
	http   *http.Client
	token  string
	// Session is the API session SignIn opened (zero before).
	Session api.Session
}

// New makes a client of the server at base, an http:// or https:// URL with
// a host. hc may be nil: then a client with a 30 s timeout is used.
func New(base string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server %q: want an http:// or https:// URL with a host", base)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: strings.TrimSuffix(base, "/"), server: trust.ServerName(u.Host, u.Scheme == "https"), http: hc}, nil
}

// Token is the bearer token of the session SignIn opened ("" before).
func (c *Client) Token() string { return c.token }

// WithToken is a client of the same server that uses the token of a session
// opened earlier (by SignIn on another client).
func (c *Client) WithToken(token string) *Client {
	return &Client{base: c.base, server: c.server, http: c.http, token: token}
}

// SignIn opens an API session on line with the device's credential
// (docs/API.md, "Authentication"): it asks for a challenge, signs its nonce
// the server's name and the line with the device's signing key, and keeps the token for every
// later request.
func (c *Client) SignIn(ctx context.Context, dev *trust.Device, line string) error {
	if dev.Credential == nil {
		return ErrNotEnrolled
	}
	ch, nonce, err := c.nonce(ctx)
	if err != nil {
		return err
	}
	body := api.SignInBody{Line: line, Credential: *dev.Credential, Nonce: ch.Nonce, Proof: trust.B64(dev.SessionProof(nonce, c.server, line))}
	var s api.Session
	if _, err := c.Do(ctx, "POST", "/api/session", body, &s); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	c.token, c.Session = s.Token, s
	return nil
}

// nonce asks for a challenge and decodes its nonce.
func (c *Client) nonce(ctx context.Context) (api.Challenge, []byte, error) {
	ch, err := c.Challenge(ctx)
	if err != nil {
		return ch, nil, fmt.Errorf("session challenge: %w", err)
	}
	nonce, err := trust.DecodeB64(ch.Nonce)
	if err != nil || len(nonce) != trust.NonceSize {
		return ch, nil, errors.New("session challenge: the server sent a bad nonce")
	}
	return ch, nonce, nil
}

// Challenge asks for a fresh session nonce.
func (c *Client) Challenge(ctx context.Context) (api.Challenge, error) {
	var ch api.Challenge
	_, err := c.Do(ctx, "POST", "/api/session/challenge", nil, &ch)
	return ch, err
}

// SignOut ends the session: its token stops working.
func (c *Client) SignOut(ctx context.Context) error {
	_, err := c.Do(ctx, "DELETE", "/api/session", nil, nil)
	if err == nil {
		c.token = ""
	}
	return err
}

// Do sends a request and decodes a 2xx answer into out (if not nil); it
// returns the raw answer. body is nil (no body), a []byte or
// json.RawMessage (sent as it is) or anything else (encoded as JSON); a body
// goes as application/json. An error answer is an *api.Error with the
// server's message and the status.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) ([]byte, error) {
	return c.do(ctx, method, path, body, out, MaxReply)
}

func (c *Client) do(ctx context.Context, method, path string, body, out any, maxReply int64) ([]byte, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case json.RawMessage:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxReply))
	if err != nil {
		return nil, err
	}
	if res.StatusCode/100 != 2 {
		e := &api.Error{}
		if json.Unmarshal(raw, e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(raw))
		}
		e.Status = res.StatusCode
		return nil, e
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("unreadable answer from the server: %w", err)
		}
	}
	return raw, nil
}

// Status is the HTTP status of an error answer (an *api.Error), or 0.
func Status(err error) int {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}
