// Package demo provisions a complete local line for trying hotline out and
// for tests: two sides with authorities kept in the data folder (demo only:
// a real authority's private key never sits on the server), the line between
// them, and one enrolment link per role. `hotline demo` and the browser tests
// enrol through it; native tests and `hotline bench` enrol devices with
// EnrolDevice.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"hotline/internal/role"
	"hotline/internal/store"
	"hotline/internal/trust"
)

// The demo line.
const (
	Line = "demo"
	Call = "demo"
	East = "east"
	West = "west"
)

// Demo is a provisioned demo line.
type Demo struct {
	Authorities []*trust.Authority // east, west
	Links       []Link
	dataDir     string
}

// Link is one enrolment link: whoever opens it first is enrolled as Name.
type Link struct {
	Side, Name string
	Roles      []string
	Token      string
}

// URL is the link on a server at base (e.g. http://127.0.0.1:8080). It
// names whom it enrols so that the browser can put that in its request; the
// server checks the request against the token's grant.
func (l Link) URL(base string) string {
	q := url.Values{"token": {l.Token}, "side": {l.Side}, "name": {l.Name}, "roles": {strings.Join(l.Roles, ",")}}
	return base + "/enrol?" + q.Encode()
}

// TokenValidity is how long a demo link works.
const TokenValidity = 24 * time.Hour

// people are the demo's links: the scenario's principals, an adviser on
// each side, an interpreter per side, the wall monitor and each side's operator.
var people = []struct {
	side, name string
	roles      []role.Role
}{
	{East, "East Principal", []role.Role{role.Principal}},
	{East, "East Adviser", []role.Role{role.Adviser}},
	{East, "East Interpreter", []role.Role{role.Interpreter}},
	{West, "West Principal", []role.Role{role.Principal}},
	{West, "West Adviser", []role.Role{role.Adviser}},
	{West, "West Interpreter", []role.Role{role.Interpreter}},
	{West, "West Monitor", []role.Role{role.Monitor}},
	{East, "East Operator", []role.Role{role.Operator}},
	{West, "West Operator", []role.Role{role.Operator}},
}

// Provision makes (or reuses) the demo authorities in dataDir/demo, records
// the sides and the line, and makes fresh links. It opens and closes the
// store itself; call it before the server starts.
func Provision(ctx context.Context, dataDir string) (*Demo, error) {
	d := &Demo{dataDir: dataDir}
	dir := filepath.Join(dataDir, "demo")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	for _, side := range []string{East, West} {
		a, err := loadOrCreate(filepath.Join(dir, "authority-"+side+".json"), side)
		if err != nil {
			return nil, err
		}
		d.Authorities = append(d.Authorities, a)
	}
	st, err := store.Open(dataDir, nil)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	zones := map[string]string{East: "Europe/Moscow", West: "America/New_York"}
	for _, a := range d.Authorities {
		if err := st.AddSide(ctx, store.Side{Name: a.Side, AuthorityKey: a.Public, TimeZone: zones[a.Side]}); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	if err := st.AddLine(ctx, Line, East, West); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	for _, p := range people {
		l, err := AddLink(ctx, st, p.side, p.name, p.roles)
		if err != nil {
			return nil, err
		}
		d.Links = append(d.Links, l)
	}
	return d, nil
}

// AddLink records one more enrolment link for the demo call.
func AddLink(ctx context.Context, st *store.Store, side, name string, roles []role.Role) (Link, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Link{}, err
	}
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	rs := make([]string, len(roles))
	for i, r := range roles {
		rs[i] = string(r)
	}
	err := st.AddEnrolToken(ctx, tok, store.EnrolToken{Line: Line, Side: side, Name: name, Roles: rs, Call: Call, Expires: time.Now().Add(TokenValidity)})
	if err != nil {
		return Link{}, fmt.Errorf("demo: %w", err)
	}
	return Link{Side: side, Name: name, Roles: rs, Token: tok}, nil
}

func loadOrCreate(path, side string) (*trust.Authority, error) {
	a, err := trust.LoadAuthority(path, nil)
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if a, err = trust.NewAuthority(side); err != nil {
		return nil, err
	}
	if err := a.Save(path, nil, true); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return a, nil
}

// Authority returns the demo authority of a side.
func (d *Demo) Authority(side string) *trust.Authority {
	for _, a := range d.Authorities {
		if a.Side == side {
			return a
		}
	}
	return nil
}

// Pins are the demo line's authority pins.
func (d *Demo) Pins() []trust.Pin {
	return []trust.Pin{d.Authorities[0].Pin(), d.Authorities[1].Pin()}
}

// EnrolDevice makes a native device enrolled on the demo line: fresh keys, a
// credential signed by the side's demo authority, the line's pins. Without
// roles it is a principal: in the call at once, sending and receiving
// (others wait in the lobby; internal/call).
func (d *Demo) EnrolDevice(side, name string, roles ...role.Role) (*trust.Device, error) {
	a := d.Authority(side)
	if a == nil {
		return nil, fmt.Errorf("demo: no side %q", side)
	}
	if len(roles) == 0 {
		roles = []role.Role{role.Principal}
	}
	dev, err := trust.NewDevice()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	req, err := dev.Request(side, name, roles, now)
	if err != nil {
		return nil, err
	}
	cred, err := a.Sign(req, now, now.Add(TokenValidity))
	if err != nil {
		return nil, err
	}
	dev.Credential = &cred
	dev.Pins = d.Pins()
	return dev, nil
}
