package api

import "hotline/internal/protocol"

// Segment is a live call's segment (docs/API.md, "Segments"): the answer
// of GET and POST /api/live/{line}/{call}/segment. Seq is the last
// marker's (0 before the first); the next marker must carry Seq+1.
type Segment struct {
	Line    string           `json:"line"`
	Call    string           `json:"call"`
	Segment string           `json:"segment"`
	Seq     uint32           `json:"seq"`
	Marker  *protocol.Marker `json:"marker,omitempty"`
}

// ParseMarker is the strict parser of a POSTed segment marker.
func ParseMarker(b []byte) (protocol.Marker, error) { return protocol.DecodeMarker(b) }
