// @ts-check
// The roster rule (docs/PROTOCOL.md, "Roster"): which entries of a roster
// are verified members and which are forgeries, one verdict per entry, as
// internal/e2ee/roster.go gives them (testdata/roster.json pins both).
// session.js acts on the verdicts.

import { senderTag, verifyCredential } from './trust.js';

/** @typedef {{side: string, key: string}} Pin */
/**
 * What a valid credential says.
 * @typedef {object} Verified
 * @property {string} name
 * @property {string} side
 * @property {string[]} roles
 * @property {string} deviceId
 * @property {Uint8Array} sigKey
 * @property {Uint8Array} kemKey
 * @property {string} keyHex sig_key in hex: the member's identity across rosters
 * @property {number} tag sender tag: the upper 32 bits of its KIDs
 * @property {number} expires when the credential expires, Unix seconds
 */
/**
 * The verdict on one entry: 'self' or 'member', else the forgery's kind.
 * `who` is what its credential says, when it was checked and valid.
 * @typedef {{verdict: string, reason: string, who: Verified|null}} Checked
 */

/** Verdicts that are not forgeries. */
export const SELF = 'self';
export const MEMBER = 'member';

/**
 * Verifies one entry's credential against the pins.
 * @param {any} p a roster entry
 * @param {Pin[]} pins
 * @param {number} now Unix seconds
 * @returns {Promise<{ok: true, who: Verified} | {ok: false, reason: string}>}
 */
export async function checkCredential(p, pins, now) {
  const cred = p?.credential;
  if (!cred || typeof cred.body !== 'string' || typeof cred.sig !== 'string') return { ok: false, reason: 'no credential' };
  /** @type {any} */
  let v;
  try {
    v = await verifyCredential({ body: cred.body, sig: cred.sig }, pins, now);
  } catch (err) {
    return { ok: false, reason: `credential: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!v?.ok) return { ok: false, reason: `credential: ${String(v?.reason ?? 'invalid')}` };
  const sigKey = bytes(v.sigKey);
  return {
    ok: true,
    who: {
      name: String(v.name),
      side: String(v.side),
      roles: Array.isArray(v.roles) ? v.roles.map(String) : [],
      deviceId: String(v.deviceId),
      sigKey,
      kemKey: bytes(v.kemKey),
      keyHex: hex(sigKey),
      tag: await senderTag(sigKey, typeof p?.id === 'string' ? p.id : ''), // of this key in this stay
      expires: Number(v.expires),
    },
  };
}

/**
 * Applies the roster rule to participants, in order, for the participant
 * selfId whose device key is sigPub. This device's key and sender tag are
 * taken before the first entry, so an entry elsewhere carrying them is the
 * copy; a forgery takes nothing. A repeated sender tag is a forgery although
 * the keys differ: KIDs name their sender by it, and a member who ground a
 * key whose tag collides with another's could pass frames off as the other's.
 * @param {any[]} participants the roster's entries
 * @param {{selfId: string|null, sigPub: Uint8Array}} self
 * A member whose device is on a verified revocation list (docs/PROTOCOL.md,
 * "Revocation"; `revoked` tells) is a forgery, checked right after its
 * credential, so that even our own entry can be one.
 * @param {Pin[]} pins
 * @param {number} now Unix seconds
 * @param {(deviceId: string) => boolean} [revoked] whether a device is revoked
 * @returns {Promise<Checked[]>}
 */
export async function checkRoster(participants, { selfId, sigPub }, pins, now, revoked = () => false) {
  const creds = await Promise.all(participants.map((p) => checkCredential(p, pins, now)));
  const ownHex = hex(sigPub);
  /** @type {Map<string, string|null>} sig_key hex → participant id */
  const byKey = new Map([[ownHex, selfId]]);
  /** @type {Map<number, string|null>} sender tag → participant id */
  const byTag = new Map([[await senderTag(sigPub, selfId ?? ''), selfId]]);
  /** @type {Set<string>} */
  const ids = new Set();
  return participants.map((p, i) => {
    const c = creds[i];
    /** @param {string} verdict @param {string} reason @param {Verified|null} who @returns {Checked} */
    const forged = (verdict, reason, who = null) => ({ verdict, reason, who });
    const id = typeof p?.id === 'string' ? p.id : '';
    if (!id) return forged('no_id', 'no participant id');
    if (ids.has(id)) return forged('repeated_id', 'repeated participant id');
    ids.add(id);
    if (!c.ok) return forged('credential', c.reason);
    const who = c.who;
    if (revoked(who.deviceId)) return forged('revoked', `device ${who.deviceId} was revoked by its side's authority`, who);
    if (id === selfId) {
      if (who.keyHex !== ownHex) return forged('not_self', "not this device's credential", who);
      return { verdict: SELF, reason: '', who };
    }
    const dupKey = byKey.get(who.keyHex);
    if (dupKey !== undefined) return forged('repeated_key', dupKey === selfId ? "repeats this device's key" : `repeats the device key of ${dupKey}`, who);
    const dupTag = byTag.get(who.tag);
    if (dupTag !== undefined) return forged('repeated_tag', `repeats the sender tag of ${dupTag}`, who);
    byKey.set(who.keyHex, id);
    byTag.set(who.tag, id);
    return { verdict: MEMBER, reason: '', who };
  });
}

/** @param {Uint8Array} b */
export function hex(b) {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** @param {unknown} v @returns {Uint8Array} */
function bytes(v) {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  throw new Error('expected bytes');
}
