package server_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline/internal/api"
	"hotline/internal/apiclient"
	"hotline/internal/audit"
	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/protocol"
	"hotline/internal/role"
	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/store"
	"hotline/internal/trust"
)

// recordLine is a demo line whose call record a test scripts and tampers with.
type recordLine struct {
	*e2eeLine
	db   string // the SQLite file
	pins []trust.Pin
}

func startRecordLine(t *testing.T) *recordLine {
	dir := t.TempDir()
	l := startLineWith(t, server.Config{DataDir: dir})
	return &recordLine{e2eeLine: l, db: filepath.Join(dir, store.FileName)}
}

// api signs dev in to the calls API.
func (l *recordLine) api(dev *trust.Device) *apiclient.Client {
	l.t.Helper()
	cl, err := apiclient.New(l.srv.URL(), nil)
	if err == nil {
		err = cl.SignIn(context.Background(), dev, demo.Line)
	}
	if err != nil {
		l.t.Fatal(err)
	}
	l.pins = dev.Pins
	return cl
}

// verify exports the record through the API and verifies it.
func (l *recordLine) verify(cl *apiclient.Client, kept ...audit.Signed) (audit.Report, []audit.Entry, error) {
	l.t.Helper()
	x, _, err := cl.Record(context.Background(), demo.Line)
	if err != nil {
		l.t.Fatal(err)
	}
	var es []audit.Entry
	for _, s := range x.Entries {
		e, _ := audit.Parse([]byte(s))
		es = append(es, e)
	}
	rep, err := audit.Verify(x, l.pins, kept)
	return rep, es, err
}

func kinds(es []audit.Entry) []audit.Kind {
	var out []audit.Kind
	for _, e := range es {
		out = append(out, e.Kind)
	}
	return out
}

// isSubsequence: want appears in got in order (other entries between).
func isSubsequence(got, want []audit.Kind) bool {
	i := 0
	for _, k := range got {
		if i < len(want) && k == want[i] {
			i++
		}
	}
	return i == len(want)
}

// TestCallRecord (issue 15): a scripted call — booked calls requested,
// declined, accepted and ended through the API; native endpoints joining,
// admitted from the lobby, an adviser called in and sent out, a guest
// removed, keys relayed, a witness statement, someone leaving — leaves
// every event in the line's record, in order, and the export verifies
// against the pins; forged witness statements are refused; an operator's
// signed head is appended and checked.
func TestCallRecord(t *testing.T) {
	l := startRecordLine(t)
	ctx := context.Background()
	east := l.api(l.device(demo.East, "East Operator", role.Operator))
	west := l.api(l.device(demo.West, "West Operator", role.Operator))
	ask := func(named ...api.Participant) string {
		c, err := east.Request(ctx, api.RequestBody{Line: demo.Line, Kind: "video", When: "now", DurationMinutes: 30, Participants: named})
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	declined := ask()
	if _, err := west.Transition(ctx, declined, "decline", api.TransitionBody{}); err != nil {
		t.Fatal(err)
	}
	id := ask(api.Participant{Name: "East Adviser", Roles: []string{string(role.Adviser)}})
	if _, err := west.Transition(ctx, id, "accept", api.TransitionBody{}); err != nil {
		t.Fatal(err)
	}

	pe, err := l.tryJoin(id, l.device(demo.East, "East Principal", role.Principal), nil)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := l.tryJoin(id, l.device(demo.West, "West Principal", role.Principal), nil)
	if err != nil {
		t.Fatal(err)
	}
	adviser, err := l.tryJoin(id, l.device(demo.East, "East Adviser", role.Adviser), nil)
	if err != nil {
		t.Fatal(err)
	}
	guest, err := l.tryJoin(id, l.device(demo.East, "Guest", role.Adviser), nil)
	if err != nil {
		t.Fatal(err)
	}
	step := func(what string, do func() error, who *client.Client, state string) {
		t.Helper()
		servertest.Eventually(t, what, func() error {
			if err := stateOf(pe, who.ID(), state); err == nil {
				return nil
			}
			return do()
		})
		servertest.Eventually(t, what+" seen", func() error { return stateOf(pe, who.ID(), state) })
	}
	step("adviser called in", func() error { return pe.CallIn(ctx, adviser.ID()) }, adviser, protocol.StateIn)
	step("adviser sent out", func() error { return pe.SendOut(ctx, adviser.ID()) }, adviser, protocol.StateBench)
	step("guest admitted", func() error { return pe.Admit(ctx, guest.ID()) }, guest, protocol.StateIn)
	servertest.Eventually(t, "guest removed", func() error { return pe.Remove(ctx, guest.ID()) })
	// The live call's events reach the record through the lifecycle, off
	// the call: wait for the removal there before anything is appended
	// through the API, so that the order below is the script's.
	servertest.Eventually(t, "the removal in the record", func() error {
		_, es, err := l.verify(east)
		if err == nil && !slices.Contains(kinds(es), audit.Removed) {
			err = errors.New("not yet")
		}
		return err
	})

	// A witness statement once the code is there; forged ones refused.
	servertest.Eventually(t, "a code", func() error {
		if _, ok := pe.Keys().Code(); !ok {
			return errors.New("pending")
		}
		return nil
	})
	st, err := pe.Witness("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := east.PostWitness(ctx, demo.Line, st); err != nil {
		t.Fatal(err)
	}
	wb, _, _ := audit.OpenWitness(st, l.pins)
	forged := wb
	forged.KID = trust.KID(pw.Keys().Self().SigKey, pw.ID(), 0)
	otherDevice, err := audit.Sign(l.srv.Device(t, demo.West, "West Principal"), audit.LabelWitness, &forged)
	if err != nil {
		t.Fatal(err)
	}
	badSig := st
	sig, _ := trust.DecodeB64(st.Sig)
	sig[3] ^= 1
	badSig.Sig = trust.B64(sig)
	for what, s := range map[string]audit.Signed{"another device's": otherDevice, "a bad signature's": badSig} {
		if _, err := east.PostWitness(ctx, demo.Line, s); apiclient.Status(err) != 403 {
			t.Fatalf("%s statement: %v, want 403", what, err)
		}
	}

	pw.Close()
	servertest.Eventually(t, "west gone", func() error {
		if stateOf(pe, pw.ID(), protocol.StateIn) == nil {
			return errors.New("still there")
		}
		return nil
	})
	if _, err := east.Transition(ctx, id, "end", api.TransitionBody{}); err != nil {
		t.Fatal(err)
	}
	var es []audit.Entry
	servertest.Eventually(t, "the call closed in the record", func() error {
		var err error
		if _, es, err = l.verify(east); err != nil {
			return err
		}
		if !slices.Contains(kinds(es), audit.Closed) {
			return fmt.Errorf("no closed entry: %v", kinds(es))
		}
		return nil
	})
	want := []audit.Kind{audit.Requested, audit.Declined, audit.Requested, audit.Accepted,
		audit.Opened, audit.Joined, audit.Started, audit.Joined, audit.Joined, audit.Joined,
		audit.CalledIn, audit.SentOut, audit.Admitted, audit.Removed, audit.Witness,
		audit.Left, audit.Ended, audit.Closed}
	if !isSubsequence(kinds(es), want) {
		t.Fatalf("record %v\nwant in order %v", kinds(es), want)
	}
	witnesses, keyed := 0, false
	for _, e := range es {
		switch {
		case e.Kind == audit.Witness:
			witnesses++
		case e.Kind == audit.Key && e.Participant == pe.ID() && e.KID != nil && *e.KID == wb.KID:
			keyed = true
		case e.Kind == audit.Removed && (e.Name != "Guest" || e.By != "East Principal"):
			t.Fatalf("removed entry %+v", e)
		case e.Kind == audit.Declined && e.Call != declined:
			t.Fatalf("declined entry %+v", e)
		}
	}
	if witnesses != 1 || !keyed {
		t.Fatalf("%d witness entries (want 1), the witness's key epoch recorded: %v", witnesses, keyed)
	}

	// An operator signs the head: appended, and it verifies.
	rep, _, err := l.verify(east)
	if err != nil {
		t.Fatal(err)
	}
	head := signHead(t, l.srv.Device(t, demo.East, "East Operator", role.Operator), rep)
	if _, err := east.PostHead(ctx, demo.Line, head); err != nil {
		t.Fatal(err)
	}
	rep2, _, err := l.verify(west, head)
	if err != nil || len(rep2.Heads) != 2 || rep2.Entries != rep.Entries+1 {
		t.Fatalf("after the head: %+v, %v", rep2, err)
	}
	// A principal's head (not an operator) is refused.
	if _, err := east.PostHead(ctx, demo.Line, signHead(t, l.srv.Device(t, demo.East, "Someone", role.Principal), rep)); apiclient.Status(err) != 403 {
		t.Fatalf("a principal's head: %v, want 403", err)
	}
	// A device cannot flood the record: past a burst, 429.
	flooded := false
	for range 100 {
		if _, err := east.PostHead(ctx, demo.Line, head); apiclient.Status(err) == 429 {
			flooded = true
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if !flooded {
		t.Fatal("100 heads in a row from one device were all appended")
	}
	l.tamper(west, head)
}

type row struct {
	seq   int64
	entry string
	hash  []byte
}

// tamper edits, deletes and reorders one row of the record in the SQLite
// file (the server running), and rewrites a whole tail of it consistently:
// each time the export fails verification at that row, or the signed
// head no longer matches.
func (l *recordLine) tamper(cl *apiclient.Client, kept audit.Signed) {
	t := l.t
	db, err := sql.Open("sqlite", "file:"+l.db+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows []row
	rs, err := db.Query(`SELECT seq, entry, hash FROM record_entries WHERE line = ? ORDER BY seq`, demo.Line)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.seq, &r.entry, &r.hash); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	if err := rs.Err(); err != nil || len(rows) < 10 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	restore := func() {
		exec(`DELETE FROM record_entries WHERE line = ?`, demo.Line)
		for _, r := range rows {
			exec(`INSERT INTO record_entries(line, seq, entry, hash) VALUES(?, ?, ?, ?)`, demo.Line, r.seq, r.entry, r.hash)
		}
	}
	// k: the sent_out entry, in the middle.
	k := int64(0)
	for _, r := range rows {
		if strings.Contains(r.entry, `"kind":"sent_out"`) {
			k = r.seq
		}
	}
	breaksAt := func(what string, seq int64) {
		t.Helper()
		_, _, err := l.verify(cl)
		var b *audit.Break
		if !errors.As(err, &b) || b.Seq != uint64(seq) {
			t.Fatalf("%s row %d: verify says %v", what, seq, err)
		}
		restore()
		if _, _, err := l.verify(cl); err != nil {
			t.Fatalf("restored: %v", err)
		}
	}
	exec(`UPDATE record_entries SET entry = replace(entry, '"name":"East Adviser"', '"name":"East Advisor"') WHERE line = ? AND seq = ?`, demo.Line, k)
	breaksAt("edited", k)
	exec(`DELETE FROM record_entries WHERE line = ? AND seq = ?`, demo.Line, k)
	breaksAt("deleted", k)
	exec(`UPDATE record_entries SET seq = -1 WHERE line = ? AND seq = ?`, demo.Line, k)
	exec(`UPDATE record_entries SET seq = ? WHERE line = ? AND seq = ?`, k, demo.Line, k+1)
	exec(`UPDATE record_entries SET seq = ? WHERE line = ? AND seq = -1`, k+1, demo.Line)
	breaksAt("reordered", k)

	// A careful rewrite: the entry edited, and every later entry linked
	// again with fresh hashes. The chain holds; the signed heads do not.
	prev := rows[k-2].hash
	for _, r := range rows[k-1:] {
		e, err := audit.Parse([]byte(r.entry))
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq == uint64(k) {
			e.Name = "East Advisor"
		}
		e, enc, hash, err := audit.Link(e, e.Seq-1, prev)
		if err != nil {
			t.Fatal(err)
		}
		exec(`UPDATE record_entries SET entry = ?, hash = ? WHERE line = ? AND seq = ?`, string(enc), hash, demo.Line, e.Seq)
		prev = hash
	}
	hb, _, err := audit.OpenHead(kept, l.pins)
	if err != nil {
		t.Fatal(err)
	}
	signedSeq := hb.Seq
	_, _, err = l.verify(cl, kept)
	var m *audit.Mismatch
	if !errors.Is(err, audit.ErrMismatch) || !errors.As(err, &m) || m.Seq != signedSeq {
		t.Fatalf("rewritten: verify says %v", err)
	}
	if strings.Count(err.Error(), "no longer matches") < 2 || !strings.Contains(err.Error(), "the head in entry") || !strings.Contains(err.Error(), "a kept head") {
		t.Fatalf("rewritten: want the heads in the record and the kept one reported: %v", err)
	}
	restore()
}

// signHead signs the head of rep with dev.
func signHead(t *testing.T, dev *trust.Device, rep audit.Report) audit.Signed {
	t.Helper()
	h := audit.HeadBody{V: audit.Version, Line: rep.Line, Seq: uint64(rep.Entries), Hash: trust.B64(rep.Hash), Signed: time.Now().Unix()}
	s, err := audit.Sign(dev, audit.LabelHead, &h)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
