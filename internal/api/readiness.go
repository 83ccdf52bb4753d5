package api

// Readiness is a booked call's go/no-go on the schedule (docs/API.md,
// "Readiness"): from the readiness probes' test calls in the hour before
// its start.
type Readiness struct {
	Badge  string `json:"badge"`           // BadgeGo, BadgeNoGo or BadgeUnknown
	State  string `json:"state,omitempty"` // the line's state then: green, degraded, down
	Reason string `json:"reason"`
	Run    string `json:"run,omitempty"` // the test call it comes from
}

// The badges.
const (
	BadgeGo      = "go"
	BadgeNoGo    = "no-go"
	BadgeUnknown = "unknown"
)
