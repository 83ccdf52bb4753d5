// @ts-check
// Witness statements (docs/PROTOCOL.md, "Signed statements"): what a member
// states it saw — its own KID and key commitment, the fingerprint of the
// members it verified, the code it shows, the segment it is in — signed
// with the device key, for the line's call record. The twin of Go's
// internal/audit (WitnessBody, RosterFingerprint); testdata/witness.json
// pins both. No DOM, no network.

import * as b64u from "./b64u.js";
import { keyCommitment } from "./code.js";
import { canonical, concat } from "./trust.js";

const utf8 = new TextEncoder();
export const LABEL_WITNESS = utf8.encode("hotline-witness-v1\0");
const LABEL_ROSTER = utf8.encode("hotline-roster-v1\0");

/** @param {Uint8Array} a @param {Uint8Array} b */
function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * SHA-256("hotline-roster-v1\0" || the members' sig_keys sorted bytewise).
 * @param {Uint8Array[]} sigKeys @returns {Promise<Uint8Array>}
 */
export async function rosterFingerprint(sigKeys) {
  const sorted = [...sigKeys].sort(compareBytes);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(LABEL_ROSTER, ...sorted)));
}

/**
 * The canonical body of a witness statement; code and segment are left out
 * when empty.
 * @param {{line: string, call: string, participant: string, kid: number, baseKey: Uint8Array,
 *   sigKeys: Uint8Array[], code: string, segment: string, at: number}} w
 * @returns {Promise<Uint8Array>}
 */
export async function witnessBody(w) {
  /** @type {Record<string, unknown>} */
  const body = {
    v: 1, line: w.line, call: w.call, participant: w.participant, kid: w.kid,
    commitment: b64u.encode(await keyCommitment(w.kid, w.baseKey)),
    roster: b64u.encode(await rosterFingerprint(w.sigKeys)),
  };
  if (w.code) body.code = w.code;
  if (w.segment) body.segment = w.segment;
  body.at = w.at;
  return utf8.encode(canonical(body));
}

/**
 * Signs a body for the record: {credential, body, sig}.
 * @param {Uint8Array} body @param {CryptoKey} sigPrivate @param {{body: string, sig: string}} credential
 */
export function signWitness(body, sigPrivate, credential) {
  return signStatement(LABEL_WITNESS, body, sigPrivate, credential);
}

/**
 * Signs a statement's body for label (PROTOCOL "Signed statements"):
 * {credential, body, sig}, sig = Ed25519(sig_key, label || body).
 * @param {Uint8Array} label @param {Uint8Array} body @param {CryptoKey} sigPrivate
 * @param {{body: string, sig: string}} credential
 */
export async function signStatement(label, body, sigPrivate, credential) {
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, sigPrivate, concat(label, body)));
  return { credential, body: b64u.encode(body), sig: b64u.encode(sig) };
}
