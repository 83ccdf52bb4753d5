package web

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

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
		m := regexp.MustCompile(`export const ` + name + ` = new Set\(\[([^\]]*)\]\)`).FindSubmatch(src)
		if m == nil {
			t.Fatalf("roles.js has no %s list", name)
		}
		var js []string
		for _, r := range strings.Split(string(m[1]), ",") {
			js = append(js, strings.Trim(strings.TrimSpace(r), `'"`))
		}
		var goRoles []string
		for _, r := range role.All {
			if slices.ContainsFunc(actions, func(a role.Action) bool { return role.Allowed(r, a) }) {
				goRoles = append(goRoles, string(r))
			}
		}
		slices.Sort(js)
		slices.Sort(goRoles)
		if fmt.Sprint(js) != fmt.Sprint(goRoles) {
			t.Errorf("roles.js %s %v, Go %v %v", name, js, actions, goRoles)
		}
	}
}
