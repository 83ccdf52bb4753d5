// The verification code the principals read aloud (docs/PROTOCOL.md,
// "Verification code"); the twin of Go's internal/e2ee/code.go.
//
//   h = SHA-256("hotline-verification-v1\0" || str16(line) || str16(call) ||
//               for each member, sorted by sig_key bytes:
//                 sig_key || u64(kid) || SHA-256("hotline-key-commitment-v1\0" || u64(kid) || base_key))
//   code = 5 groups of 4 digits, group i = u16(h[2i..2i+2]) mod 10000

import { concat, str16, u64 } from "./trust.js";

const utf8 = new TextEncoder();
const LABEL_VERIFICATION = utf8.encode("hotline-verification-v1\0");
const LABEL_COMMITMENT = utf8.encode("hotline-key-commitment-v1\0");

async function sha256(bytes) {
  return new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", bytes));
}

// bytes.Compare: lexicographic, a prefix first.
function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/**
 * Computes the code for the verified members' current keys (the client's
 * own included); the order of members does not matter.
 * @param {string} line
 * @param {string} call
 * @param {Array<{sigKey: Uint8Array, kid: number, baseKey: Uint8Array}>} members
 * @returns {Promise<string>} e.g. "0408 4455 1448 3589 6941"
 */
export async function verificationCode(line, call, members) {
  const sorted = [...members].sort((x, y) => compareBytes(x.sigKey, y.sigKey));
  const parts = [LABEL_VERIFICATION, str16(line), str16(call)];
  for (const m of sorted) {
    parts.push(m.sigKey, u64(m.kid), await keyCommitment(m.kid, m.baseKey));
  }
  const h = await sha256(concat(...parts));
  const groups = [];
  for (let i = 0; i < 5; i++) {
    groups.push(String(((h[2 * i] << 8) | h[2 * i + 1]) % 10000).padStart(4, "0"));
  }
  return groups.join(" ");
}

/**
 * SHA-256("hotline-key-commitment-v1\0" || u64(kid) || base_key): what the
 * code and a witness statement say of a sender key, never the key.
 * @param {number} kid @param {Uint8Array} baseKey @returns {Promise<Uint8Array>}
 */
export async function keyCommitment(kid, baseKey) {
  return sha256(concat(LABEL_COMMITMENT, u64(kid), baseKey));
}
