package peer

import (
	"errors"

	"hotline/internal/call"
	"hotline/internal/protocol"
)

// interpretation carries out one interpretation message (docs/PROTOCOL.md,
// "Interpretation"); the call decides and refuses.
func (s *Session) interpretation(msg any, typ string) {
	var err error
	switch m := msg.(type) {
	case *protocol.Interpretation:
		err = s.call.SetInterpretation(s.id, m.Languages, m.Mode)
	case *protocol.Interpret:
		err = s.call.Interpret(s.id, m.Language)
	case *protocol.Listen:
		err = s.call.Listen(s.id, m.Language)
	case *protocol.BoothAction:
		if m.Type == protocol.TypeHandOver {
			err = s.call.HandOver(s.id)
		} else {
			err = s.call.TakeOver(s.id)
		}
	}
	if err != nil {
		s.sendError(errorCode(err), typ, "%v", err)
	}
}

// joinErrorCode maps a refused join: a language the call lacks, or a booth
// the booking does not let this interpreter take, is final (forbidden:
// trying again changes nothing); a full call or booth is worth another try
// (refused).
func joinErrorCode(err error) string {
	if errors.Is(err, call.ErrUnknownLanguage) || errors.Is(err, call.ErrForbidden) {
		return protocol.CodeForbidden
	}
	return protocol.CodeRefused
}
