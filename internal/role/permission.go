package role

import (
	"errors"
	"fmt"
)

// Action is something a participant or a side's staff may try; its string
// is the wire form (API error messages, audit log).
//
// The matrix below answers "may a holder of this role ever do this?". It
// does not know which side a person is on or what state the call is in:
// "only the principal of *their own* side admits", "advisers send media *once
// admitted*" and "press receives only *during* the public segment" are
// checked by the callers (internal/schedule, internal/call), which ask this
// package first.
type Action string

// The actions of issue 4 ("Call workflow") and PRODUCT.md's roles table.
const (
	// Media.
	PublishAudio          Action = "publish_audio"          // a microphone onto the floor
	PublishVideo          Action = "publish_video"          // a camera (a principal may have two)
	PublishInterpretation Action = "publish_interpretation" // audio into one interpretation channel, labelled as such
	ReceiveMedia          Action = "receive_media"          // the floor, private segment included
	ReceivePublicSegment  Action = "receive_public_segment" // the floor while the public segment runs

	// Presence and information.
	JoinCall     Action = "join_call"      // connect and wait in the lobby (admission is separate)
	SeeCallState Action = "see_call_state" // roster, lobby, state, duration, agenda
	SeeHealth    Action = "see_health"     // technical health: loss, jitter, round trip, bitrate
	ViewSchedule Action = "view_schedule"  // upcoming calls of the line, in both zones
	ViewHistory  Action = "view_history"   // past calls: duration, initiator, who took part

	// People in the call.
	AdmitFromLobby    Action = "admit_from_lobby"
	CallInAdviser     Action = "call_in_adviser"  // bring a pre-named adviser in mid-call, already admitted
	SendOutAdviser    Action = "send_out_adviser" // send them back out (to the bench)
	RemoveParticipant Action = "remove_participant"

	// The call's life cycle (internal/schedule's state machine).
	RequestCall Action = "request_call"
	AcceptCall  Action = "accept_call"
	DeclineCall Action = "decline_call"
	CancelCall  Action = "cancel_call"
	StartCall   Action = "start_call" // accepted → live
	EndCall     Action = "end_call"   // live → ended (hang up)
	EditAgenda  Action = "edit_agenda"

	// Press.
	StartPublicSegment Action = "start_public_segment"
	EndPublicSegment   Action = "end_public_segment" // "go private": the press is rekeyed out
	PublishReadout     Action = "publish_readout"

	// The line itself.
	ManageLine       Action = "manage_line"        // provision sides, keys, devices
	RunReadinessTest Action = "run_readiness_test" // scheduled test calls through the real path
)

// columns is the role order of matrix's columns. It is spelt out here, not
// taken from All, so that adding a role to All cannot silently shift a column.
var columns = [...]Role{Principal, Adviser, Interpreter, Operator, PressOfficer, Press, Monitor, Probe}

// y and n keep the rows of matrix short enough to read as a grid.
const (
	y = true  // allowed
	n = false // denied
)

// matrix is the whole policy, one row per action, one column per role.
// Deny is the default: an action or role missing here is refused.
//
// The reasons, from PRODUCT.md's roles table:
//   - principal: sends cameras and mic, receives all; admits his side's
//     lobby and calls advisers in from his bench; may request, answer,
//     cancel, start and end calls for his side.
//   - adviser, press officer: "sends/receives once admitted"; the press
//     officer opens and closes the public segment (so may the principal
//     and the operator: "go private" must not wait for one person) and
//     alone publishes the side's readout.
//   - interpreter: hears the floor, speaks only into an interpretation
//     channel, never onto the floor.
//   - operator: signals staff — provisions the line, runs readiness tests,
//     admits people, sees state and health, answers requests. No media: an
//     operator admitted as a participant carries a second role (for example
//     adviser) on the call's roster, and AllowedAny grants the union.
//   - press: the public segment only, nothing else (not even the roster:
//     the press feed is a recorder, not a participant).
//   - monitor: the wall display — receives only.
//   - probe: a readiness probe (issue 14) — sends and receives test media,
//     nothing else; the server admits it to test calls only.
var matrix = map[Action][len(columns)]bool{
	//                        principal adviser interpreter operator press_officer press monitor probe
	PublishAudio:          {y, y, n, n, y, n, n, y},
	PublishVideo:          {y, y, n, n, y, n, n, y},
	PublishInterpretation: {n, n, y, n, n, n, n, n},
	ReceiveMedia:          {y, y, y, n, y, n, y, y},
	ReceivePublicSegment:  {y, y, y, n, y, y, y, n},

	JoinCall:     {y, y, y, y, y, y, y, y},
	SeeCallState: {y, y, y, y, y, n, n, n},
	SeeHealth:    {n, n, n, y, n, n, n, n},
	ViewSchedule: {y, y, y, y, y, n, n, n},
	ViewHistory:  {y, n, n, y, y, n, n, n},

	AdmitFromLobby:    {y, n, n, y, n, n, n, n},
	CallInAdviser:     {y, n, n, y, n, n, n, n},
	SendOutAdviser:    {y, n, n, y, n, n, n, n},
	RemoveParticipant: {y, n, n, y, n, n, n, n},

	RequestCall: {y, n, n, y, n, n, n, n},
	AcceptCall:  {y, n, n, y, n, n, n, n},
	DeclineCall: {y, n, n, y, n, n, n, n},
	CancelCall:  {y, n, n, y, n, n, n, n},
	StartCall:   {y, n, n, y, n, n, n, n},
	EndCall:     {y, n, n, y, n, n, n, n},
	EditAgenda:  {y, n, n, y, n, n, n, n},

	StartPublicSegment: {y, n, n, y, y, n, n, n},
	EndPublicSegment:   {y, n, n, y, y, n, n, n},
	PublishReadout:     {n, n, n, n, y, n, n, n},

	ManageLine:       {n, n, n, y, n, n, n, n},
	RunReadinessTest: {n, n, n, y, n, n, n, n},
}

// Actions lists every action in a fixed order (the order of the constants).
var Actions = []Action{
	PublishAudio, PublishVideo, PublishInterpretation, ReceiveMedia, ReceivePublicSegment,
	JoinCall, SeeCallState, SeeHealth, ViewSchedule, ViewHistory,
	AdmitFromLobby, CallInAdviser, SendOutAdviser, RemoveParticipant,
	RequestCall, AcceptCall, DeclineCall, CancelCall, StartCall, EndCall, EditAgenda,
	StartPublicSegment, EndPublicSegment, PublishReadout,
	ManageLine, RunReadinessTest,
}

// ErrUnknownAction: an action name that is not one of Actions.
var ErrUnknownAction = errors.New("unknown action")

// ParseAction returns the action named s.
func ParseAction(s string) (Action, error) {
	for _, a := range Actions {
		if string(a) == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("%w %q", ErrUnknownAction, s)
}

// Allowed reports whether role r may perform a. Unknown roles and actions
// are denied.
func Allowed(r Role, a Action) bool {
	row, ok := matrix[a]
	if !ok {
		return false
	}
	for i, c := range columns {
		if c == r {
			return row[i]
		}
	}
	return false
}

// AllowedAny reports whether any of rs may perform a: a person holding
// several roles (an operator admitted as an adviser) may do what either
// allows. No roles, no permission.
func AllowedAny(rs []Role, a Action) bool {
	for _, r := range rs {
		if Allowed(r, a) {
			return true
		}
	}
	return false
}

// ErrForbidden: the roles held do not allow the action. The HTTP layer maps
// it to 403 and the signalling layer to its "forbidden" code.
var ErrForbidden = errors.New("not allowed")

// Check is AllowedAny as an error, naming the action and the roles held, for
// "a participant who tries an action outside their role gets an error".
func Check(rs []Role, a Action) error {
	if AllowedAny(rs, a) {
		return nil
	}
	if len(rs) == 0 {
		return fmt.Errorf("%w: %s needs a role, none held", ErrForbidden, a)
	}
	return fmt.Errorf("%w: roles %v may not %s", ErrForbidden, rs, a)
}

// May lists, in the order of Actions, every action that one of rs allows:
// what a client may offer its user (the server still checks each).
func May(rs []Role) []string {
	var out []string
	for _, a := range Actions {
		if AllowedAny(rs, a) {
			out = append(out, string(a))
		}
	}
	return out
}
