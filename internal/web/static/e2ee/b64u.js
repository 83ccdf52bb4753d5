// base64url without padding (RFC 4648 §5), the encoding of every binary
// value in hotline's JSON (docs/PROTOCOL.md, "Encodings"). Decoding is
// strict, like the Go side's (internal/trust): only the URL-safe alphabet,
// no padding, no whitespace, and no non-zero bits after the last byte, so
// each byte string has exactly one encoding.

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const values = new Int8Array(128).fill(-1);
for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i;

/**
 * Encodes bytes as base64url without padding.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function encode(bytes) {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + alphabet[n & 63];
  }
  if (bytes.length - i === 1) {
    const n = bytes[i] << 16;
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63];
  } else if (bytes.length - i === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63];
  }
  return out;
}

/**
 * Decodes strict base64url without padding; throws on anything else.
 * @param {string} s
 * @returns {Uint8Array}
 */
export function decode(s) {
  if (typeof s !== "string" || s.length % 4 === 1) throw new Error("b64u: bad length");
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let bits = 0, acc = 0, o = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? values[c] : -1;
    if (v < 0) throw new Error("b64u: character outside the URL-safe alphabet");
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
      acc &= (1 << bits) - 1;
    }
  }
  // What is left (fewer than 8 bits) must be zero.
  if (acc !== 0) throw new Error("b64u: non-zero trailing bits");
  return out;
}

/**
 * Decodes strict base64url that must hold exactly n bytes.
 * @param {string} s
 * @param {number} n
 * @returns {Uint8Array}
 */
export function decodeLen(s, n) {
  const b = decode(s);
  if (b.length !== n) throw new Error(`b64u: ${b.length} bytes, want ${n}`);
  return b;
}
