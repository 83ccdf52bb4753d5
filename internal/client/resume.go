package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// resumeWindow bounds how long a client tries to resume its session after
// its socket died, before it gives up and lets its Attendee join afresh.
// The server's copy of the session lasts until its PeerConnection fails
// (15 s without media) or its pings go unanswered.
const resumeWindow = 8 * time.Second

// resumable: the socket died without a close frame, of a network cause (a
// reset, an end of file, a dead path we closed ourselves): the server may
// still hold the session. A close frame means the server ended it (1000
// after leave or removal, 1001 shutting down, 1008, 1011), and a protocol
// fault (a message over the size bound) is not cured by a new socket.
func (c *Client) resumable(err error) bool {
	c.mu.Lock()
	closing := c.closed || c.id == ""
	c.mu.Unlock()
	if closing || c.ctx.Err() != nil || websocket.CloseStatus(err) != -1 {
		return false
	}
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.As(err, &ne)
}

// resume carries the session on over a new socket (docs/PROTOCOL.md,
// "Resuming"): a join with "resume" and a proof over the new challenge.
// The PeerConnection, the tracks, the keys and the participant id stay;
// the server then sends the roster and an offer that restarts ICE. Our key
// goes to every member again with that roster, in case a key message was
// lost with the old socket.
func (c *Client) resume() error {
	id := c.ID()
	c.log.Info("signalling lost; resuming the session", "id", id)
	if old := c.socket(); old != nil {
		old.CloseNow()
	}
	deadline := time.Now().Add(resumeWindow)
	for n := 0; ; n++ {
		ctx, cancel := context.WithDeadline(c.ctx, deadline)
		err := c.handshake(ctx, id)
		cancel()
		if err == nil {
			c.keys.ResendOnNextRoster()
			c.mu.Lock()
			c.resumes++
			c.mu.Unlock()
			c.log.Info("session resumed", "id", id)
			return nil
		}
		var se *ServerError
		if errors.As(err, &se) || time.Now().After(deadline) || c.ctx.Err() != nil {
			return fmt.Errorf("client: resume %s: %w", id, err) // refused: the session is gone
		}
		if ws := c.socket(); ws != nil {
			ws.CloseNow()
		}
		if !sleep(c.ctx, DefaultBackoff.pause(n)) {
			return c.ctx.Err()
		}
	}
}

// Resumes counts the times this client carried its session on over a new
// socket.
func (c *Client) Resumes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resumes
}
