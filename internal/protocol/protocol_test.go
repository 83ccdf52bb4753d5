package protocol

import (
	"errors"
	"strings"
	"testing"
)

// Well-formed (not valid: this package only bounds them) v2 values.
var (
	tCred   = `{"body":"eyJ2IjoxfQ","sig":"` + strings.Repeat("A", SigB64Len) + `"}`
	tProof  = strings.Repeat("B", SigB64Len)
	tSealed = strings.Repeat("C", SealedB64Len)
	tSig    = strings.Repeat("D", SigB64Len)
)

// join builds a version 3 join message around the given call and extra fields.
func join(call, extra string) string {
	return `{"type":"join","version":3,"line":"demo","call":"` + call + `","credential":` + tCred + `,"proof":"` + tProof + `"` + extra + `}`
}

func TestDecodeValid(t *testing.T) {
	cases := []struct {
		in   string
		want any
	}{
		{join("x", `,"tracks":[{"id":"mic","kind":"audio","source":"mic"},{"id":"cam0","kind":"video","source":"camera"}]`), &Join{}},
		{join("x", `,"tracks":[]`), &Join{}},
		{join("x", ``), &Join{}},
		{join("x", `,"tracks":[],"resume":"0123456789abcdef"`), &Join{}},
		{`{"type":"key","to":"0123456789abcdef","kid":281474976710655,"sealed":"` + tSealed + `","sig":"` + tSig + `"}`, &Key{}},
		{`{"type":"publish","tracks":[{"id":"cam1","kind":"video","source":"camera2"}]}`, &Publish{}},
		{`{"type":"unpublish","track":"cam1"}`, &Unpublish{}},
		{`{"type":"answer","sdp":"v=0\r\n"}`, &SDP{}},
		{`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}`, &Candidate{}},
		{`{"type":"candidate","candidate":{"candidate":""}}`, &Candidate{}},
		{`{"type":"leave"}`, &Leave{}},
		{`{"type":"restart_ice"}`, &RestartICE{}},
		{`{"type":"remove","participant":"0123456789abcdef"}`, &ParticipantAction{}},
		{`{"type":"admit","participant":"0123456789abcdef"}`, &ParticipantAction{}},
		{`{"type":"call_in","participant":"0123456789abcdef"}`, &ParticipantAction{}},
		{`{"type":"send_out","participant":"0123456789abcdef"}`, &ParticipantAction{}},
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
	case *RestartICE:
		return "RestartICE"
	case *Key:
		return "Key"
	case *ParticipantAction:
		return "ParticipantAction"
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
		{"restart_ice with a field", `{"type":"restart_ice","sdp":"v=0"}`, CodeBadMessage},
		{"resume of a bad id", join("x", `,"tracks":[],"resume":"not an id"`), CodeBadMessage},
		{"trailing data", `{"type":"leave"}{"type":"leave"}`, CodeBadMessage},
		{"wrong json type", `{"type":"join","version":"2","call":"x"}`, CodeBadMessage},
		{"no version", `{"type":"join","line":"demo","call":"x","credential":` + tCred + `,"proof":"` + tProof + `"}`, CodeBadMessage},
		{"version 1 join", `{"type":"join","version":1,"call":"x","name":"Alice"}`, CodeVersion},
		{"version 2 join (sender tags of the device alone)", strings.Replace(join("x", ""), `"version":3`, `"version":2`, 1), CodeVersion},
		{"future version", `{"type":"join","version":7}`, CodeVersion},
		{"v1 name field", join("x", `,"name":"Alice"`), CodeBadMessage},
		{"no credential", `{"type":"join","version":3,"line":"demo","call":"x","proof":"` + tProof + `"}`, CodeBadMessage},
		{"no proof", `{"type":"join","version":3,"line":"demo","call":"x","credential":` + tCred + `}`, CodeBadMessage},
		{"short proof", strings.Replace(join("x", ``), tProof, tProof[1:], 1), CodeBadMessage},
		{"padded credential", strings.Replace(join("x", ``), `eyJ2IjoxfQ`, `eyJ2IjoxfQ==`, 1), CodeBadMessage},
		{"credential body too long", strings.Replace(join("x", ``), `eyJ2IjoxfQ`, strings.Repeat("e", MaxCredentialBody+1), 1), CodeBadMessage},
		{"no line", strings.Replace(join("x", ``), `"line":"demo",`, ``, 1), CodeBadMessage},
		{"call with slash", join("../x", ``), CodeBadMessage},
		{"call too long", join(long, ``), CodeBadMessage},
		{"key without to", `{"type":"key","kid":1,"sealed":"` + tSealed + `","sig":"` + tSig + `"}`, CodeBadMessage},
		{"key with from", `{"type":"key","to":"a","from":"b","kid":1,"sealed":"` + tSealed + `","sig":"` + tSig + `"}`, CodeBadMessage},
		{"key kid too large", `{"type":"key","to":"a","kid":281474976710656,"sealed":"` + tSealed + `","sig":"` + tSig + `"}`, CodeBadMessage},
		{"key sealed short", `{"type":"key","to":"a","kid":1,"sealed":"` + tSealed[1:] + `","sig":"` + tSig + `"}`, CodeBadMessage},
		{"key negative kid", `{"type":"key","to":"a","kid":-1,"sealed":"` + tSealed + `","sig":"` + tSig + `"}`, CodeBadMessage},
		{"bad kind", `{"type":"publish","tracks":[{"id":"a","kind":"data"}]}`, CodeBadMessage},
		{"duplicate track", `{"type":"publish","tracks":[{"id":"a","kind":"audio"},{"id":"a","kind":"video"}]}`, CodeBadMessage},
		{"no tracks to publish", `{"type":"publish","tracks":[]}`, CodeBadMessage},
		{"too many tracks", `{"type":"publish","tracks":[` + manyTracks(MaxTracks+1) + `]}`, CodeBadMessage},
		{"empty sdp", `{"type":"answer","sdp":""}`, CodeBadMessage},
		{"answer with tables", `{"type":"answer","sdp":"v=0","send":[{"mid":"0","track":"a"}]}`, CodeBadMessage},
		{"sdp too long", `{"type":"answer","sdp":"` + strings.Repeat("a", MaxSDPBytes+1) + `"}`, CodeBadMessage},
		{"candidate too long", `{"type":"candidate","candidate":{"candidate":"` + strings.Repeat("a", MaxCandidateBytes+1) + `"}}`, CodeBadMessage},
		{"remove nobody", `{"type":"remove"}`, CodeBadMessage},
		{"remove a bad id", `{"type":"remove","participant":"../x"}`, CodeBadMessage},
		{"admit with an extra field", `{"type":"admit","participant":"a","why":"x"}`, CodeBadMessage},
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
		`{"type":"challenge","version":3,"nonce":"` + strings.Repeat("n", NonceB64Len) + `"}`,
		`{"type":"welcome","version":3,"id":"0123456789abcdef","line":"demo","call":"x"}`,
		`{"type":"welcome","version":3,"id":"0123456789abcdef","line":"demo","call":"x","ice_servers":[{"urls":["turn:127.0.0.1:8443?transport=tcp"],"username":"1:t","credential":"c"}]}`,
		`{"type":"roster","segment":"private","participants":[{"id":"p1","device":"a1b2c3d4e5f60718","name":"A","credential":` + tCred + `,"state":"in","listening":"floor","tracks":[]}]}`,
		`{"type":"roster","segment":"public","participants":[{"id":"p1","device":"a1b2c3d4e5f60718","name":"A","credential":` + tCred + `,"state":"in","listening":"fr-CA","tracks":[]}]}`,
		`{"type":"ended","by":"East Operator (east)","reason":"the call was ended"}`,
		`{"type":"key","from":"p1","kid":5,"sealed":"` + tSealed + `","sig":"` + tSig + `"}`,
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
		join("x", ``),
		`{"type":"welcome","version":3,"id":"","line":"demo","call":"x"}`,
		`{"type":"welcome","version":3,"id":"0123456789abcdef","line":"demo","call":"x","ice_servers":[{"urls":[],"username":"u","credential":"c"}]}`,
		`{"type":"welcome","version":3,"id":"0123456789abcdef","line":"demo","call":"x","ice_servers":[{"urls":["http://evil"],"username":"u","credential":"c"}]}`,
		`{"type":"welcome","version":3,"id":"0123456789abcdef","line":"demo","call":"x","ice_servers":[{"urls":["turn:h"],"username":"` + strings.Repeat("u", MaxICEAuthBytes+1) + `","credential":"c"}]}`,
		`{"type":"welcome","version":3,"id":"0123456789abcdef","line":"demo","call":"x","ice_servers":[{"urls":["turn:h\n"],"username":"u","credential":"c"}]}`,
		`{"type":"welcome","version":3,"id":"0123456789abcdef","line":"demo","call":"x","ice_servers":[{"urls":["turn:h"],"username":"u","credential":"c","x":1}]}`,
		`{"type":"challenge","version":3,"nonce":"short"}`,
		`{"type":"roster","participants":[{"id":"p1","device":"d","name":"A","tracks":[]}]}`,
		`{"type":"roster","segment":"private","participants":[{"id":"p1","device":"a1b2c3d4e5f60718","name":"A","credential":` + tCred + `,"state":"lobby","listening":"floor","tracks":[]}]}`,
		`{"type":"roster","participants":[{"id":"p1","device":"a1b2c3d4e5f60718","name":"A","credential":` + tCred + `,"state":"in","listening":"floor","tracks":[]}]}`,
		`{"type":"roster","segment":"press","participants":[]}`,
		`{"type":"roster","segment":"private","participants":[{"id":"p1","device":"a1b2c3d4e5f60718","name":"A","credential":` + tCred + `,"state":"in","tracks":[]}]}`,
		`{"type":"roster","segment":"private","participants":[{"id":"p1","device":"a1b2c3d4e5f60718","name":"A","credential":` + tCred + `,"state":"in","listening":"f","tracks":[]}]}`,
		`{"type":"roster","segment":"private","participants":[{"id":"p1","device":"a1b2c3d4e5f60718","name":"A","credential":` + tCred + `,"state":"in","listening":"fr-","tracks":[]}]}`,
		`{"type":"ended","by":"x","reason":"y","extra":1}`,
		`{"type":"key","to":"p1","kid":5,"sealed":"` + tSealed + `","sig":"` + tSig + `"}`,
		`{"type":"offer","sdp":"v=0","receive":[{"mid":"1","participant":"p2","name":"","track":"c","kind":"video"}]}`,
		`{"type":"error","code":"","message":"x"}`,
	}
	for _, in := range bad {
		if _, err := DecodeServer([]byte(in)); err == nil {
			t.Errorf("%s: accepted", in)
		}
	}
}
