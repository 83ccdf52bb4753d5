// @ts-check
// The API session proof (docs/API.md, "Authentication"), the twin of Go's
// internal/trust/session.go:
//
//   proof = Ed25519(sig_key, "hotline-api-session-v2\0" || nonce || str16(server) || str16(line))
//
// server is the host[:port] the page reaches the API by (URL.host, in lower
// case, as for the join proof), so a proof made for one server opens no
// session on another that relayed its challenge.
//
// Its own context label keeps it apart from the join proof
// ("hotline-join-v3\0"): a proof made to open an API session never joins a
// call, nor the reverse. Pinned by the shared vectors of
// testdata/session.json (test/browser/schedule_test.go).

import * as b64u from './b64u.js';
import { NONCE_SIZE, concat, str16 } from './trust.js';

const LABEL_SESSION = 'hotline-api-session-v2\0';

/**
 * The signed bytes: label || nonce || str16(server) || str16(line).
 * @param {Uint8Array} nonce the server's 32-byte challenge
 * @param {string} server the API's host[:port] (URL.host)
 * @param {string} line
 * @returns {Uint8Array}
 */
export function sessionMessage(nonce, server, line) {
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_SIZE) throw new Error('nonce must be 32 bytes');
  if (typeof server !== 'string' || !server) throw new Error('no server name');
  return concat(new TextEncoder().encode(LABEL_SESSION), nonce, str16(server.toLowerCase()), str16(line));
}

/**
 * Signs a session challenge with the device's (non-extractable) key.
 * @param {CryptoKey} sigPrivate Ed25519 private key
 * @param {Uint8Array} nonce
 * @param {string} server the API's host[:port] (URL.host)
 * @param {string} line
 * @returns {Promise<string>} the proof, b64u
 */
export async function sessionProof(sigPrivate, nonce, server, line) {
  const sig = await crypto.subtle.sign({ name: 'Ed25519' }, sigPrivate, sessionMessage(nonce, server, line));
  return b64u.encode(new Uint8Array(sig));
}

const LABEL_OFFICER = 'hotline-officer-session-v1\0';

/**
 * The officer's sign-in (docs/API.md, "Officer sessions"), the twin of Go's
 * internal/trust/officer.go:
 *
 *   proof = Ed25519(authority key, "hotline-officer-session-v1\0" || nonce || str16(line) || str16(side))
 *
 * Only the side's officer, who holds its authority key, may list and
 * reject that side's enrolment requests.
 * @param {CryptoKey} authorityPrivate Ed25519 private key of the side's authority
 * @param {Uint8Array} nonce the server's 32-byte challenge
 * @param {string} line
 * @param {string} side
 * @returns {Promise<string>} the proof, b64u
 */
export async function officerProof(authorityPrivate, nonce, line, side) {
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_SIZE) throw new Error('nonce must be 32 bytes');
  const msg = concat(new TextEncoder().encode(LABEL_OFFICER), nonce, str16(line), str16(side));
  const sig = await crypto.subtle.sign({ name: 'Ed25519' }, authorityPrivate, msg);
  return b64u.encode(new Uint8Array(sig));
}
