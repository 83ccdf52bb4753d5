package claims

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// root is the repository, two levels up from test/claims.
const root = "../.."

// named is one test the table names.
type named struct {
	claim, pkg, test string
}

var (
	rePackagePart = regexp.MustCompile("^`([a-z0-9_/.-]+)`:\\s*(.+)$")
	reTestName    = regexp.MustCompile("^`((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]*)`$")
)

// parseClaims reads the table under "## Claims, tests and model
// properties": rows "| # | claim | tests | model |", the tests cell being
// "`pkg`: `TestA`, `TestB`; `pkg2`: `TestC`".
func parseClaims(t *testing.T, doc string) []named {
	t.Helper()
	_, section, ok := strings.Cut(doc, "\n## Claims, tests and model properties\n")
	if !ok {
		t.Fatal(`THREAT_MODEL.md has no section "Claims, tests and model properties"`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var out []named
	rows := 0
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| #") || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 4 {
			t.Fatalf("row with %d cells, want 4: %s", len(cells), line)
		}
		claim := strings.TrimSpace(cells[0])
		rows++
		for _, part := range strings.Split(cells[2], ";") {
			part = strings.TrimSpace(part)
			m := rePackagePart.FindStringSubmatch(part)
			if m == nil {
				t.Fatalf("claim %s: %q is not \"`package`: `TestName`, ...\"", claim, part)
			}
			for _, name := range strings.Split(m[2], ",") {
				n := reTestName.FindStringSubmatch(strings.TrimSpace(name))
				if n == nil {
					t.Fatalf("claim %s: %q is not a test name in backquotes", claim, name)
				}
				out = append(out, named{claim, m[1], n[1]})
			}
		}
	}
	if rows < 12 {
		t.Fatalf("the table has %d claims, want at least 12", rows)
	}
	return out
}

// absent returns the named tests that are not declared (func Name( in a
// _test.go file of the package named), reading the packages under root.
func absent(t *testing.T, root string, tests []named) []named {
	t.Helper()
	sources := map[string]string{} // package dir → its test files, concatenated
	var out []named
	for _, n := range tests {
		src, ok := sources[n.pkg]
		if !ok {
			files, _ := filepath.Glob(filepath.Join(root, n.pkg, "*_test.go"))
			var b strings.Builder
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				b.Write(data)
			}
			src = b.String()
			sources[n.pkg] = src
		}
		if !regexp.MustCompile(`(?m)^func ` + n.test + `\(`).MatchString(src) {
			out = append(out, n)
		}
	}
	return out
}

// TestClaimsTableNamesRealTests: every test that THREAT_MODEL.md's table
// names is declared in the package it names, so a renamed or deleted test
// fails here.
func TestClaimsTableNamesRealTests(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, "docs", "THREAT_MODEL.md"))
	if err != nil {
		t.Fatal(err)
	}
	tests := parseClaims(t, string(doc))
	for _, n := range absent(t, root, tests) {
		t.Errorf("claim %s names %s in %s, which does not exist", n.claim, n.test, n.pkg)
	}
	t.Logf("%d tests named for the claims", len(tests))
}

// TestClaimsCheckFindsAMissingTest: the check can fail, on a missing test
// and on a test named in the wrong package.
func TestClaimsCheckFindsAMissingTest(t *testing.T) {
	doc := "x\n## Claims, tests and model properties\n\n| # | claim | tests | model |\n|---|---|---|---|\n"
	for i := range 12 {
		doc += fmt.Sprintf("| %d | c | `test/claims`: `TestClaimsTableNamesRealTests` | — |\n", i+1)
	}
	doc += "| 13 | c | `test/claims`: `TestNoSuchThing`; `internal/role`: `TestClaimsTableNamesRealTests`, `TestMatrix` | P1 |\n"
	got := absent(t, root, parseClaims(t, doc))
	want := []named{{"13", "test/claims", "TestNoSuchThing"}, {"13", "internal/role", "TestClaimsTableNamesRealTests"}}
	if !slices.Equal(got, want) {
		t.Fatalf("absent %+v, want %+v", got, want)
	}
}
