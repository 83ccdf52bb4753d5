package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecode: no input crashes the decoder, every refusal is a typed
// *Error, and whatever it accepts survives a round trip through JSON.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		join("x", `,"tracks":[{"id":"mic","kind":"audio","source":"mic"}]`),
		`{"type":"key","to":"p1","kid":5,"sealed":"` + tSealed + `","sig":"` + tSig + `"}`,
		`{"type":"publish","tracks":[{"id":"cam1","kind":"video"}]}`,
		`{"type":"unpublish","track":"cam1"}`,
		`{"type":"answer","sdp":"v=0"}`,
		`{"type":"candidate","candidate":{"candidate":"c","sdpMid":"0","sdpMLineIndex":0}}`,
		`{"type":"interpretation","languages":["en","ru"],"mode":"simultaneous"}`,
		`{"type":"interpretation","languages":[],"mode":"consecutive"}`,
		`{"type":"interpret","language":"zh-Hant"}`, `{"type":"listen","language":"floor"}`,
		`{"type":"listen","language":"en"}`, `{"type":"hand_over"}`, `{"type":"take_over"}`,
		`{"type":"publish","tracks":[{"id":"mic","kind":"audio","source":"interpretation","language":"ru"}]}`,
		`{"type":"leave"}`, `{"type":"restart_ice"}`, `{"type":"remove","participant":"a"}`, `{}`, `[]`, `null`, `{"type":"join","tracks":[{}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecoder(t, Decode, data) })
}

// FuzzDecodeServer: the client-side decoder is as robust against a hostile server.
func FuzzDecodeServer(f *testing.F) {
	for _, s := range []string{
		`{"type":"challenge","version":3,"nonce":"` + strings.Repeat("n", NonceB64Len) + `"}`,
		`{"type":"welcome","version":3,"id":"0123456789abcdef","line":"demo","call":"x"}`,
		`{"type":"welcome","version":3,"id":"0123456789abcdef","line":"demo","call":"x","may":[],"ice_servers":[{"urls":["turn:10.0.0.1:8443?transport=tcp","turns:a.example:8443?transport=tcp"],"username":"1700000000:ab","credential":"c2VjcmV0"}]}`,
		`{"type":"roster","participants":[{"id":"p1","device":"a1b2c3d4e5f60718","name":"A","credential":` + tCred + `,"tracks":[{"id":"mic","kind":"audio"}]}]}`,
		`{"type":"roster","segment":"private","participants":[{"id":"p1","device":"a1b2c3d4e5f60718","name":"A","credential":` + tCred + `,"state":"in","listening":"floor","tracks":[{"id":"mic","kind":"audio"}]}]}`,
		`{"type":"roster","segment":"private","languages":["en","ru"],"mode":"consecutive","participants":[{"id":"p1","device":"a1b2c3d4e5f60718","name":"A","credential":` + tCred + `,"state":"in","listening":"en","interprets":"ru","live":true,"hand_over":true,"tracks":[{"id":"mic","kind":"audio","source":"interpretation","language":"ru"}]}]}`,
		`{"type":"offer","sdp":"v=0","receive":[{"mid":"1","participant":"p2","name":"B","track":"mic","kind":"audio","source":"interpretation","language":"en"}]}`,
		`{"type":"ended","by":"East Operator (east)","reason":"the call was ended"}`,
		`{"type":"key","from":"p1","kid":5,"sealed":"` + tSealed + `","sig":"` + tSig + `"}`,
		`{"type":"offer","sdp":"v=0","send":[{"mid":"0","track":"mic"}],"receive":[{"mid":"1","participant":"p2","name":"B","track":"c","kind":"video"}]}`,
		`{"type":"error","code":"state","message":"join first"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecoder(t, DecodeServer, data) })
}

func checkDecoder(t *testing.T, decode func([]byte) (any, error), data []byte) {
	msg, err := decode(data)
	if err != nil {
		if _, ok := err.(*Error); !ok {
			t.Fatalf("error of type %T", err)
		}
		return
	}
	again, err := json.Marshal(msg)
	if err != nil {
		t.Fatalf("accepted message does not marshal: %v", err)
	}
	if _, err := decode(again); err != nil {
		t.Fatalf("accepted message fails after a round trip: %v\n%s", err, again)
	}
}
