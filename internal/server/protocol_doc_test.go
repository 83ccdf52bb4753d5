package server_test

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"hotline/internal/protocol"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/trust"
)

// TestProtocolDocument checks the wire-level claims of docs/PROTOCOL.md
// against a real server, reading them from the document itself: the
// messages after a join, the error codes (every one the protocol package
// defines is documented, and each documented one is sent as the table
// says, with what becomes of the connection), the join refusals, the
// WebSocket close statuses, and the permission matrix behind welcome.may.
// A row added to the document without a scenario here is logged, not
// failed, so that a new code can land in code and document together.
func TestProtocolDocument(t *testing.T) {
	doc := readDoc(t)
	t.Run("order after join", func(t *testing.T) { checkJoinOrder(t, doc) })
	t.Run("error codes", func(t *testing.T) { checkErrorCodes(t, doc) })
	t.Run("join refusals", func(t *testing.T) { checkJoinRefusals(t, doc) })
	t.Run("close statuses", func(t *testing.T) { checkCloseStatuses(t, doc) })
	t.Run("permission matrix", func(t *testing.T) { checkMatrix(t, doc) })
}

func readDoc(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "PROTOCOL.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// mdTable returns the rows of the Markdown table whose header row starts
// with these cells, each row's cells trimmed. It fails if there is none.
func mdTable(t *testing.T, doc string, header ...string) [][]string {
	t.Helper()
	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		cells := mdCells(l)
		if len(cells) < len(header) || !slices.Equal(cells[:len(header)], header) {
			continue
		}
		var rows [][]string
		for _, r := range lines[i+2:] {
			if !strings.HasPrefix(r, "|") {
				break
			}
			rows = append(rows, mdCells(r))
		}
		return rows
	}
	t.Fatalf("PROTOCOL.md has no table headed %q", header)
	return nil
}

func mdCells(line string) []string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") {
		return nil
	}
	cells := strings.Split(line[1:len(line)-1], "|")
	for i, c := range cells {
		cells[i] = strings.TrimSpace(c)
	}
	return cells
}

var backticked = regexp.MustCompile("`([^`]*)`")

// names are the `quoted` words of a cell, in order.
func names(cell string) []string {
	var out []string
	for _, m := range backticked.FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

var closeStatus = regexp.MustCompile(`\b1\d\d\d\b`)

// closesWith is the close statuses a cell names.
func closesWith(cell string) []int {
	var out []int
	for _, m := range closeStatus.FindAllString(cell, -1) {
		n, _ := strconv.Atoi(m)
		out = append(out, n)
	}
	return out
}

// outcome is what a scenario saw: the error code the server sent (""
// none) and how the connection ended (0: still open after the error).
type outcome struct {
	code   string
	status websocket.StatusCode
}

// afterError reads up to the next error message, then finds out whether
// the session goes on: it sends a valid unpublish of no track, which the
// session's loop (not the socket's reader, which may outlive a session
// that ended) refuses, and waits for that answer or the close.
func afterError(t *testing.T, ctx context.Context, c *websocket.Conn) outcome {
	t.Helper()
	var o outcome
	for o.code == "" {
		_, data, err := c.Read(ctx)
		if err != nil {
			return outcome{status: closedWith(t, err)}
		}
		if e, ok := decodeServer(t, data).(*protocol.ErrorMsg); ok {
			o.code = e.Code
			if strings.Count(e.Message, "not allowed") > 1 {
				t.Errorf("error message %q says \"not allowed\" more than once", e.Message)
			}
		}
	}
	_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"unpublish","track":"probe"}`))
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			o.status = closedWith(t, err)
			return o
		}
		if e, ok := decodeServer(t, data).(*protocol.ErrorMsg); ok && e.Ref == protocol.TypeUnpublish {
			return o
		}
	}
}

func closedWith(t *testing.T, err error) websocket.StatusCode {
	t.Helper()
	s := websocket.CloseStatus(err)
	if s == -1 {
		t.Fatalf("the connection ended without a close status: %v", err)
	}
	return s
}

func decodeServer(t *testing.T, data []byte) any {
	t.Helper()
	msg, err := protocol.DecodeServer(data)
	if err != nil {
		t.Fatalf("server sent an invalid message %s: %v", data, err)
	}
	return msg
}

// joined opens a socket, joins call with dev and reads up to the welcome;
// it returns the participant id.
func joined(t *testing.T, srv *servertest.Server, dev *trust.Device, call string, tracks []protocol.TrackInfo) (*websocket.Conn, context.Context, string) {
	t.Helper()
	c, ctx, nonce := rawSession(t, srv)
	write(t, ctx, c, joinJSON(t, dev, nonce, call, tracks))
	for {
		switch m := readMsg(t, ctx, c).(type) {
		case *protocol.Welcome:
			return c, ctx, m.ID
		case *protocol.ErrorMsg:
			t.Fatalf("join of %s refused: %+v", call, m)
		}
	}
}

// serverTypes are the server → client messages of the session diagram
// between the join and the client's next message.
func serverTypes(t *testing.T, doc string) []string {
	t.Helper()
	i := strings.Index(doc, "-- join --")
	if i < 0 {
		t.Fatal("PROTOCOL.md: no join in the session diagram")
	}
	var out []string
	arrow := regexp.MustCompile(`<-+ (\w+) \|`)
	for _, l := range strings.Split(doc[i:], "\n")[1:] {
		m := arrow.FindStringSubmatch(l)
		if m == nil {
			break
		}
		out = append(out, m[1])
	}
	return out
}

// firstTypes reads the first n messages other than candidates and keys
// (a key is relayed from another member whenever that member sends it: on
// a loaded machine one can overtake the joiner's offer).
func firstTypes(t *testing.T, ctx context.Context, c *websocket.Conn, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("after %v: %v", out, err)
		}
		var env protocol.Envelope
		decodeServer(t, data)
		if err := json.Unmarshal(data, &env); err != nil {
			t.Fatal(err)
		}
		if env.Type != protocol.TypeCandidate && env.Type != protocol.TypeKey {
			out = append(out, env.Type)
		}
	}
	return out
}

func checkJoinOrder(t *testing.T, doc string) {
	srv := startServer(t, server.Config{})
	defer srv.Close()
	rows := mdTable(t, doc, "the join announced", "the server sends, in this order")
	mic := []protocol.TrackInfo{{ID: "mic", Kind: protocol.KindAudio, Source: "mic"}}
	scenarios := map[string]func() []string{
		"tracks": func() []string {
			c, ctx, nonce := rawSession(t, srv)
			write(t, ctx, c, joinJSON(t, demoDevice(t, srv, "Publisher"), nonce, "order1", mic))
			return firstTypes(t, ctx, c, 3)
		},
		"no track": func() []string {
			// Someone already publishes: the receive-only joiner has an
			// m-line to be offered.
			pub := join(t, srv, "order2", "Speaker", nil)
			defer pub.Close()
			servertest.Eventually(t, "the speaker's tracks in the roster", func() (bool, string) {
				for _, e := range pub.Roster() {
					if e.ID == pub.ID() && len(e.Tracks) > 0 {
						return true, ""
					}
				}
				return false, "no tracks yet"
			})
			c, ctx, nonce := rawSession(t, srv)
			write(t, ctx, c, joinJSON(t, demoDevice(t, srv, "Listener"), nonce, "order2", nil))
			return firstTypes(t, ctx, c, 3)
		},
	}
	for _, r := range rows {
		run := scenarios[r[0]]
		if run == nil {
			t.Logf("no scenario for the row %q", r[0])
			continue
		}
		delete(scenarios, r[0])
		if got, want := run(), names(r[1]); !slices.Equal(got, want) {
			t.Errorf("a join that announced %s: the server sent %v, PROTOCOL.md says %v", r[0], got, want)
		}
	}
	for k := range scenarios {
		t.Errorf("PROTOCOL.md's order table has no row %q", k)
	}
	var tracksRow []string
	for _, r := range rows {
		if r[0] == "tracks" {
			tracksRow = names(r[1])
		}
	}
	if d := serverTypes(t, doc); !slices.Equal(d, tracksRow) {
		t.Errorf("the session diagram shows %v after join, the order table %v", d, tracksRow)
	}
}

// protocolCodes are the Code… string constants of internal/protocol.
func protocolCodes(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	dir := filepath.Join("..", "protocol")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !strings.HasPrefix(n.Name, "Code") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						out[v] = n.Name
					}
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no Code constants found in internal/protocol")
	}
	return out
}
