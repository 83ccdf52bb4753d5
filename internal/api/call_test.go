package api

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline/internal/role"
	"hotline/internal/schedule"
)

const validBody = `{"line":"demo","kind":"phone","when":"at 18:00 Europe/Moscow","duration_minutes":45,
	"agenda":["Opening"],"participants":[{"name":"East Principal","roles":["principal"]},{"name":"Ann","roles":["adviser","interpreter"]}]}`

func TestParseRequest(t *testing.T) {
	r, err := ParseRequest([]byte(validBody))
	if err != nil {
		t.Fatal(err)
	}
	if r.Line != "demo" || r.Kind != schedule.Phone || r.When != "at 18:00 Europe/Moscow" || r.Duration != 45*time.Minute ||
		len(r.Agenda) != 1 || len(r.Named) != 2 || r.Named[1].Roles[1] != role.Interpreter {
		t.Fatalf("parsed %+v", r)
	}
	// The minimum: no agenda, nobody named.
	if _, err := ParseRequest([]byte(`{"line":"demo","kind":"video","when":"now","duration_minutes":1}`)); err != nil {
		t.Fatal(err)
	}
}

func TestParseRequestRefuses(t *testing.T) {
	body := func(replace, with string) string { return strings.Replace(validBody, replace, with, 1) }
	many := `"participants":[` + strings.Repeat(`{"name":"A","roles":["adviser"]},`, MaxNamed) + `{"name":"B","roles":["adviser"]}]`
	for name, data := range map[string]string{
		"empty":                 ``,
		"not an object":         `["demo"]`,
		"null":                  `null`,
		"not JSON":              `line=demo`,
		"unknown field":         body(`"kind"`, `"colour":"red","kind"`),
		"trailing data":         validBody + `{}`,
		"trailing garbage":      validBody + `x`,
		"trailing brace":        validBody + `}`,
		"wrong type":            body(`45`, `"45m"`),
		"fractional minutes":    body(`45`, `4.5`),
		"no line":               body(`"line":"demo"`, `"line":""`),
		"bad line":              body(`"demo"`, `"de mo"`),
		"bad kind":              body(`"phone"`, `"telegram"`),
		"no when":               body(`"at 18:00 Europe/Moscow"`, `""`),
		"long when":             body(`"at 18:00 Europe/Moscow"`, `"`+strings.Repeat("x", schedule.MaxWhenLen+1)+`"`),
		"zero duration":         body(`45`, `0`),
		"negative duration":     body(`45`, `-5`),
		"13 hours":              body(`45`, `780`),
		"too many agenda items": body(`["Opening"]`, `[`+strings.Repeat(`"x",`, schedule.MaxAgendaItems)+`"x"]`),
		"too many participants": body(`"participants":[{"name":"East Principal","roles":["principal"]},{"name":"Ann","roles":["adviser","interpreter"]}]`, many),
		"named twice":           body(`"Ann"`, `"East Principal"`),
		"empty name":            body(`"Ann"`, `""`),
		"padded name":           body(`"Ann"`, `" Ann"`),
		"no role":               body(`["adviser","interpreter"]`, `[]`),
		"unknown role":          body(`["adviser","interpreter"]`, `["king"]`),
		"role twice":            body(`["adviser","interpreter"]`, `["adviser","adviser"]`),
		"oversized":             body(`"Opening"`, `"`+strings.Repeat("x", MaxBody)+`"`),
	} {
		if _, err := ParseRequest([]byte(data)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestParseTransition(t *testing.T) {
	for _, data := range []string{``, ` `, `{}`, `{"version":3}`} {
		if tr, err := ParseTransition([]byte(data)); err != nil || len(tr.Named) != 0 {
			t.Errorf("%q: %+v, %v", data, tr, err)
		}
	}
	tr, err := ParseTransition([]byte(`{"version":2,"participants":[{"name":"West Principal","roles":["principal"]}]}`))
	if err != nil || tr.Version != 2 || len(tr.Named) != 1 || tr.Named[0].Roles[0] != role.Principal {
		t.Fatalf("%+v, %v", tr, err)
	}
	for _, data := range []string{`{"version":-1}`, `{"state":"accepted"}`, `[]`, `{"version":"2"}`, `{} {}`,
		`{"participants":[{"name":"X","roles":["emperor"]}]}`} {
		if _, err := ParseTransition([]byte(data)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", data, err)
		}
	}
}

// TestRequestLanguages: a request's interpretation languages are checked
// (tags, at most eight, none twice).
func TestRequestLanguages(t *testing.T) {
	body := `{"line":"demo","kind":"video","when":"now","duration_minutes":30,"languages":%s}`
	r, err := ParseRequest(fmt.Appendf(nil, body, `["ru","en"]`))
	if err != nil || len(r.Languages) != 2 || r.Languages[0] != "ru" {
		t.Fatalf("%+v %v", r, err)
	}
	for _, bad := range []string{`["ru","ru"]`, `["floor"]`, `["not a tag"]`, `["a","b","c","d","e","f","g","h","i"]`, `"ru"`} {
		if _, err := ParseRequest(fmt.Appendf(nil, body, bad)); err == nil {
			t.Errorf("languages %s accepted", bad)
		}
	}
}

// TestRequestInterprets: a named interpreter may be limited to some of the
// call's languages ("interprets"); the list must be language tags, the
// participant an interpreter, the languages the call's (when it has any).
func TestRequestInterprets(t *testing.T) {
	body := `{"line":"demo","kind":"video","when":"now","duration_minutes":30,"languages":%s,"participants":[{"name":"Ivan Petrov","roles":%s,"interprets":%s}]}`
	r, err := ParseRequest(fmt.Appendf(nil, body, `["ru","en","fr"]`, `["interpreter"]`, `["ru","en"]`))
	if err != nil || len(r.Named) != 1 || !slices.Equal(r.Named[0].Interprets, []string{"ru", "en"}) {
		t.Fatalf("%+v %v", r, err)
	}
	if r, err := ParseRequest(fmt.Appendf(nil, body, `[]`, `["interpreter"]`, `["de"]`)); err != nil || r.Named[0].Interprets[0] != "de" {
		t.Errorf("a call without languages (set later in the call): %+v %v", r, err)
	}
	for _, bad := range []struct{ langs, roles, interprets, says string }{
		{`["ru","en"]`, `["adviser"]`, `["ru"]`, "without the interpreter role"},
		{`["ru","en"]`, `["interpreter"]`, `["fr"]`, "not one of the call's languages"},
		{`["ru","en"]`, `["interpreter"]`, `["ru","ru"]`, "twice"},
		{`["ru","en"]`, `["interpreter"]`, `["not a tag"]`, "not a language tag"},
		{`["ru","en"]`, `["interpreter"]`, `"ru"`, ""},
	} {
		_, err := ParseRequest(fmt.Appendf(nil, body, bad.langs, bad.roles, bad.interprets))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("interprets %s (roles %s, call %s): %v, want an error saying %q", bad.interprets, bad.roles, bad.langs, err, bad.says)
		}
	}
}
