package client

import (
	"context"
	"fmt"

	"hotline/internal/protocol"
)

// Interpretation from the native endpoint (docs/PROTOCOL.md,
// "Interpretation"): an interpreter's device publishes its channel, any
// endpoint picks what it listens to, and the booth's microphone is handed
// over. The server answers a refusal with an error message (Errors).

// channelInfo is the track an interpreter's device publishes: its
// microphone into lang's channel.
func channelInfo(lang string) protocol.TrackInfo {
	return protocol.TrackInfo{ID: "mic", Kind: protocol.KindAudio, Source: protocol.SourceInterpretation, Language: lang}
}

// checkInterpretation refuses a malformed language before anything is sent.
func (cfg Config) checkInterpretation() error {
	if cfg.Interpret != "" {
		if err := protocol.ValidLanguage(cfg.Interpret); err != nil {
			return fmt.Errorf("%w: interpret: %w", ErrConfig, err)
		}
	}
	if cfg.Listen != "" {
		if err := protocol.ValidListening(cfg.Listen); err != nil {
			return fmt.Errorf("%w: listen: %w", ErrConfig, err)
		}
	}
	return nil
}

// Listen picks what the endpoint hears: protocol.ListenFloor or one of the
// call's languages (for an interpreter: its relay source).
func (c *Client) Listen(ctx context.Context, lang string) error {
	return c.out(ctx, protocol.Listen{Type: protocol.TypeListen, Language: lang})
}

// SetInterpretation sets the call's languages and mode (an operator or principal).
func (c *Client) SetInterpretation(ctx context.Context, languages []string, mode string) error {
	return c.out(ctx, protocol.Interpretation{Type: protocol.TypeInterpretation, Languages: languages, Mode: mode})
}

// Interpret takes the booth of lang (an interpreter).
func (c *Client) Interpret(ctx context.Context, lang string) error {
	return c.out(ctx, protocol.Interpret{Type: protocol.TypeInterpret, Language: lang})
}

// HandOver offers the booth's live microphone to the partner.
func (c *Client) HandOver(ctx context.Context) error {
	return c.out(ctx, protocol.BoothAction{Type: protocol.TypeHandOver})
}

// TakeOver takes the microphone the partner handed over.
func (c *Client) TakeOver(ctx context.Context) error {
	return c.out(ctx, protocol.BoothAction{Type: protocol.TypeTakeOver})
}

// interpretation is the call's languages and mode as the roster says.
type interpretation struct {
	languages []string
	mode      string
}

// Interpretation returns the call's languages and mode from the latest roster.
func (c *Client) Interpretation() (languages []string, mode string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.interp.languages, c.interp.mode
}
