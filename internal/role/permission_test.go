package role

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// expected is the permission matrix as a reviewer would write it from
// PRODUCT.md, independently of matrix in permission.go: wire names only, one
// row per action, one column per role in the header's order; "+" allows,
// "-" denies. The test refuses a grid that misses or repeats an action or a
// role, so every role × every action is written out here.
const expected = `
action                  principal adviser interpreter operator press_officer press monitor probe
publish_audio           +         +       -           -        +             -     -     +
publish_video           +         +       -           -        +             -     -     +
publish_interpretation  -         -       +           -        -             -     -     -
receive_media           +         +       +           -        +             -     +     +
receive_public_segment  +         +       +           -        +             +     +     -
join_call               +         +       +           +        +             +     +     +
see_call_state          +         +       +           +        +             -     -     -
see_health              -         -       -           +        -             -     -     -
view_schedule           +         +       +           +        +             -     -     -
view_history            +         -       -           +        +             -     -     -
admit_from_lobby        +         -       -           +        -             -     -     -
call_in_adviser         +         -       -           +        -             -     -     -
send_out_adviser        +         -       -           +        -             -     -     -
remove_participant      +         -       -           +        -             -     -     -
request_call            +         -       -           +        -             -     -     -
accept_call             +         -       -           +        -             -     -     -
decline_call            +         -       -           +        -             -     -     -
cancel_call             +         -       -           +        -             -     -     -
start_call              +         -       -           +        -             -     -     -
end_call                +         -       -           +        -             -     -     -
edit_agenda             +         -       -           +        -             -     -     -
start_public_segment    +         -       -           +        +             -     -     -
end_public_segment      +         -       -           +        +             -     -     -
publish_readout         -         -       -           -        +             -     -     -
manage_line             -         -       -           +        -             -     -     -
run_readiness_test      -         -       -           +        -             -     -     -
`

type cell struct {
	role   string
	action string
	allow  bool
}

// parseExpected turns the grid into cells, failing the test on any
// malformed, missing or repeated row or column.
func parseExpected(t *testing.T) []cell {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(expected), "\n")
	header := strings.Fields(lines[0])
	if header[0] != "action" {
		t.Fatalf("grid header %q", lines[0])
	}
	roles := header[1:]
	seenRole := map[string]bool{}
	for _, r := range roles {
		if seenRole[r] {
			t.Fatalf("grid lists role %q twice", r)
		}
		seenRole[r] = true
	}
	if len(roles) != len(All) {
		t.Fatalf("grid has %d roles, package has %d", len(roles), len(All))
	}
	for _, r := range All {
		if !seenRole[string(r)] {
			t.Fatalf("grid misses role %q", r)
		}
	}
	var cells []cell
	seenAction := map[string]bool{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 1+len(roles) {
			t.Fatalf("grid row %q has %d cells, want %d", l, len(f)-1, len(roles))
		}
		if seenAction[f[0]] {
			t.Fatalf("grid lists action %q twice", f[0])
		}
		seenAction[f[0]] = true
		for i, v := range f[1:] {
			if v != "+" && v != "-" {
				t.Fatalf("grid row %q: cell %q is neither + nor -", f[0], v)
			}
			cells = append(cells, cell{role: roles[i], action: f[0], allow: v == "+"})
		}
	}
	if len(seenAction) != len(Actions) {
		t.Fatalf("grid has %d actions, package has %d", len(seenAction), len(Actions))
	}
	for _, a := range Actions {
		if !seenAction[string(a)] {
			t.Fatalf("grid misses action %q", a)
		}
	}
	return cells
}

func TestMatrix(t *testing.T) {
	cells := parseExpected(t)
	if len(cells) != len(All)*len(Actions) {
		t.Fatalf("%d cells, want %d", len(cells), len(All)*len(Actions))
	}
	for _, c := range cells {
		r, err := Parse(c.role)
		if err != nil {
			t.Fatal(err)
		}
		a, err := ParseAction(c.action)
		if err != nil {
			t.Fatal(err)
		}
		if got := Allowed(r, a); got != c.allow {
			t.Errorf("Allowed(%s, %s) = %v, want %v", c.role, c.action, got, c.allow)
		}
		// A single role and a list of that one role agree.
		if got := AllowedAny([]Role{r}, a); got != c.allow {
			t.Errorf("AllowedAny([%s], %s) = %v, want %v", c.role, c.action, got, c.allow)
		}
		err = Check([]Role{r}, a)
		if c.allow != (err == nil) || (err != nil && !errors.Is(err, ErrForbidden)) {
			t.Errorf("Check([%s], %s) = %v, want allowed=%v", c.role, c.action, err, c.allow)
		}
	}
}

// TestProductRules spells out the sentences of PRODUCT.md and issue 4 that
// the matrix must honour, so a change to the grid that breaks one of them is
// named by the rule it breaks.
func TestProductRules(t *testing.T) {
	for _, a := range Actions {
		receive := a == ReceiveMedia || a == ReceivePublicSegment || a == JoinCall
		if (a == ReceivePublicSegment || a == JoinCall) != Allowed(Press, a) {
			t.Errorf("press: receives the public segment only, but %s = %v", a, Allowed(Press, a))
		}
		if receive != Allowed(Monitor, a) {
			t.Errorf("monitor: receives only, but %s = %v", a, Allowed(Monitor, a))
		}
	}
	for _, a := range []Action{ReceiveMedia, ReceivePublicSegment, PublishAudio, PublishVideo, PublishInterpretation} {
		if Allowed(Operator, a) {
			t.Errorf("operator: no media unless admitted as a participant, but %s allowed", a)
		}
	}
	for _, a := range []Action{SeeCallState, SeeHealth, AdmitFromLobby} {
		if !Allowed(Operator, a) {
			t.Errorf("operator: sees state and health and admits, but %s denied", a)
		}
	}
	if Allowed(Interpreter, PublishAudio) || Allowed(Interpreter, PublishVideo) || !Allowed(Interpreter, PublishInterpretation) {
		t.Error("interpreter: speaks into an interpretation channel only")
	}
	for _, r := range All {
		runs := r == PressOfficer || r == Principal || r == Operator
		if Allowed(r, StartPublicSegment) != runs || Allowed(r, EndPublicSegment) != runs {
			t.Errorf("%s: the press officer, principal and operator run the public segment, nobody else", r)
		}
		if Allowed(r, PublishReadout) != (r == PressOfficer) {
			t.Errorf("%s: only the press officer publishes the readout", r)
		}
	}
}

func TestAllowedAny(t *testing.T) {
	tests := []struct {
		name  string
		roles []Role
		a     Action
		want  bool
	}{
		{"no roles", nil, JoinCall, false},
		{"empty list", []Role{}, ReceiveMedia, false},
		{"operator admitted as adviser receives", []Role{Operator, Adviser}, ReceiveMedia, true},
		{"operator admitted as adviser still admits", []Role{Adviser, Operator}, AdmitFromLobby, true},
		{"press and monitor cannot publish", []Role{Press, Monitor}, PublishAudio, false},
		{"principal and press officer open the public segment", []Role{Principal, PressOfficer}, StartPublicSegment, true},
		{"unknown role ignored", []Role{"king"}, JoinCall, false},
		{"unknown role beside a known one", []Role{"king", Monitor}, ReceiveMedia, true},
		{"unknown action", []Role{Principal, Operator}, "launch", false},
		{"case matters", []Role{"Principal"}, JoinCall, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AllowedAny(tt.roles, tt.a); got != tt.want {
				t.Errorf("AllowedAny(%v, %s) = %v, want %v", tt.roles, tt.a, got, tt.want)
			}
			err := Check(tt.roles, tt.a)
			if (err == nil) != tt.want {
				t.Errorf("Check(%v, %s) = %v, want allowed=%v", tt.roles, tt.a, err, tt.want)
			}
			if err != nil && !errors.Is(err, ErrForbidden) {
				t.Errorf("Check error %v does not wrap ErrForbidden", err)
			}
		})
	}
}

func TestUnknown(t *testing.T) {
	for _, r := range All {
		if Allowed(r, "") || Allowed(r, "PUBLISH_AUDIO") {
			t.Errorf("%s allowed an unknown action", r)
		}
	}
	for _, a := range Actions {
		if Allowed("", a) || Allowed("root", a) {
			t.Errorf("unknown role allowed %s", a)
		}
	}
	if _, err := ParseAction("publish_audio "); !errors.Is(err, ErrUnknownAction) {
		t.Errorf("ParseAction with a trailing space: %v", err)
	}
	seen := map[Action]bool{}
	for _, a := range Actions {
		if seen[a] {
			t.Errorf("Actions lists %s twice", a)
		}
		seen[a] = true
		if _, ok := matrix[a]; !ok {
			t.Errorf("matrix has no row for %s (it would be denied to everyone)", a)
		}
	}
	if len(matrix) != len(Actions) {
		t.Errorf("matrix has %d rows, Actions %d", len(matrix), len(Actions))
	}
	if len(columns) != len(All) {
		t.Errorf("matrix has %d columns, All has %d roles", len(columns), len(All))
	}
}

func TestCheckMessage(t *testing.T) {
	err := Check([]Role{Press}, PublishVideo)
	if err == nil || !strings.Contains(err.Error(), "publish_video") || !strings.Contains(err.Error(), "press") {
		t.Errorf("Check message %v should name the action and the roles", err)
	}
}

func TestMay(t *testing.T) {
	got := May([]Role{Monitor})
	want := []string{string(ReceiveMedia), string(ReceivePublicSegment), string(JoinCall)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("a monitor may %v, want %v", got, want)
	}
	if m := May(nil); len(m) != 0 {
		t.Fatalf("no role may %v", m)
	}
	both := May([]Role{Principal, Operator})
	for _, a := range Actions {
		allowed := AllowedAny([]Role{Principal, Operator}, a)
		if allowed != slices.Contains(both, string(a)) {
			t.Errorf("%s: May says %v, AllowedAny %v", a, !allowed, allowed)
		}
	}
}
