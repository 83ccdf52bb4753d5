// @ts-check
// Revocation lists (docs/PROTOCOL.md, "Revocation"): a side's authority
// signs the devices it no longer trusts; the roster carries each side's
// current list, and a client verifies it against its own pins (never the
// server's word), keeps the newest per side — a list never goes back, and
// stays in force in a roster that leaves it out — and treats a member on
// it as a forgery (roster.js, verdict 'revoked'). internal/trust's
// revocation.go is the Go copy; testdata/revocation.json pins both.

import { b64Field, checkTime, decodeBody, Malformed, openEnvelope, pinOf, SIG_KEY_SIZE, validSide, verify } from './trust.js';

const LABEL_REVOCATION = 'hotline-revocation-v1\0';
/** At most this many devices in one list. */
export const MAX_REVOKED = 64;
const FIELDS = /** @type {Array<[string, "int"|"string"|"strings"]>} */ ([
  ['v', 'int'], ['authority', 'string'], ['side', 'string'], ['line', 'string'], ['serial', 'int'], ['issued', 'int'], ['devices', 'strings'],
]);
const LINE = /^[A-Za-z0-9._-]{1,64}$/;
const DEVICE = /^[0-9a-f]{16}$/;
const utf8 = new TextEncoder();

/**
 * @typedef {{ok: true, side: string, line: string, serial: number, issued: number, devices: string[], authority: Uint8Array}} RevocationList
 * @typedef {{ok: false, reason: string, detail?: string}} Refused
 */

/**
 * Verifies a list for line against pins. The checks and their reasons,
 * in order: malformed, unknown_authority, side_mismatch, line_mismatch,
 * bad_signature.
 * @param {{body: string, sig: string}} r
 * @param {{side: string, key: string}[]} pins
 * @param {string} line
 * @returns {Promise<RevocationList|Refused>}
 */
export async function verifyRevocation(r, pins, line) {
  let body, sig, o, authority;
  try {
    ({ body, sig } = openEnvelope(r));
    o = decodeBody(body, FIELDS);
    if (o.v !== 1) throw new Malformed('version');
    authority = b64Field(o.authority, SIG_KEY_SIZE);
    const problem = validSide(o.side);
    if (problem) throw new Malformed(problem);
    if (!LINE.test(o.line)) throw new Malformed('line name');
    if (o.serial < 1) throw new Malformed('serial');
    checkTime(o.serial);
    checkTime(o.issued);
    if (o.devices.length > MAX_REVOKED) throw new Malformed('too many devices');
    o.devices.forEach((/** @type {string} */ d, /** @type {number} */ i) => {
      if (!DEVICE.test(d)) throw new Malformed('device id');
      if (i > 0 && o.devices[i - 1] >= d) throw new Malformed('device ids not sorted or repeated');
    });
  } catch (e) {
    if (e instanceof Malformed) return { ok: false, reason: 'malformed', detail: e.message };
    throw e;
  }
  const pin = pinOf(pins, authority);
  if (!pin) return { ok: false, reason: 'unknown_authority' };
  if (pin.side !== o.side) return { ok: false, reason: 'side_mismatch' };
  if (o.line !== line) return { ok: false, reason: 'line_mismatch' };
  if (!(await verify(authority, concatLabel(body), sig))) return { ok: false, reason: 'bad_signature' };
  return { ok: true, side: o.side, line: o.line, serial: o.serial, issued: o.issued, devices: o.devices.slice(), authority };
}

/** @param {Uint8Array} body */
function concatLabel(body) {
  const label = utf8.encode(LABEL_REVOCATION);
  const out = new Uint8Array(label.length + body.length);
  out.set(label);
  out.set(body, label.length);
  return out;
}

/** The newest verified list of each side, as a client holds them. */
export class Revocations {
  constructor() {
    /** @type {Map<string, RevocationList>} */
    this.bySide = new Map();
  }

  /**
   * Verifies r and keeps it if its serial is above its side's held one:
   * 'added'; an exact repeat of the held list: 'repeat'; anything else is
   * refused with its reason ('old_serial' for a list that would go back).
   * @param {{body: string, sig: string}} r
   * @param {{side: string, key: string}[]} pins
   * @param {string} line
   * @returns {Promise<string>}
   */
  async add(r, pins, line) {
    const l = await verifyRevocation(r, pins, line);
    if (!l.ok) return l.reason;
    const old = this.bySide.get(l.side);
    if (old && l.serial <= old.serial) {
      return l.serial === old.serial && l.devices.join() === old.devices.join() ? 'repeat' : 'old_serial';
    }
    this.bySide.set(l.side, l);
    return 'added';
  }

  /** Whether a held list names deviceId. @param {string} deviceId */
  revoked(deviceId) {
    for (const l of this.bySide.values()) if (l.devices.includes(deviceId)) return true;
    return false;
  }

  /** The serial of side's held list, 0 if none. @param {string} side */
  serial(side) {
    return this.bySide.get(side)?.serial ?? 0;
  }
}
