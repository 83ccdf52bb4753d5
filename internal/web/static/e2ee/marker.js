// @ts-check
// Segment markers (PROTOCOL.md, "Segments"), the twin of Go's
// internal/marker: a device allowed to run the public segment (principal,
// press officer, operator) signs
//
//   sig = Ed25519(sig_key, "hotline-segment-v1\0" || str16(line) || str16(call)
//                 || str16(segment) || u32(seq) || u64(at))
//
// and the server relays it in every roster. A client takes the call's
// segment from the last marker it verified, never from the roster's word
// alone, and fails closed: no marker, a bad one, or one older than a
// marker already seen leaves it private (the press gets no key).
// testdata/marker.json pins this file and Go's.

import * as b64u from './b64u.js';
import { concat, str16, u64, verifyCredential } from './trust.js';

const LABEL_SEGMENT = 'hotline-segment-v1\0';

/** The roles that may run the public segment (internal/role's matrix). */
const RUN_SEGMENT = new Set(['principal', 'press_officer', 'operator']);

/**
 * @typedef {{line: string, call: string, segment: string, seq: number, at: number,
 *   credential: {body: string, sig: string}, sig: string}} Marker
 * @typedef {{segment: string, seq: number, marker: Marker|null, by: string}} SegmentState
 */

/** The signed bytes. @param {{line: string, call: string, segment: string, seq: number, at: number}} m */
export function segmentMessage(m) {
  const seq = new Uint8Array(4);
  new DataView(seq.buffer).setUint32(0, m.seq);
  return concat(new TextEncoder().encode(LABEL_SEGMENT), str16(m.line), str16(m.call), str16(m.segment), seq, u64(m.at));
}

/**
 * Signs a marker with the device's key.
 * @param {CryptoKey} sigPrivate @param {{body: string, sig: string}} credential
 * @param {string} line @param {string} call @param {string} segment @param {number} seq @param {number} atMs
 * @returns {Promise<Marker>}
 */
export async function signMarker(sigPrivate, credential, line, call, segment, seq, atMs) {
  const m = { line, call, segment, seq, at: atMs };
  const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, sigPrivate, segmentMessage(m)));
  return { ...m, credential, sig: b64u.encode(sig) };
}

/**
 * Verifies m for line/call: the signer's credential against pins, its
 * roles, the signature. Returns the signer's name, or throws.
 * @param {Marker} m @param {string} line @param {string} call
 * @param {Array<{side: string, key: string}>} pins @param {number} nowSeconds
 */
export async function verifyMarker(m, line, call, pins, nowSeconds) {
  if (!m || typeof m !== 'object') throw new Error('malformed marker');
  if (m.line !== line || m.call !== call) throw new Error('wrong_call');
  if (m.segment !== 'public' && m.segment !== 'private') throw new Error('malformed marker');
  if (!Number.isSafeInteger(m.seq) || m.seq < 1 || m.seq > 1 << 20) throw new Error('malformed marker');
  if (!Number.isSafeInteger(m.at) || m.at <= 0) throw new Error('malformed marker');
  const who = await verifyCredential(m.credential, pins, nowSeconds);
  if (!who.ok) throw new Error(`credential: ${who.reason}`);
  if (!who.roles.some((r) => RUN_SEGMENT.has(r))) throw new Error('not_allowed');
  let sig;
  try {
    sig = b64u.decode(String(m.sig));
  } catch {
    throw new Error('malformed marker');
  }
  const key = await crypto.subtle.importKey('raw', who.sigKey, { name: 'Ed25519' }, false, ['verify']);
  if (sig.length !== 64 || !(await crypto.subtle.verify({ name: 'Ed25519' }, key, sig, segmentMessage(m)))) {
    throw new Error('bad_signature');
  }
  return who.name;
}

/**
 * A client's verdict on a roster's segment, given what it believed before
 * (marker.Check in Go): the state to act on, and why the roster's claim
 * was refused ('' if it was not).
 * @param {string} segment the roster's @param {Marker|null|undefined} marker the roster's
 * @param {string} line @param {string} call @param {Array<{side: string, key: string}>} pins
 * @param {number} nowSeconds @param {SegmentState} prev
 * @returns {Promise<{state: SegmentState, error: string}>}
 */
export async function checkSegment(segment, marker, line, call, pins, nowSeconds, prev) {
  const priv = { ...prev, segment: 'private' };
  if (!marker) {
    if (segment === 'public') return { state: priv, error: 'unsigned' };
    return { state: priv, error: prev.seq > 0 ? 'rollback' : '' };
  }
  if (prev.marker && marker.seq === prev.seq && JSON.stringify(marker) === JSON.stringify(prev.marker)) {
    return { state: prev, error: '' };
  }
  if (!(marker.seq > prev.seq)) return { state: priv, error: 'rollback' };
  let by;
  try {
    by = await verifyMarker(marker, line, call, pins, nowSeconds);
  } catch (e) {
    return { state: priv, error: e instanceof Error ? e.message : String(e) };
  }
  if (marker.segment !== segment) return { state: priv, error: 'malformed marker' };
  return { state: { segment: marker.segment, seq: marker.seq, marker, by }, error: '' };
}

/** @returns {SegmentState} */
export function privateState() {
  return { segment: 'private', seq: 0, marker: null, by: '' };
}
