package web

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"hotline/internal/role"
)

// TestMediaRolesMatch: the browser's list of roles that receive media
// (static/e2ee/session.js, MEDIA_ROLES: whom a client sends keys to) is the
// Go permission matrix's receive_media column, role for role.
func TestMediaRolesMatch(t *testing.T) {
	src, err := embedded.ReadFile("static/e2ee/session.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`export const MEDIA_ROLES = new Set\(\[([^\]]*)\]\)`).FindSubmatch(src)
	if m == nil {
		t.Fatal("session.js has no MEDIA_ROLES list")
	}
	var js []string
	for _, r := range strings.Split(string(m[1]), ",") {
		js = append(js, strings.Trim(strings.TrimSpace(r), `'"`))
	}
	var goRoles []string
	for _, r := range role.All {
		if role.Allowed(r, role.ReceiveMedia) {
			goRoles = append(goRoles, string(r))
		}
	}
	slices.Sort(js)
	slices.Sort(goRoles)
	if fmt.Sprint(js) != fmt.Sprint(goRoles) {
		t.Fatalf("session.js MEDIA_ROLES %v, Go receive_media %v", js, goRoles)
	}
}
