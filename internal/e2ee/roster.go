package e2ee

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"hotline/internal/protocol"
	"hotline/internal/trust"
)

// Verdicts of CheckRoster on one roster entry (docs/PROTOCOL.md, "Roster").
// Every verdict but VerdictSelf and VerdictMember names a forgery. The
// browser's copy (internal/web/static/e2ee/roster.js) gives the same
// verdicts; testdata/roster.json pins both.
const (
	VerdictSelf        = "self"         // this participant's own entry
	VerdictMember      = "member"       // a verified member
	VerdictNoID        = "no_id"        // no participant id
	VerdictRepeatedID  = "repeated_id"  // the id of an earlier entry
	VerdictCredential  = "credential"   // the credential is not valid against the pins
	VerdictRevoked     = "revoked"      // the device is on its side's revocation list
	VerdictNotSelf     = "not_self"     // this participant's id with another device's credential
	VerdictRepeatedKey = "repeated_key" // the sig_key of this device or of an earlier verified entry
	VerdictRepeatedTag = "repeated_tag" // the sender tag of this device or of an earlier verified entry
)

// Checked is CheckRoster's verdict on one entry.
type Checked struct {
	Verdict string
	Who     *trust.Identity // the verified credential; nil for VerdictNoID, VerdictRepeatedID, VerdictCredential
	Reason  string          // for a forgery, what a person reads
}

// Forged reports whether the entry is a forgery.
func (c Checked) Forged() bool { return c.Verdict != VerdictSelf && c.Verdict != VerdictMember }

// CheckRoster applies the roster rule (docs/PROTOCOL.md, "Roster") to
// entries, in order, for the participant selfID whose device key is
// selfKey: one verdict per entry. This device's key and sender tag are
// taken before the first entry, so that an entry elsewhere carrying them is
// the copy; an entry that is a forgery takes nothing. A repeated sender tag
// (of the entry's sig_key and participant id) is a forgery although the keys
// differ: KIDs name their sender by it (trust.KID), and a member (or a
// server choosing participant ids) who made two tags collide could pass
// frames and keys off as the other's.
func CheckRoster(entries []protocol.RosterEntry, selfID string, selfKey ed25519.PublicKey, pins []trust.Pin, now time.Time) []Checked {
	return CheckRosterRevoked(entries, selfID, selfKey, pins, now, nil)
}

// CheckRosterRevoked is CheckRoster with the verified revocation lists
// (docs/PROTOCOL.md, "Revocation"): revoked reports whether a device id is
// on one (nil: none is). An entry whose valid credential names a revoked
// device is a forgery (VerdictRevoked), checked right after the
// credential, so that even this participant's own entry can be one: a
// revoked device sends no key.
func CheckRosterRevoked(entries []protocol.RosterEntry, selfID string, selfKey ed25519.PublicKey, pins []trust.Pin, now time.Time, revoked func(device string) bool) []Checked {
	out := make([]Checked, len(entries))
	ids := make(map[string]bool, len(entries))
	byKey := map[string]string{string(selfKey): selfID} // sig_key → participant id
	byTag := map[uint32]string{trust.SenderTag(selfKey, selfID): selfID}
	for i, e := range entries {
		forged := func(verdict string, who *trust.Identity, format string, args ...any) {
			out[i] = Checked{Verdict: verdict, Who: who, Reason: fmt.Sprintf(format, args...)}
		}
		if e.ID == "" {
			forged(VerdictNoID, nil, "no participant id")
			continue
		}
		if ids[e.ID] {
			forged(VerdictRepeatedID, nil, "repeated participant id")
			continue
		}
		ids[e.ID] = true
		who, err := trust.VerifyCredential(trust.Credential{Body: e.Credential.Body, Sig: e.Credential.Sig}, pins, now)
		if err != nil {
			forged(VerdictCredential, nil, "credential: %v", err)
			continue
		}
		if revoked != nil && revoked(who.DeviceID) {
			forged(VerdictRevoked, who, "device %s was revoked by its side's authority", who.DeviceID)
			continue
		}
		if e.ID == selfID {
			if !who.SigKey.Equal(selfKey) {
				forged(VerdictNotSelf, who, "not this device's credential")
				continue
			}
			out[i] = Checked{Verdict: VerdictSelf, Who: who}
			continue
		}
		if holder, dup := byKey[string(who.SigKey)]; dup {
			if holder == selfID {
				forged(VerdictRepeatedKey, who, "repeats this device's key")
			} else {
				forged(VerdictRepeatedKey, who, "repeats the device key of %s", holder)
			}
			continue
		}
		tag := trust.SenderTag(who.SigKey, e.ID)
		if holder, dup := byTag[tag]; dup {
			forged(VerdictRepeatedTag, who, "repeats the sender tag of %s", holder)
			continue
		}
		byKey[string(who.SigKey)], byTag[tag] = e.ID, e.ID
		out[i] = Checked{Verdict: VerdictMember, Who: who}
	}
	return out
}
