// Package role names the people of a call (docs/PROTOCOL.md, PRODUCT.md's
// table of roles). Credentials carry roles; the server and clients decide
// what each may do from them.
package role

import (
	"errors"
	"fmt"
)

// Role is one of the fixed roles below; its string is the wire form.
type Role string

// The roles of ../shared/PRODUCT.md.
const (
	Principal    Role = "principal"
	Adviser      Role = "adviser"
	Interpreter  Role = "interpreter"
	Operator     Role = "operator"
	PressOfficer Role = "press_officer"
	Press        Role = "press"
	Monitor      Role = "monitor"
	// Probe is a readiness probe's device (issue 14): it sends and
	// receives test media in test calls only; the server's gate keeps it
	// out of every other call and every other call's people out of test
	// calls.
	Probe Role = "probe"
)

// All lists every role in a fixed order.
var All = []Role{Principal, Adviser, Interpreter, Operator, PressOfficer, Press, Monitor, Probe}

// ErrUnknown: a role name that is not one of All.
var ErrUnknown = errors.New("unknown role")

// Parse returns the role named s.
func Parse(s string) (Role, error) {
	for _, r := range All {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("%w %q", ErrUnknown, s)
}

// ErrDuplicate: a role listed twice.
var ErrDuplicate = errors.New("role listed twice")

// ParseList parses a list of role names: at least one, each known, none twice.
func ParseList(names []string) ([]Role, error) {
	if len(names) == 0 {
		return nil, errors.New("no role")
	}
	out := make([]Role, 0, len(names))
	for _, n := range names {
		r, err := Parse(n)
		if err != nil {
			return nil, err
		}
		for _, o := range out {
			if o == r {
				return nil, fmt.Errorf("%w: %q", ErrDuplicate, n)
			}
		}
		out = append(out, r)
	}
	return out, nil
}
