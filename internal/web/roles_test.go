package web

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"hotline/internal/audit"
	"hotline/internal/role"
)

// TestRoleListsMatch: the browser's role lists (static/roles.js: whom keys
// go to, who may send audio, who may send video) are the Go permission
// matrix's columns, role for role.
func TestRoleListsMatch(t *testing.T) {
	src, err := embedded.ReadFile("static/roles.js")
	if err != nil {
		t.Fatal(err)
	}
	for name, actions := range map[string][]role.Action{
		"MEDIA_ROLES":    {role.ReceiveMedia},
		"AUDIO_ROLES":    {role.PublishAudio, role.PublishInterpretation},
		"VIDEO_ROLES":    {role.PublishVideo},
		"SCHEDULE_ROLES": {role.ViewSchedule},
		"WORKFLOW_ROLES": {role.RequestCall},
		"HISTORY_ROLES":  {role.ViewHistory},
	} {
		js := jsRoles(t, src, name)
		var goRoles []string
		for _, r := range role.All {
			if slices.ContainsFunc(actions, func(a role.Action) bool { return role.Allowed(r, a) }) {
				goRoles = append(goRoles, string(r))
			}
		}
		slices.Sort(goRoles)
		if fmt.Sprint(js) != fmt.Sprint(goRoles) {
			t.Errorf("roles.js %s %v, Go %v %v", name, js, actions, goRoles)
		}
	}
	// Who may publish a readout is the verifier's list, not a matrix column.
	var readout []string
	for _, r := range audit.ReadoutRoles {
		readout = append(readout, string(r))
	}
	slices.Sort(readout)
	if js := jsRoles(t, src, "READOUT_ROLES"); fmt.Sprint(js) != fmt.Sprint(readout) {
		t.Errorf("roles.js READOUT_ROLES %v, audit.ReadoutRoles %v", js, readout)
	}
}

// jsRoles is roles.js's list name, sorted.
func jsRoles(t *testing.T, src []byte, name string) []string {
	t.Helper()
	m := regexp.MustCompile(`export const ` + name + ` = new Set\(\[([^\]]*)\]\)`).FindSubmatch(src)
	if m == nil {
		t.Fatalf("roles.js has no %s list", name)
	}
	var js []string
	for _, r := range strings.Split(string(m[1]), ",") {
		js = append(js, strings.Trim(strings.TrimSpace(r), `'"`))
	}
	slices.Sort(js)
	return js
}
