package route

import (
	"encoding/json"
	"os"
	"testing"

	"hotline/internal/role"
)

// vectorMember is a member of testdata/routing.json.
type vectorMember struct {
	State      string   `json:"state"`
	Roles      []string `json:"roles"`
	Listening  string   `json:"listening"`
	Interprets string   `json:"interprets"`
	Live       bool     `json:"live"`
}

func (v vectorMember) member() Member {
	m := Member{State: v.State, Listening: v.Listening, Interprets: v.Interprets, Live: v.Live, Roles: []role.Role{}}
	for _, r := range v.Roles {
		m.Roles = append(m.Roles, role.Role(r))
	}
	return m
}

// TestVectors: the shared cases of testdata/routing.json, which the
// browser's route.js checks too (test/browser TestRoutingVectorsJS).
func TestVectors(t *testing.T) {
	data, err := os.ReadFile("../../testdata/routing.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []struct {
			Name          string       `json:"name"`
			Segment       string       `json:"segment"`
			Mode          string       `json:"mode"`
			Member        vectorMember `json:"member"`
			Publisher     vectorMember `json:"publisher"`
			Source        string       `json:"source"`
			Routes, Keyed bool
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 10 {
		t.Fatalf("%d cases", len(file.Cases))
	}
	for _, c := range file.Cases {
		m, from := c.Member.member(), c.Publisher.member()
		if got := Routes(c.Segment, m, Publication{Publisher: from, Source: c.Source, Mode: c.Mode}); got != c.Routes {
			t.Errorf("%s: routes %v, want %v", c.Name, got, c.Routes)
		}
		if got := Keyed(c.Segment, m, from); got != c.Keyed {
			t.Errorf("%s: keyed %v, want %v", c.Name, got, c.Keyed)
		}
	}
}
