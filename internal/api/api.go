// Package api is the contract of hotline's HTTP API (docs/API.md, and
// docs/PROTOCOL.md "Enrolment over HTTP"), the counterpart of
// internal/protocol for the WebSocket: the JSON shapes of requests and
// answers, the strict bounded decoding of every request body the server
// parses, and the error body. It holds no HTTP server code: internal/httpapi
// serves these shapes, internal/apiclient sends and reads them.
//
// A "booked call" (Call) is a call of the calls API: requested by one side,
// accepted by the other, live, ended. It is named by its id, which is also
// the name of the live call on the WebSocket that people join.
package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// MaxBody bounds a request body in bytes (docs/API.md, "Conventions"); a
// larger one is refused with 413 before it is parsed.
const MaxBody = 64 << 10

// ErrInvalid is the kind of every refusal of a body by a parser of this
// package: the server answers it with 400 Bad Request.
var ErrInvalid = errors.New("invalid")

// refusal is an ErrInvalid whose message is the cause's alone (it already
// says what went wrong); errors.Is finds ErrInvalid and the cause's own
// sentinels.
type refusal struct{ cause error }

func (e refusal) Error() string   { return e.cause.Error() }
func (e refusal) Unwrap() []error { return []error{ErrInvalid, e.cause} }

func invalid(format string, args ...any) error {
	return refusal{fmt.Errorf(format, args...)}
}

// Decode decodes one JSON object of at most MaxBody bytes into v, strictly:
// anything but an object, an unknown field, a wrong JSON type or data after
// the object is ErrInvalid.
func Decode(data []byte, v any) error {
	if len(data) > MaxBody {
		return invalid("body of %d bytes, at most %d", len(data), MaxBody)
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return invalid("the body must be one JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("bad JSON: %v", err)
	}
	if len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) > 0 {
		return invalid("trailing data after the JSON object")
	}
	return nil
}

// Error is the body of every refusal, {"error":"<what went wrong>"}, with
// the HTTP status it came with (not part of the body). The statuses and
// what each means are docs/API.md's table: 400 invalid input, 401 no or a
// refused session, 403 roles, side or line, 404 no such call, route or
// action, 409 state or version conflict, 410 a demo link used or expired,
// 413 body too large, 415 not JSON, 429 too many pending enrolment
// requests, 500 the server failed ("internal error").
type Error struct {
	Status  int    `json:"-"`
	Message string `json:"error"`
}

// Error is the message and the status, e.g. "call c-… is accepted (HTTP 409
// Conflict)".
func (e *Error) Error() string {
	return fmt.Sprintf("%s (HTTP %d %s)", e.Message, e.Status, http.StatusText(e.Status))
}
