package protocol

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeValid(t *testing.T) {
	cases := []struct {
		in   string
		want any
	}{
		{`{"type":"join","version":1,"call":"x","name":"Alice","tracks":[{"id":"mic","kind":"audio","source":"mic"},{"id":"cam0","kind":"video","source":"camera"}]}`, &Join{}},
		{`{"type":"join","version":1,"call":"x","name":"Wall monitor","tracks":[]}`, &Join{}},
		{`{"type":"join","version":7,"call":"x","name":"Élodie Ø"}`, &Join{}}, // version is checked by the server, not the decoder
		{`{"type":"publish","tracks":[{"id":"cam1","kind":"video","source":"camera2"}]}`, &Publish{}},
		{`{"type":"unpublish","track":"cam1"}`, &Unpublish{}},
		{`{"type":"answer","sdp":"v=0\r\n"}`, &SDP{}},
		{`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}`, &Candidate{}},
		{`{"type":"candidate","candidate":{"candidate":""}}`, &Candidate{}},
		{`{"type":"leave"}`, &Leave{}},
	}
	for _, c := range cases {
		got, err := Decode([]byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if gotT, wantT := typeName(got), typeName(c.want); gotT != wantT {
			t.Errorf("%s: decoded to %s, want %s", c.in, gotT, wantT)
		}
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *Join:
		return "Join"
	case *Publish:
		return "Publish"
	case *Unpublish:
		return "Unpublish"
	case *SDP:
		return "SDP"
	case *Candidate:
		return "Candidate"
	case *Leave:
		return "Leave"
	}
	return "?"
}

func TestDecodeInvalid(t *testing.T) {
	long := strings.Repeat("a", MaxIDBytes+1)
	cases := []struct {
		name, in, code string
	}{
		{"not json", `hello`, CodeBadMessage},
		{"array", `[1,2]`, CodeBadMessage},
		{"unknown type", `{"type":"explode"}`, CodeBadMessage},
		{"server type from client", `{"type":"offer","sdp":"v=0"}`, CodeBadMessage},
		{"no type", `{}`, CodeBadMessage},
		{"unknown field", `{"type":"leave","extra":1}`, CodeBadMessage},
		{"trailing data", `{"type":"leave"}{"type":"leave"}`, CodeBadMessage},
		{"wrong json type", `{"type":"join","version":"1","call":"x","name":"a"}`, CodeBadMessage},
		{"no version", `{"type":"join","call":"x","name":"a"}`, CodeBadMessage},
		{"empty name", `{"type":"join","version":1,"call":"x","name":""}`, CodeBadMessage},
		{"name with control char", `{"type":"join","version":1,"call":"x","name":"a\u0007b"}`, CodeBadMessage},
		{"name too long", `{"type":"join","version":1,"call":"x","name":"` + strings.Repeat("é", MaxNameRunes+1) + `"}`, CodeBadMessage},
		{"name padded", `{"type":"join","version":1,"call":"x","name":" a"}`, CodeBadMessage},
		{"call with slash", `{"type":"join","version":1,"call":"../x","name":"a"}`, CodeBadMessage},
		{"call too long", `{"type":"join","version":1,"call":"` + long + `","name":"a"}`, CodeBadMessage},
		{"bad kind", `{"type":"publish","tracks":[{"id":"a","kind":"data"}]}`, CodeBadMessage},
		{"duplicate track", `{"type":"publish","tracks":[{"id":"a","kind":"audio"},{"id":"a","kind":"video"}]}`, CodeBadMessage},
		{"no tracks to publish", `{"type":"publish","tracks":[]}`, CodeBadMessage},
		{"too many tracks", `{"type":"publish","tracks":[` + manyTracks(MaxTracks+1) + `]}`, CodeBadMessage},
		{"empty sdp", `{"type":"answer","sdp":""}`, CodeBadMessage},
		{"answer with tables", `{"type":"answer","sdp":"v=0","send":[{"mid":"0","track":"a"}]}`, CodeBadMessage},
		{"sdp too long", `{"type":"answer","sdp":"` + strings.Repeat("a", MaxSDPBytes+1) + `"}`, CodeBadMessage},
		{"candidate too long", `{"type":"candidate","candidate":{"candidate":"` + strings.Repeat("a", MaxCandidateBytes+1) + `"}}`, CodeBadMessage},
		{"message too large", `{"type":"leave","x":"` + strings.Repeat("a", MaxMessageBytes) + `"}`, CodeTooLarge},
	}
	for _, c := range cases {
		_, err := Decode([]byte(c.in))
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%s: error %v is not a *protocol.Error", c.name, err)
			continue
		}
		if pe.Code != c.code {
			t.Errorf("%s: code %s, want %s (%v)", c.name, pe.Code, c.code, err)
		}
		if pe.Message == "" {
			t.Errorf("%s: empty error message", c.name)
		}
	}
}

func manyTracks(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `{"id":"t` + string(rune('a'+i)) + `","kind":"audio"}`
	}
	return strings.Join(parts, ",")
}

func TestDecodeServer(t *testing.T) {
	good := []string{
		`{"type":"welcome","version":1,"id":"0123456789abcdef","call":"x"}`,
		`{"type":"roster","participants":[{"id":"p1","name":"A","tracks":[]}]}`,
		`{"type":"offer","sdp":"v=0","send":[{"mid":"0","track":"mic"}],"receive":[{"mid":"1","participant":"p2","name":"B","track":"cam0","kind":"video","source":"camera"}]}`,
		`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0"}}`,
		`{"type":"error","code":"bad_message","message":"x","ref":"join"}`,
	}
	for _, in := range good {
		if _, err := DecodeServer([]byte(in)); err != nil {
			t.Errorf("%s: %v", in, err)
		}
	}
	bad := []string{
		`{"type":"join","version":1,"call":"x","name":"a"}`,
		`{"type":"welcome","version":1,"id":"","call":"x"}`,
		`{"type":"offer","sdp":"v=0","receive":[{"mid":"1","participant":"p2","name":"","track":"c","kind":"video"}]}`,
		`{"type":"error","code":"","message":"x"}`,
	}
	for _, in := range bad {
		if _, err := DecodeServer([]byte(in)); err == nil {
			t.Errorf("%s: accepted", in)
		}
	}
}
