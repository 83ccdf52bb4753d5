package protocol

import (
	"errors"
	"fmt"
	"slices"
)

// Interpretation (docs/PROTOCOL.md, "Interpretation"): a call has languages,
// each with a channel that interpreters speak into; every listener picks the
// floor or a language. The server forwards by these choices (internal/route);
// the audio stays end-to-end encrypted under each interpreter's sender key.

// Message types of interpretation, client → server.
const (
	// TypeInterpretation sets the call's languages and mode (an operator or
	// principal: the edit_agenda action).
	TypeInterpretation = "interpretation"
	// TypeInterpret: an interpreter takes a booth (the channel of one language).
	TypeInterpret = "interpret"
	// TypeListen: a member picks the floor or a language; for an
	// interpreter it is the relay source (the floor or another channel).
	TypeListen = "listen"
	// TypeHandOver: the booth's live interpreter offers the microphone to
	// its partner; TypeTakeOver: the partner takes it.
	TypeHandOver = "hand_over"
	TypeTakeOver = "take_over"
)

// SourceInterpretation is the source label of an interpreter's channel track.
const SourceInterpretation = "interpretation"

// Interpretation modes: in simultaneous mode each listener hears the
// channel it picked over the ducked floor; in consecutive mode every
// channel goes to everyone at full level (the interpreter speaks after
// each speaker).
const (
	ModeSimultaneous = "simultaneous"
	ModeConsecutive  = "consecutive"
)

// Bounds of interpretation.
const (
	MaxLanguages  = 8 // languages of one call
	MaxBoothSize  = 2 // interpreters who take turns in one channel
	MaxLanguageID = 35
)

// Interpretation sets the call's languages and mode, whole.
type Interpretation struct {
	Type      string   `json:"type"`
	Languages []string `json:"languages"`
	Mode      string   `json:"mode"`
}

// Interpret asks for the booth of Language.
type Interpret struct {
	Type     string `json:"type"`
	Language string `json:"language"`
}

// Listen is a listening choice: ListenFloor or one of the call's languages.
type Listen struct {
	Type     string `json:"type"`
	Language string `json:"language"`
}

// BoothAction is hand_over or take_over; it names nothing, since an
// interpreter sits in one booth.
type BoothAction struct {
	Type string `json:"type"`
}

// ErrLanguage: a language tag of the wrong shape.
var ErrLanguage = errors.New("not a language tag")

// ValidLanguage checks a language tag (the shape ValidListening accepts,
// ListenFloor excluded).
func ValidLanguage(s string) error {
	if s == ListenFloor || ValidListening(s) != nil {
		return fmt.Errorf("%w: %q", ErrLanguage, truncate(s, 40))
	}
	return nil
}

// ValidMode checks an interpretation mode.
func ValidMode(s string) error {
	if s != ModeSimultaneous && s != ModeConsecutive {
		return fmt.Errorf("mode %q is neither %q nor %q", truncate(s, 32), ModeSimultaneous, ModeConsecutive)
	}
	return nil
}

// ValidLanguages checks a call's languages: at most MaxLanguages tags, none twice.
func ValidLanguages(ls []string) error {
	if len(ls) > MaxLanguages {
		return fmt.Errorf("%d languages, at most %d allowed", len(ls), MaxLanguages)
	}
	for i, l := range ls {
		if err := ValidLanguage(l); err != nil {
			return err
		}
		if slices.Contains(ls[:i], l) {
			return fmt.Errorf("language %q appears twice", l)
		}
	}
	return nil
}

func (m *Interpretation) validate() error {
	if err := checkType(m.Type, TypeInterpretation); err != nil {
		return err
	}
	if err := ValidLanguages(m.Languages); err != nil {
		return err
	}
	return ValidMode(m.Mode)
}

func (m *Interpret) validate() error {
	if err := checkType(m.Type, TypeInterpret); err != nil {
		return err
	}
	return ValidLanguage(m.Language)
}

func (m *Listen) validate() error {
	if err := checkType(m.Type, TypeListen); err != nil {
		return err
	}
	return ValidListening(m.Language)
}

func (m *BoothAction) validate() error {
	if m.Type != TypeHandOver && m.Type != TypeTakeOver {
		return fmt.Errorf("%q is not a booth action", m.Type)
	}
	return nil
}

// decodeInterpretation is Decode's table for the interpretation messages.
func decodeInterpretation(typ string) validator {
	switch typ {
	case TypeInterpretation:
		return &Interpretation{}
	case TypeInterpret:
		return &Interpret{}
	case TypeListen:
		return &Listen{}
	case TypeHandOver, TypeTakeOver:
		return &BoothAction{}
	}
	return nil
}

// validInterpretation checks the roster's interpretation fields: the
// call's languages and mode, and each entry's booth.
func (m *Roster) validInterpretation() error {
	if err := ValidLanguages(m.Languages); err != nil {
		return err
	}
	if m.Mode != "" {
		if err := ValidMode(m.Mode); err != nil {
			return err
		}
	}
	for _, p := range m.Participants {
		if p.Interprets != "" {
			if err := ValidLanguage(p.Interprets); err != nil {
				return err
			}
		} else if p.Live || p.HandOver {
			return errors.New("roster: live or hand_over without a booth")
		}
		for _, t := range p.Tracks {
			if t.Language != "" {
				if err := ValidLanguage(t.Language); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
