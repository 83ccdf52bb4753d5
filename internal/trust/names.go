package trust

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Bounds of names (docs/PROTOCOL.md).
const (
	MaxSideBytes = 32 // side names: 1–32 bytes of a–z 0–9 -
	MaxNameRunes = 64 // display names: 1–64 printable characters
)

// ValidSide checks a side name: 1–32 bytes of a–z, 0–9 and '-'
// (docs/PROTOCOL.md, "Keys").
func ValidSide(s string) error {
	if s == "" {
		return errors.New("side name is empty")
	}
	if len(s) > MaxSideBytes {
		return fmt.Errorf("side name is %d bytes long, at most %d allowed", len(s), MaxSideBytes)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return errors.New("side name may contain only a-z, 0-9 and '-'")
		}
	}
	return nil
}

// ValidDisplayName checks a display name: 1–64 printable Unicode characters
// (unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the
// ASCII space), no leading or trailing space. internal/protocol's ValidName
// is this rule; the browser's copy is in static/e2ee/trust.js.
func ValidDisplayName(s string) error {
	if s == "" {
		return errors.New("name is empty")
	}
	if !utf8.ValidString(s) {
		return errors.New("name is not UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > MaxNameRunes {
		return fmt.Errorf("name has %d characters, at most %d allowed", n, MaxNameRunes)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("name contains the non-printable character %U", r)
		}
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return errors.New("name starts or ends with a space")
	}
	return nil
}
