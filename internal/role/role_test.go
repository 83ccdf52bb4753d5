package role

import (
	"errors"
	"testing"
)

func TestParseList(t *testing.T) {
	rs, err := ParseList([]string{"principal", "press_officer"})
	if err != nil || len(rs) != 2 || rs[0] != Principal || rs[1] != PressOfficer {
		t.Fatalf("ParseList = %v, %v", rs, err)
	}
	for _, bad := range [][]string{nil, {"king"}, {"press", "press"}, {"Principal"}} {
		if _, err := ParseList(bad); err == nil {
			t.Errorf("ParseList(%q) accepted", bad)
		}
	}
	if _, err := ParseList([]string{"adviser", "adviser"}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate: %v", err)
	}
}
