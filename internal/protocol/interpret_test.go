package protocol

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestInterpretationMessages: the interpretation messages decode, and
// malformed ones are refused with bad_message.
func TestInterpretationMessages(t *testing.T) {
	good := map[string]any{
		`{"type":"interpretation","languages":["en","ru"],"mode":"simultaneous"}`: &Interpretation{},
		`{"type":"interpret","language":"pt-BR"}`:                                 &Interpret{},
		`{"type":"listen","language":"floor"}`:                                    &Listen{},
		`{"type":"hand_over"}`:                                                    &BoothAction{},
		`{"type":"take_over"}`:                                                    &BoothAction{},
	}
	for in, want := range good {
		msg, err := Decode([]byte(in))
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got, w := goType(msg), goType(want); got != w {
			t.Errorf("%s: decoded as %s, want %s", in, got, w)
		}
	}
	bad := []string{
		`{"type":"interpretation","languages":["en","en"],"mode":"simultaneous"}`,
		`{"type":"interpretation","languages":["floor"],"mode":"simultaneous"}`,
		`{"type":"interpretation","languages":["en"],"mode":"relay"}`,
		`{"type":"interpretation","languages":["a","b","c","d","e","f","g","h","i"],"mode":"simultaneous"}`,
		`{"type":"interpretation","languages":["` + strings.Repeat("x", 40) + `"],"mode":"simultaneous"}`,
		`{"type":"interpret","language":"floor"}`,
		`{"type":"interpret","language":"e1"}`,
		`{"type":"listen","language":""}`,
		`{"type":"listen","language":"en","extra":1}`,
		`{"type":"hand_over","to":"p2"}`,
		`{"type":"publish","tracks":[{"id":"mic","kind":"audio","language":"not a tag"}]}`,
	}
	for _, in := range bad {
		_, err := Decode([]byte(in))
		var pe *Error
		if !errors.As(err, &pe) || pe.Code != CodeBadMessage {
			t.Errorf("%s: %v, want bad_message", in, err)
		}
	}
	// A roster with a live flag but no booth is refused by the client.
	if _, err := DecodeServer([]byte(`{"type":"roster","segment":"private","participants":[{"id":"p1","device":"a1b2c3d4e5f60718","name":"A","credential":` + tCred + `,"state":"in","listening":"floor","live":true,"tracks":[]}]}`)); err == nil {
		t.Error("a live member without a booth was accepted")
	}
}

func goType(v any) string { return fmt.Sprintf("%T", v) }
