// @ts-check
// Readouts (docs/PROTOCOL.md, "Readouts"): a side's press release of a
// call, signed with the device key exactly as `hotline readout publish`
// signs it. The twin of Go's audit.ReadoutBody and audit.ReadoutID;
// testdata/readout.json pins both. No DOM, no network.

import { canonical, concat } from "./trust.js";
import { signStatement } from "./witness.js";

const utf8 = new TextEncoder();
export const LABEL_READOUT = utf8.encode("hotline-readout-v1\0");
/** A readout's text: 1 to this many bytes of UTF-8. */
export const MAX_READOUT_TEXT = 16384;

/**
 * The canonical body of a readout; corrects is left out when empty.
 * @param {{line: string, call: string, side: string, text: string, corrects?: string, published: number}} r
 * @returns {Uint8Array}
 */
export function readoutBody(r) {
  /** @type {Record<string, unknown>} */
  const body = { v: 1, line: r.line, call: r.call, side: r.side, text: r.text };
  if (r.corrects) body.corrects = r.corrects;
  body.published = r.published;
  return utf8.encode(canonical(body));
}

/**
 * Signs a readout's body: {credential, body, sig}, the body of
 * POST /api/lines/{line}/readouts.
 * @param {Uint8Array} body @param {CryptoKey} sigPrivate @param {{body: string, sig: string}} credential
 */
export function signReadout(body, sigPrivate, credential) {
  return signStatement(LABEL_READOUT, body, sigPrivate, credential);
}

/**
 * A readout's id: the first 16 bytes of SHA-256(label || body), lower-case hex.
 * @param {Uint8Array} body @returns {Promise<string>}
 */
export async function readoutId(body) {
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", concat(LABEL_READOUT, body)));
  return [...h.subarray(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
