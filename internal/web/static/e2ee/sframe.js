// @ts-check
// SFrame (RFC 9605) frame encryption for hotline's browser client, cipher
// suite AES_128_GCM_SHA256_128 (0x0004), as docs/PROTOCOL.md, "Frame
// encryption (SFrame, RFC 9605)", specifies it: the same bytes as the Go
// package internal/sframe, pinned by the shared vectors testdata/sframe.json
// and RFC 9605's own in testdata/rfc9605.json (test/browser/sframe_test.go).
//
// An encrypted frame is
//
//   clear || header || AES-GCM(key, salt XOR CTR, aad = header || clear, rest of frame)
//
// A plain ES module with no imports, using WebCrypto only, so that it runs
// in a page and in the Worker of an RTCRtpScriptTransform. KIDs and CTRs
// are JS numbers: exact up to 2^53 - 1 (hotline's KIDs are below 2^48); a
// header carrying a larger value is refused as malformed.

/** AES_128_GCM_SHA256_128, RFC 9605 §4.5 and §8.1. */
export const CIPHER_SUITE = 0x0004;
/** Replay window: CTRs remembered per KID, ending at the highest accepted. */
export const REPLAY_WINDOW = 1024;
const BASE_KEY_LEN = 16; // docs/PROTOCOL.md, "Keys"
const NK = 16; // AEAD.Nk
const NN = 12; // AEAD.Nn
const NT = 16; // AEAD.Nt
const MAX = Number.MAX_SAFE_INTEGER; // 2^53 - 1
const TWO32 = 0x100000000;

/** @typedef {"audio"|"video"} Kind */
/** @typedef {"malformed"|"auth"|"replay"|"unknown_kid"} ErrorKind */

/**
 * A frame that cannot be decrypted; `kind` says why (as Go's sentinel
 * errors do), `kid` is the frame's KID when its header was read.
 */
export class SFrameError extends Error {
  /**
   * @param {ErrorKind} kind
   * @param {string} message
   * @param {number|null} [kid]
   */
  constructor(kind, message, kid = null) {
    super(`sframe: ${message}`);
    this.name = "SFrameError";
    /** @type {ErrorKind} */
    this.kind = kind;
    /** @type {number|null} */
    this.kid = kid;
  }
}

/**
 * @param {unknown} v
 * @param {string} what
 * @returns {number}
 */
function checkUint(v, what) {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`sframe: ${what} must be an integer from 0 to 2^53-1, got ${v}`);
  }
  return v;
}

/**
 * The clear-prefix rule before it is capped at the frame's length
 * (docs/PROTOCOL.md table). VP8: the 3-byte frame tag, plus the start code
 * and dimensions of a key frame (bit 0 of the first byte is 0, RFC 6386
 * §9.1); Opus: the TOC byte.
 * @param {Kind} kind
 * @param {number} first the frame's first byte
 * @returns {number}
 */
function prefixLen(kind, first) {
  if (kind === "audio") return 1;
  if (kind === "video") return (first & 1) === 0 ? 10 : 3;
  throw new TypeError(`sframe: kind must be "audio" or "video", got ${kind}`);
}

/**
 * How many bytes at the start of frame stay in clear: VP8 key frame 10,
 * VP8 delta frame 3, Opus 1, never more than the frame's length.
 * @param {Kind} kind
 * @param {Uint8Array} frame
 * @returns {number}
 */
export function clearBytes(kind, frame) {
  const p = prefixLen(kind, frame.length > 0 ? frame[0] : 0);
  return Math.min(p, frame.length);
}

/**
 * Bytes v takes after the config byte: 0 when it fits there (0-7), else
 * the minimum big-endian length (RFC 9605 §4.3).
 * @param {number} v
 */
function extLen(v) {
  if (v < 8) return 0;
  let n = 0;
  for (let x = v; x >= 1; x = Math.floor(x / 256)) n++;
  return n;
}

/**
 * Writes v big-endian into the n bytes at out[off..].
 * @param {Uint8Array} out
 * @param {number} off
 * @param {number} v
 * @param {number} n
 */
function putBE(out, off, v, n) {
  for (let i = n - 1; i >= 0; i--) {
    out[off + i] = v % 256;
    v = Math.floor(v / 256);
  }
}

/**
 * The SFrame header for kid and ctr (RFC 9605 §4.3): config byte
 * X|KKK|Y|CCC, then the KID and the CTR, each in the config byte if below 8,
 * else in the minimum number of big-endian bytes.
 * @param {number} kid
 * @param {number} ctr
 * @returns {Uint8Array}
 */
export function encodeHeader(kid, ctr) {
  checkUint(kid, "KID");
  checkUint(ctr, "CTR");
  const out = new Uint8Array(headerLen(kid, ctr));
  writeHeader(out, 0, kid, ctr);
  return out;
}

/** @param {number} kid @param {number} ctr */
function headerLen(kid, ctr) {
  return 1 + extLen(kid) + extLen(ctr);
}

/**
 * encodeHeader into out[off..], for checked kid and ctr; returns its length.
 * @param {Uint8Array} out
 * @param {number} off
 * @param {number} kid
 * @param {number} ctr
 */
function writeHeader(out, off, kid, ctr) {
  const kn = extLen(kid), cn = extLen(ctr);
  const k = kn === 0 ? kid << 4 : 0x80 | ((kn - 1) << 4);
  const c = cn === 0 ? ctr : 0x08 | (cn - 1);
  out[off] = k | c;
  putBE(out, off + 1, kid, kn);
  putBE(out, off + 1 + kn, ctr, cn);
  return 1 + kn + cn;
}

/**
 * Reads the SFrame header at bytes[offset..]. A header cut short, or not
 * minimally encoded (RFC 9605 §4.3: "MUST be encoded with the minimum
 * number of bytes"), or holding a value above 2^53-1, is "malformed".
 * @param {Uint8Array} bytes
 * @param {number} [offset]
 * @returns {{kid: number, ctr: number, length: number}}
 */
export function parseHeader(bytes, offset = 0) {
  if (offset >= bytes.length) throw new SFrameError("malformed", "empty header");
  const config = bytes[offset];
  let off = offset + 1;
  /** @param {number} nibble @param {string} what */
  const field = (nibble, what) => {
    if ((nibble & 0x8) === 0) return nibble & 0x7;
    const l = (nibble & 0x7) + 1;
    if (bytes.length - off < l) throw new SFrameError("malformed", `header cut short in its ${l}-byte ${what}`);
    let v = 0;
    for (let i = 0; i < l; i++) v = v * 256 + bytes[off + i];
    // Checked before the length: beyond 2^53 v is only approximate.
    if (v > MAX) throw new SFrameError("malformed", `${what} above 2^53-1`);
    if (extLen(v) !== l) throw new SFrameError("malformed", `${what} ${v} not minimally encoded (${l} bytes)`);
    off += l;
    return v;
  };
  const kid = field(config >> 4, "KID");
  const ctr = field(config & 0x0f, "CTR");
  return { kid, ctr, length: off - offset };
}

/**
 * prefix || u64(kid) || u16(cipher suite): the KID as a full 8-byte
 * big-endian integer, not the header's compact form (RFC 9605 §4.4.2).
 * @param {string} prefix
 * @param {number} kid
 */
function label(prefix, kid) {
  const p = new TextEncoder().encode(prefix);
  const out = new Uint8Array(p.length + 10);
  out.set(p);
  const v = new DataView(out.buffer);
  v.setUint32(p.length, Math.floor(kid / TWO32));
  v.setUint32(p.length + 4, kid >>> 0);
  v.setUint16(p.length + 8, CIPHER_SUITE);
  return out;
}

/**
 * @typedef {object} SFrameKey
 * @property {number} kid
 * @property {CryptoKey} key AES-128-GCM, not extractable
 * @property {Uint8Array} salt 12 bytes
 * @property {Uint8Array} iv scratch for the nonce of each frame
 * @property {Uint8Array} aad scratch for each frame's AAD (header || clear)
 */

// The per-frame nonce and AAD are written into the key's scratch buffers
// rather than fresh ones: WebCrypto copies its parameters when encrypt() or
// decrypt() is called ("normalize an algorithm" takes a copy of each
// BufferSource member), so frames still in flight are not disturbed. The
// longest AAD is a 17-byte header and a 10-byte clear prefix.
const AAD_SCRATCH = 32;

/**
 * Derives the key and salt of kid from its base key (RFC 9605 §4.4.2):
 *   secret = HKDF-Extract("", base_key)
 *   key    = HKDF-Expand(secret, "SFrame 1.0 Secret key "  || u64(kid) || u16(4), 16)
 *   salt   = HKDF-Expand(secret, "SFrame 1.0 Secret salt " || u64(kid) || u16(4), 12)
 * WebCrypto's HKDF does Extract then Expand, so each is one derivation
 * with an empty salt (RFC 5869 treats it as HashLen zero bytes, the same
 * HMAC key). The key is derived with deriveKey straight into a
 * non-extractable AES-GCM CryptoKey: its bytes never exist in JavaScript,
 * so no script in the page or the worker (injected or not) can export it;
 * only the salt, part of every nonce, is derived as bytes.
 * @param {number} kid
 * @param {Uint8Array} baseKey 16 bytes
 * @returns {Promise<SFrameKey>}
 */
export async function deriveKey(kid, baseKey) {
  checkUint(kid, "KID");
  if (!(baseKey instanceof Uint8Array) || baseKey.length !== BASE_KEY_LEN) {
    throw new RangeError(`sframe: base key must be ${BASE_KEY_LEN} bytes`);
  }
  const ikm = await crypto.subtle.importKey("raw", baseKey, "HKDF", false, ["deriveBits", "deriveKey"]);
  /** @param {string} prefix */
  const hkdf = (prefix) => ({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: label(prefix, kid) });
  const [key, saltBits] = await Promise.all([
    crypto.subtle.deriveKey(hkdf("SFrame 1.0 Secret key "), ikm, { name: "AES-GCM", length: NK * 8 }, false, ["encrypt", "decrypt"]),
    crypto.subtle.deriveBits(hkdf("SFrame 1.0 Secret salt "), ikm, NN * 8),
  ]);
  return { kid, key, salt: new Uint8Array(saltBits), iv: new Uint8Array(NN), aad: new Uint8Array(AAD_SCRATCH) };
}

/**
 * sframe_salt XOR CTR, the CTR as a 12-byte big-endian integer (RFC 9605
 * §4.4.3).
 * @param {Uint8Array} salt
 * @param {number} ctr
 */
function nonce(salt, ctr, out = salt.slice()) {
  out.set(salt);
  const hi = Math.floor(ctr / TWO32), lo = ctr >>> 0;
  for (let i = 0; i < 4; i++) {
    out[4 + i] ^= hi >>> (24 - 8 * i);
    out[8 + i] ^= lo >>> (24 - 8 * i);
  }
  return out;
}

/**
 * header || metadata, in k's scratch when it fits.
 * @param {SFrameKey} k
 * @param {Uint8Array} header
 * @param {Uint8Array} metadata
 */
function aadOf(k, header, metadata) {
  const n = header.length + metadata.length;
  const out = n <= k.aad.length ? k.aad.subarray(0, n) : new Uint8Array(n);
  out.set(header);
  out.set(metadata, header.length);
  return out;
}

/**
 * The SFrame ciphertext header || ciphertext || tag of plaintext under CTR
 * ctr, with AAD header || metadata (RFC 9605 §4.4.3). The caller must never
 * seal twice with one CTR (SFrameSender sees to it).
 * @param {SFrameKey} k
 * @param {number} ctr
 * @param {Uint8Array} metadata
 * @param {Uint8Array} plaintext
 * @returns {Promise<Uint8Array>}
 */
export async function seal(k, ctr, metadata, plaintext) {
  const out = new Uint8Array(headerLen(k.kid, ctr) + plaintext.length + NT);
  await sealInto(k, ctr, metadata, plaintext, out, 0);
  return out;
}

/**
 * seal, written at out[off..] (which has room for header, ciphertext and
 * tag): the one copy of a frame's bytes on the way out. The header is in
 * place before the first await.
 * @param {SFrameKey} k
 * @param {number} ctr
 * @param {Uint8Array} metadata
 * @param {Uint8Array} plaintext
 * @param {Uint8Array} out
 * @param {number} off
 */
async function sealInto(k, ctr, metadata, plaintext, out, off) {
  const hl = writeHeader(out, off, k.kid, ctr);
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce(k.salt, ctr, k.iv), additionalData: aadOf(k, out.subarray(off, off + hl), metadata), tagLength: NT * 8 },
    k.key, plaintext);
  out.set(new Uint8Array(ct), off + hl);
}

/**
 * Authenticates and decrypts an SFrame ciphertext made by seal with this
 * key and metadata (RFC 9605 §4.4.4). No replay checking (SFrameReceiver
 * does that).
 * @param {SFrameKey} k
 * @param {Uint8Array} sframe header || ciphertext || tag
 * @param {Uint8Array} metadata
 * @returns {Promise<{ctr: number, data: Uint8Array}>}
 */
export async function open(k, sframe, metadata) {
  const h = parseHeader(sframe, 0);
  if (h.kid !== k.kid) throw new SFrameError("unknown_kid", `frame has KID ${h.kid}, key is for ${k.kid}`, h.kid);
  const pt = await openAt(k, sframe.subarray(0, h.length), sframe.subarray(h.length), metadata, h.ctr);
  return { ctr: h.ctr, data: new Uint8Array(pt) };
}

/**
 * @param {SFrameKey} k
 * @param {Uint8Array} header
 * @param {Uint8Array} ciphertext
 * @param {Uint8Array} metadata
 * @param {number} ctr
 */
async function openAt(k, header, ciphertext, metadata, ctr) { // → the plaintext's buffer
  if (ciphertext.length < NT) {
    throw new SFrameError("malformed", `${ciphertext.length} bytes after the header, shorter than a tag`);
  }
  try {
    return await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: nonce(k.salt, ctr, k.iv), additionalData: aadOf(k, header, metadata), tagLength: NT * 8 },
      k.key, ciphertext);
  } catch {
    // WebCrypto's OperationError: the tag does not verify.
    throw new SFrameError("auth", `authentication failed (KID ${k.kid}, CTR ${ctr})`, k.kid);
  }
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/**
 * Encrypts a participant's outgoing frames under its current key. The
 * counter is taken synchronously before any await, so concurrent encrypts
 * (audio and video share a sender) never get the same CTR under a key
 * (RFC 9605 §4.4.3, §9.1).
 */
export class SFrameSender {
  /** @type {SFrameKey|null} */
  #key = null;
  #next = 0;
  #exhausted = false;
  #gen = 0;
  /** KIDs this sender has had: restarting one at CTR 0 could repeat a nonce. */
  #used = new Set();

  /**
   * Makes kid, with its base key, the key of the following frames; its
   * counter starts at 0. A KID this sender has had before is refused.
   * @param {number} kid
   * @param {Uint8Array} baseKey 16 bytes
   * @param {number} [initialCounter] for tests and vectors only: the first CTR
   */
  async setKey(kid, baseKey, initialCounter = 0) {
    checkUint(kid, "KID");
    checkUint(initialCounter, "initial counter");
    if (this.#used.has(kid)) throw new Error(`sframe: KID ${kid} already used by this sender`);
    this.#used.add(kid); // reserved now, so a concurrent setKey of it fails too
    const gen = ++this.#gen;
    let k;
    try {
      k = await deriveKey(kid, baseKey);
    } catch (e) {
      this.#used.delete(kid); // never encrypted under: free to try again
      throw e;
    }
    if (gen !== this.#gen) return; // a later setKey was called meanwhile: its key wins
    this.#key = k;
    this.#next = initialCounter;
    this.#exhausted = false;
  }

  /** The current key's KID, or null before the first setKey. */
  get kid() {
    return this.#key ? this.#key.kid : null;
  }

  /**
   * clear || header || ciphertext || tag, where clear is the frame's first
   * clearBytes(kind, frame) bytes, also the SFrame metadata.
   * @param {Kind} kind
   * @param {Uint8Array} frame
   * @returns {Promise<Uint8Array>}
   */
  async encrypt(kind, frame) {
    const k = this.#key;
    if (!k) throw new Error("sframe: no sending key");
    if (this.#exhausted) {
      // RFC 9605 §7.4: never encrypt twice with one key and nonce.
      throw new Error(`sframe: counter exhausted for KID ${k.kid}`);
    }
    const c = clearBytes(kind, frame); // throws on a bad kind before a CTR is spent
    const ctr = this.#next;
    if (ctr === MAX) this.#exhausted = true;
    else this.#next = ctr + 1;
    const clear = frame.subarray(0, c);
    // One buffer for the whole output, filled as it goes: clear, then
    // header and ciphertext straight after it.
    const out = new Uint8Array(c + headerLen(k.kid, ctr) + frame.length - c + NT);
    out.set(clear);
    await sealInto(k, ctr, clear, frame.subarray(c), out, c);
    return out;
  }
}

/**
 * Anti-replay state of one KID: the highest CTR accepted and which of the
 * REPLAY_WINDOW CTRs ending at it were accepted (RFC 3711 §3.3.2's sliding
 * window over the SFrame CTR, as RFC 9605 §9.3 suggests). The window is a
 * ring of REPLAY_WINDOW bits: CTR x is bit x mod REPLAY_WINDOW, valid for
 * top - REPLAY_WINDOW < x <= top; moving top forward clears the bits it
 * passes. No allocation per frame.
 */
class ReplayWindow {
  started = false;
  top = 0;
  bits = new Uint32Array(REPLAY_WINDOW / 32);

  /** @param {number} x */
  #has(x) {
    const i = x % REPLAY_WINDOW;
    return (this.bits[i >>> 5] & (1 << (i & 31))) !== 0;
  }

  /** @param {number} x @param {boolean} on */
  #set(x, on) {
    const i = x % REPLAY_WINDOW;
    if (on) this.bits[i >>> 5] |= 1 << (i & 31);
    else this.bits[i >>> 5] &= ~(1 << (i & 31));
  }

  /**
   * Records ctr as seen, or returns why it must be refused.
   * @param {number} ctr
   * @returns {string|null}
   */
  accept(ctr) {
    if (!this.started || ctr - this.top >= REPLAY_WINDOW) {
      this.started = true;
      this.bits.fill(0);
      this.top = ctr;
    } else if (ctr > this.top) {
      for (let x = this.top + 1; x < ctr; x++) this.#set(x, false);
      this.top = ctr;
    } else {
      if (this.top - ctr >= REPLAY_WINDOW) return `CTR ${ctr} is older than the window (highest ${this.top})`;
      if (this.#has(ctr)) return `CTR ${ctr} already seen`;
    }
    this.#set(ctr, true);
    return null;
  }
}

/**
 * Decrypts incoming frames with the keys it holds, by KID, and refuses
 * replays. The replay window is consulted and moved only after a frame
 * authenticates, synchronously after the await, so concurrent decrypts of
 * one KID cannot both pass nor corrupt it.
 */
export class SFrameReceiver {
  /** @type {Map<number, {k: SFrameKey, base: Uint8Array, win: ReplayWindow}>} */
  #keys = new Map();

  /**
   * Adds the key of kid. The same key again changes nothing (its replay
   * window is kept); another base key for a known KID replaces it, with a
   * fresh window (frames of the old key do not authenticate under it).
   * @param {number} kid
   * @param {Uint8Array} baseKey 16 bytes
   */
  async addKey(kid, baseKey) {
    const has = () => {
      const e = this.#keys.get(kid);
      return e !== undefined && sameBytes(e.base, baseKey);
    };
    if (has()) return;
    const k = await deriveKey(kid, baseKey);
    if (has()) return; // added meanwhile
    this.#keys.set(kid, { k, base: baseKey.slice(), win: new ReplayWindow() });
  }

  /** @param {number} kid */
  removeKey(kid) {
    this.#keys.delete(kid);
  }

  /** @param {number} kid */
  hasKey(kid) {
    return this.#keys.has(kid);
  }

  /**
   * Authenticates and decrypts one encrypted frame; data is the original
   * frame (clear || plaintext). The caller checks kid against the sender it
   * expects on the track.
   *
   * The clear length comes from the first byte and kind. A frame shorter
   * than its clear prefix was sent whole in clear with nothing encrypted
   * (clear || header || tag); when the full prefix gives no authentic frame,
   * each shorter clear length after which exactly a header and a tag remain
   * is tried, longest first (as Go's Receiver.Decrypt does).
   * @param {Kind} kind
   * @param {Uint8Array} frame
   * @returns {Promise<{kid: number, ctr: number, data: Uint8Array}>}
   */
  async decrypt(kind, frame) {
    if (frame.length === 0) throw new SFrameError("malformed", "empty frame");
    const p = prefixLen(kind, frame[0]);
    /** @type {SFrameError|null} */
    let fail = null;
    let rank = -1;
    /** @param {number} r @param {SFrameError} e */
    const note = (r, e) => {
      if (r > rank) {
        rank = r;
        fail = e;
      }
    };
    for (let c = Math.min(p, frame.length - 1); c >= 0; c--) {
      let h;
      try {
        h = parseHeader(frame, c);
      } catch (e) {
        if (!(e instanceof SFrameError)) throw e;
        note(0, e);
        continue;
      }
      const rest = frame.length - c - h.length;
      if (c < p && rest !== NT) continue; // not a frame sent whole in clear
      if (rest < NT) {
        note(0, new SFrameError("malformed", `${rest} bytes after the header, shorter than a tag`, h.kid));
        continue;
      }
      const e = this.#keys.get(h.kid);
      if (!e) {
        note(1, new SFrameError("unknown_kid", `unknown KID ${h.kid}`, h.kid));
        continue;
      }
      const clear = frame.subarray(0, c);
      let pt;
      try {
        pt = await openAt(e.k, frame.subarray(c, c + h.length), frame.subarray(c + h.length), clear, h.ctr);
      } catch (err) {
        if (!(err instanceof SFrameError)) throw err;
        note(2, err);
        continue;
      }
      // Authentic. Check and move the window in one synchronous step.
      const why = e.win.accept(h.ctr);
      if (why) throw new SFrameError("replay", `replayed frame (KID ${h.kid}): ${why}`, h.kid);
      const data = new Uint8Array(c + pt.byteLength);
      data.set(clear);
      data.set(new Uint8Array(pt), c);
      return { kid: h.kid, ctr: h.ctr, data };
    }
    throw fail ?? new SFrameError("malformed", `${frame.length} bytes`);
  }
}
