package call

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"hotline/internal/protocol"
	"hotline/internal/role"
)

// Interpretation in a live call (docs/PROTOCOL.md, "Interpretation"): the
// call's languages and mode, the booths, and each member's listening
// choice. The call only decides who receives which channel
// (internal/route); the audio stays end-to-end encrypted.

// Errors of interpretation.
var (
	ErrUnknownLanguage = errors.New("not one of the call's languages")
	ErrBoothFull       = errors.New("the booth is full")
)

// interpretation is the call's: its languages (each has a channel) and mode.
type interpretation struct {
	languages []string
	mode      string // protocol.ModeSimultaneous or ModeConsecutive; "" before any language
}

// booth is an interpreter's seat: the channel's language, whether its
// microphone is the live one, and whether it offers it to its partner.
type booth struct {
	interprets     string
	live, handOver bool
}

// SetInterpretation sets the call's languages and mode (an operator or a
// principal in the call: edit_agenda). A language whose booth is occupied
// cannot be dropped; listeners of a dropped language go back to the floor.
func (c *Call) SetInterpretation(byID string, languages []string, mode string) error {
	if err := protocol.ValidLanguages(languages); err != nil {
		return fmt.Errorf("%w: %w", ErrForbidden, err)
	}
	if err := protocol.ValidMode(mode); err != nil {
		return fmt.Errorf("%w: %w", ErrForbidden, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	by := c.find(byID)
	if by == nil {
		return ErrNotMember
	}
	if err := role.Check(by.id.Roles, role.EditAgenda); err != nil {
		return denied{err}
	}
	for _, e := range c.members {
		if l := e.booth.interprets; l != "" && !slices.Contains(languages, l) {
			return fmt.Errorf("%w: %s interprets into %q", ErrWrongState, e.id.Name, l)
		}
	}
	c.interp = interpretation{languages: slices.Clone(languages), mode: mode}
	if len(languages) == 0 {
		c.interp.mode = ""
	}
	for _, e := range c.members {
		if e.listening != protocol.ListenFloor && !slices.Contains(languages, e.listening) {
			e.listening = protocol.ListenFloor
		}
	}
	for _, e := range c.members {
		c.syncLocked(e)
	}
	c.broadcastRoster()
	return nil
}

// Interpret seats an interpreter in the booth of lang: live if nobody in
// that booth is, standby otherwise. A booth holds protocol.MaxBoothSize
// interpreters, and an interpreter one booth for the whole call.
func (c *Call) Interpret(id, lang string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.find(id)
	if e == nil {
		return ErrNotMember
	}
	return c.interpretLocked(e, lang)
}

func (c *Call) interpretLocked(e *entry, lang string) error {
	if e.booth.interprets == lang {
		return nil
	}
	if err := c.mayInterpretLocked(e.id, e.booth.interprets, lang); err != nil {
		return err
	}
	c.seatLocked(e, lang)
	c.syncLocked(e)
	c.broadcastRoster()
	return nil
}

// mayInterpretLocked checks that one with identity id, now in the booth of
// current ("": none), may take the booth of lang.
func (c *Call) mayInterpretLocked(id Identity, current, lang string) error {
	if err := role.Check(id.Roles, role.PublishInterpretation); err != nil {
		return denied{err}
	}
	if err := c.knownLocked(lang); err != nil {
		return err
	}
	if only := id.Admission.Interprets; len(only) > 0 && !slices.Contains(only, lang) {
		return fmt.Errorf("%w: %s is booked to interpret %s only, not %q", ErrForbidden, id.Name, strings.Join(only, ", "), lang)
	}
	if current != "" {
		return fmt.Errorf("%w: %s already interprets into %q", ErrForbidden, id.Name, current)
	}
	if seated, _ := c.boothLocked(lang); len(seated) >= protocol.MaxBoothSize {
		return fmt.Errorf("%w: %q has %d interpreters", ErrBoothFull, lang, len(seated))
	}
	return nil
}

// seatLocked puts e in lang's booth (live if nobody there is) and its
// channel tracks into that channel; the caller syncs and broadcasts.
func (c *Call) seatLocked(e *entry, lang string) {
	_, live := c.boothLocked(lang)
	e.booth = booth{interprets: lang, live: live == nil}
	if e.listening == lang {
		e.listening = protocol.ListenFloor // one does not relay one's own channel
	}
	for i := range e.tracks {
		if e.tracks[i].Info.Source == protocol.SourceInterpretation {
			e.tracks[i].Info.Language = lang
		}
	}
}

// ChannelOf is the booth that tracks ask for: the language their
// interpretation tracks name ("" if none does); two languages are refused.
func ChannelOf(tracks []protocol.TrackInfo) (string, error) {
	lang := ""
	for _, t := range tracks {
		switch {
		case t.Language == "" || t.Language == lang:
		case lang == "":
			lang = t.Language
		default:
			return "", fmt.Errorf("%w: tracks into %q and %q: an interpreter speaks into one channel", ErrForbidden, lang, t.Language)
		}
	}
	return lang, nil
}

// CheckChannels is what the session asks before it sets up tracks it
// publishes during the call: an interpretation track that names a language
// seats its interpreter in that booth, or must name the booth it sits in; a
// language the call lacks is refused, naming it.
func (c *Call) CheckChannels(id string, tracks []protocol.TrackInfo) error {
	lang, err := ChannelOf(tracks)
	if err != nil || lang == "" {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.find(id)
	if e == nil {
		return ErrNotMember
	}
	return c.interpretLocked(e, lang)
}

// channelLocked checks a publication against e's booth: an interpretation
// track goes into the booth's channel and nowhere else.
func (c *Call) channelLocked(e *entry, info protocol.TrackInfo) (protocol.TrackInfo, error) {
	if info.Source != protocol.SourceInterpretation {
		return info, nil
	}
	if info.Language != "" && info.Language != e.booth.interprets {
		return info, fmt.Errorf("%w: %s interprets into %q, not %q", ErrForbidden, e.id.Name, e.booth.interprets, info.Language)
	}
	info.Language = e.booth.interprets
	return info, nil
}

// Listen sets what a member listens to: the floor or one of the call's
// languages. For an interpreter it is the relay source, never its own channel.
func (c *Call) Listen(id, lang string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.find(id)
	if e == nil {
		return ErrNotMember
	}
	if lang != protocol.ListenFloor {
		if err := c.knownLocked(lang); err != nil {
			return err
		}
		if lang == e.booth.interprets {
			return fmt.Errorf("%w: %s interprets into %q and cannot relay it", ErrForbidden, e.id.Name, lang)
		}
	}
	if e.listening == lang {
		return nil
	}
	e.listening = lang
	c.syncLocked(e)
	c.broadcastRoster()
	return nil
}

// HandOver: the booth's live interpreter offers the microphone to its
// partner, who takes it with TakeOver; until then it stays live, so the
// channel never has two live microphones or none.
func (c *Call) HandOver(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.find(id)
	if e == nil {
		return ErrNotMember
	}
	if !e.booth.live {
		return fmt.Errorf("%w: %s has no live microphone to hand over", ErrWrongState, e.id.Name)
	}
	if seated, _ := c.boothLocked(e.booth.interprets); len(seated) < 2 {
		return fmt.Errorf("%w: nobody else sits in the %q booth", ErrWrongState, e.booth.interprets)
	}
	if !e.booth.handOver {
		e.booth.handOver = true
		c.broadcastRoster()
	}
	return nil
}

// TakeOver: the standby interpreter takes the microphone its partner
// handed over (or that nobody holds). The partner's channel stops reaching
// listeners before this one's starts.
func (c *Call) TakeOver(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.find(id)
	if e == nil {
		return ErrNotMember
	}
	if e.booth.interprets == "" {
		return fmt.Errorf("%w: %s sits in no booth", ErrWrongState, e.id.Name)
	}
	if e.booth.live {
		return nil
	}
	_, live := c.boothLocked(e.booth.interprets)
	if live != nil && !live.booth.handOver {
		return fmt.Errorf("%w: %s has not handed the microphone over", ErrWrongState, live.id.Name)
	}
	if live != nil {
		live.booth.live, live.booth.handOver = false, false
		c.syncLocked(live)
	}
	e.booth.live = true
	c.syncLocked(e)
	c.broadcastRoster()
	return nil
}

// leaveBoothLocked: a live interpreter who leaves passes the microphone to
// its partner, so the channel goes on.
func (c *Call) leaveBoothLocked(e *entry) {
	if !e.booth.live {
		return
	}
	if _, live := c.boothLocked(e.booth.interprets); live == nil {
		if seated, _ := c.boothLocked(e.booth.interprets); len(seated) > 0 {
			seated[0].booth.live, seated[0].booth.handOver = true, false
			c.syncLocked(seated[0])
		}
	}
}

// boothLocked lists the members seated in lang's booth and its live one.
func (c *Call) boothLocked(lang string) (seated []*entry, live *entry) {
	for _, o := range c.members {
		if o.booth.interprets == lang {
			seated = append(seated, o)
			if o.booth.live {
				live = o
			}
		}
	}
	return seated, live
}

// knownLocked refuses a language the call does not have, naming it.
func (c *Call) knownLocked(lang string) error {
	if !slices.Contains(c.interp.languages, lang) {
		have := "none"
		if len(c.interp.languages) > 0 {
			have = strings.Join(c.interp.languages, ", ")
		}
		return fmt.Errorf("%w: %q (the call has %s)", ErrUnknownLanguage, lang, have)
	}
	return nil
}

// Interpretation returns the call's languages and mode.
func (c *Call) Interpretation() (languages []string, mode string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.interp.languages), c.interp.mode
}

// opening is the interpretation a call opens with: a booked call's
// languages, in simultaneous mode.
func opening(a Admission) interpretation {
	if len(a.Languages) == 0 {
		return interpretation{}
	}
	return interpretation{languages: slices.Clone(a.Languages), mode: protocol.ModeSimultaneous}
}

// boothAtJoinLocked checks the booth a joining interpreter asks for
// (Identity.Interprets: the language its tracks name) before anything of the
// join is recorded: a language the call lacks, or a full booth, refuses the
// join.
func (c *Call) boothAtJoinLocked(id Identity) error {
	if id.Interprets == "" {
		return nil
	}
	return c.mayInterpretLocked(id, "", id.Interprets)
}

// seatAtJoinLocked seats a joining member in the booth it asked for; the
// join syncs and broadcasts.
func (c *Call) seatAtJoinLocked(e *entry) {
	if e.id.Interprets != "" {
		c.seatLocked(e, e.id.Interprets)
	}
}
