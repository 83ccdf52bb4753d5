// Package approval is the page of `hotline officer`: served by the
// officer's own binary on a loopback address, it lists the side's pending
// enrolment requests and approves them (the binary signs the credential
// with the authority file it read; the key never reaches a page) or
// rejects them. The page is plain HTML forms without any script, so nothing
// in it could read a key even if it tried, and it comes from the binary,
// never from the line server (docs/THREAT_MODEL.md, "Local client mode").
package approval

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"hotline/internal/api"
	"hotline/internal/trust"
)

// Queue is the side's enrolment queue on the line server, as a signed-in
// officer sees it (internal/apiclient's officer calls).
type Queue interface {
	Pending(ctx context.Context) ([]api.Pending, error)
	Approve(ctx context.Context, id string, cred trust.Credential) error
	Reject(ctx context.Context, id string) error
}

// Config is what the page serves.
type Config struct {
	Queue     Queue
	Authority *trust.Authority // signs approvals; read by the binary, never sent anywhere
	Line      string
	Server    string        // the line server's URL, shown on the page
	MaxValid  time.Duration // longest credential the page signs
	Now       func() time.Time
}

// Handler serves the page. Its forms carry a token made at start-up, and a
// POST must come from the page's own origin with it: a page elsewhere that
// the officer happens to visit cannot approve anything (CSRF).
type Handler struct {
	cfg   Config
	token string
}

// New returns the page's handler.
func New(cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var b [24]byte
	rand.Read(b[:])
	return &Handler{cfg: cfg, token: trust.B64(b[:])}
}

//go:embed page.html
var pageHTML string

var page = template.Must(template.New("page").Parse(pageHTML))

// csp: no script at all, only this page's own style sheet.
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

//go:embed approval.css
var css []byte

// row is one request as the page shows it.
type row struct {
	ID, Name, Device, Fingerprint, Roles, Expires, Problem string
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cache-Control", "no-store")
	if !loopbackHost(r.Host) {
		http.Error(w, "the officer's page answers to loopback names only", http.StatusMisdirectedRequest)
		return
	}
	switch {
	case r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		h.render(w, r, http.StatusOK, "")
	case r.URL.Path == "/approval.css" && r.Method == http.MethodGet:
		hd.Set("Content-Type", "text/css; charset=utf-8")
		w.Write(css)
	case (r.URL.Path == "/approve" || r.URL.Path == "/reject") && r.Method == http.MethodPost:
		h.decide(w, r, r.URL.Path == "/approve")
	default:
		http.NotFound(w, r)
	}
}

// ErrForeign: a POST that did not come from the page itself.
var ErrForeign = errors.New("approval: this form did not come from the officer's page")

func (h *Handler) decide(w http.ResponseWriter, r *http.Request, approve bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	// A browser sends Origin with every POST; it must be this page's.
	if r.Header.Get("Origin") != "http://"+r.Host ||
		subtle.ConstantTimeCompare([]byte(r.PostForm.Get("token")), []byte(h.token)) != 1 {
		http.Error(w, ErrForeign.Error(), http.StatusForbidden)
		return
	}
	id := r.PostForm.Get("id")
	var msg string
	var err error
	if approve {
		msg, err = h.approve(r.Context(), id, r.PostForm.Get("days"))
	} else if err = h.cfg.Queue.Reject(r.Context(), id); err == nil {
		msg = "Rejected request " + id + "."
	}
	if err != nil {
		h.render(w, r, http.StatusBadRequest, "Not done: "+err.Error())
		return
	}
	h.render(w, r, http.StatusOK, msg)
}

func (h *Handler) approve(ctx context.Context, id, days string) (string, error) {
	d, err := strconv.Atoi(days)
	valid := time.Duration(d) * 24 * time.Hour
	if err != nil || d < 1 || valid > h.cfg.MaxValid {
		return "", fmt.Errorf("valid for %q days: give 1 to %d", days, int(h.cfg.MaxValid/(24*time.Hour)))
	}
	ps, err := h.cfg.Queue.Pending(ctx)
	if err != nil {
		return "", err
	}
	for _, p := range ps {
		if p.ID != id {
			continue
		}
		rb, err := trust.VerifyRequest(p.Request)
		if err != nil {
			return "", fmt.Errorf("request %s: %w", id, err)
		}
		now := h.cfg.Now().Truncate(time.Second)
		cred, err := h.cfg.Authority.Sign(p.Request, now, now.Add(valid))
		if err != nil {
			return "", err
		}
		if err := h.cfg.Queue.Approve(ctx, id, cred); err != nil {
			return "", err
		}
		return fmt.Sprintf("Approved %q (device %s), valid until %s.", rb.Name, rb.DeviceID, now.Add(valid).UTC().Format(time.RFC3339)), nil
	}
	return "", fmt.Errorf("no pending request %q for side %s", id, h.cfg.Authority.Side)
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, msg string) {
	data := struct {
		Side, Line, Server, Fingerprint, Token, Message, Error string
		Demo                                                   bool
		Days, MaxDays                                          int
		Rows                                                   []row
	}{Side: h.cfg.Authority.Side, Line: h.cfg.Line, Server: h.cfg.Server, Fingerprint: h.cfg.Authority.Fingerprint(),
		Token: h.token, Message: msg, Days: 30, MaxDays: int(h.cfg.MaxValid / (24 * time.Hour))}
	ps, err := h.cfg.Queue.Pending(r.Context())
	if err != nil {
		data.Error = "The server's queue could not be read: " + err.Error()
	}
	for _, p := range ps {
		rw := row{ID: p.ID, Expires: time.Unix(p.Expires, 0).UTC().Format(time.RFC3339)}
		if rb, err := trust.VerifyRequest(p.Request); err != nil {
			rw.Problem = "unreadable request (" + err.Error() + "): reject it"
		} else {
			roles := make([]string, len(rb.Roles))
			for i, x := range rb.Roles {
				roles[i] = string(x)
			}
			rw.Name, rw.Device, rw.Fingerprint, rw.Roles = rb.Name, rb.DeviceID, trust.Fingerprint(rb.SigKey), strings.Join(roles, ", ")
		}
		data.Rows = append(data.Rows, rw)
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, data); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// loopbackHost: a DNS-rebinding page at a stranger's name must not read
// the page (with its form token).
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.IsLoopback()
}
