// The browser's trust layer (docs/PROTOCOL.md, "Trust and key protocol"),
// the twin of Go's internal/trust: device keys and enrolment requests,
// credential verification against pinned authorities, authority files and
// credential signing (for the officer's page), join proofs, and the ids
// derived from a signing key. Both implementations are pinned by the
// shared vectors of testdata/trust.json.
//
// Plain ES module, no DOM. Ed25519, SHA-256, PBKDF2 and AES-GCM are
// WebCrypto's; the X-Wing KEM comes from the vendored HPKE library.

import * as b64u from "./b64u.js";
import { XWing } from "../vendor/hpke.js";

const subtle = globalThis.crypto.subtle;
const utf8 = new TextEncoder();

// Context labels, each ending in a zero byte (docs/PROTOCOL.md, "Encodings").
const LABEL_AUTHORITY = "hotline-authority-v1\0";
const LABEL_ENROLMENT = "hotline-enrolment-v1\0";
const LABEL_CREDENTIAL = "hotline-credential-v1\0";
const LABEL_JOIN = "hotline-join-v3\0";
const LABEL_SENDER_TAG = "hotline-sender-tag-v1\0";

export const SIG_KEY_SIZE = 32;
export const SIGNATURE_SIZE = 64;
export const KEM_KEY_SIZE = 1216;
export const SEED_SIZE = 32;
export const NONCE_SIZE = 32;
export const MAX_BODY_SIZE = 4096;
/** Times in bodies are 0..2^53-1, the integers a JS number holds exactly. */
export const MAX_TIME = Number.MAX_SAFE_INTEGER;
/** A credential may be issued up to 5 minutes in the future (clock skew). */
export const CLOCK_SKEW_SECONDS = 300;
/** A credential is valid for at most 400 days (expires − issued, seconds). */
export const MAX_LIFETIME = 400 * 24 * 3600;
export const MAX_KID = 2 ** 48 - 1;
export const ROLES = ["principal", "adviser", "interpreter", "operator", "press_officer", "press", "monitor", "probe"];

// PBKDF2 bounds of authority files: what is written, and the most a file
// may ask for (so that a crafted file cannot stall the page).
const PBKDF2_ITERATIONS = 600000;
const MAX_PBKDF2_ITERATIONS = 10000000;

// ---- bytes ------------------------------------------------------------

/** @param {...Uint8Array} parts @returns {Uint8Array} */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** str16(s) = u16(len(s)) || s, s in UTF-8. @param {string} s @returns {Uint8Array} */
export function str16(s) {
  const b = utf8.encode(s);
  if (b.length > 0xffff) throw new Error("string too long for str16");
  return concat(new Uint8Array([b.length >> 8, b.length & 0xff]), b);
}

/** u64(x), big-endian, for 0 ≤ x ≤ 2^53-1. @param {number} x @returns {Uint8Array} */
export function u64(x) {
  if (!Number.isSafeInteger(x) || x < 0) throw new Error("u64: not a non-negative safe integer");
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(x));
  return b;
}

/** @param {Uint8Array} a @param {Uint8Array} b */
export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

function hex(bytes) {
  return Array.from(bytes, (x) => x.toString(16).padStart(2, "0")).join("");
}

async function sha256(bytes) {
  return new Uint8Array(await subtle.digest("SHA-256", bytes));
}

// ---- names and roles --------------------------------------------------

/**
 * Checks a side name: 1–32 bytes of a–z, 0–9, '-'.
 * @param {string} s @returns {string|null} the problem, or null
 */
export function validSide(s) {
  if (typeof s !== "string" || s === "") return "side name is empty";
  if (s.length > 32) return "side name is longer than 32 bytes";
  if (!/^[a-z0-9-]+$/.test(s)) return "side name may contain only a-z, 0-9 and '-'";
  return null;
}

// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and
// the ASCII space. (Both follow their own Unicode tables; characters new to
// one version may differ until the other catches up.)
const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]*$/u;

/**
 * Checks a display name: 1–64 printable characters, no leading or trailing
 * space (the rule of internal/trust.ValidDisplayName).
 * @param {string} s @returns {string|null} the problem, or null
 */
export function validDisplayName(s) {
  if (typeof s !== "string" || s === "") return "name is empty";
  if (!printable.test(s)) return "name contains a non-printable character";
  if ([...s].length > 64) return "name is longer than 64 characters";
  if (s.startsWith(" ") || s.endsWith(" ")) return "name starts or ends with a space";
  return null;
}

/**
 * Checks a role list: at least one, each known, none twice.
 * @param {unknown} roles @returns {string|null}
 */
export function validRoles(roles) {
  if (!Array.isArray(roles) || roles.length === 0) return "no role";
  const seen = new Set();
  for (const r of roles) {
    if (typeof r !== "string" || !ROLES.includes(r)) return `unknown role ${JSON.stringify(r)}`;
    if (seen.has(r)) return `role listed twice: ${r}`;
    seen.add(r);
  }
  return null;
}

// ---- ids --------------------------------------------------------------

/** Device id: first 8 bytes of SHA-256(sig_key), lower-case hex. */
export async function deviceId(sigPub) {
  return hex((await sha256(sigPub)).subarray(0, 8));
}

/**
 * Sender tag: the first 4 bytes, as a big-endian u32, of
 * SHA-256("hotline-sender-tag-v1\0" || sig_key || str16(participant id)):
 * of the device and of this stay in the call, so every join has its own
 * 65,536 epochs (Go: trust.SenderTag).
 * @param {Uint8Array} sigPub @param {string} participant the stay's participant id
 */
export async function senderTag(sigPub, participant) {
  const id = utf8.encode(String(participant ?? ''));
  const h = await sha256(concat(utf8.encode(LABEL_SENDER_TAG), sigPub, str16Bytes(id.subarray(0, 0xffff))));
  return new DataView(h.buffer).getUint32(0);
}

/** str16 of bytes already encoded: 2-byte big-endian length, then them. @param {Uint8Array} b */
function str16Bytes(b) {
  const out = new Uint8Array(2 + b.length);
  out[0] = b.length >> 8;
  out[1] = b.length & 0xff;
  out.set(b, 2);
  return out;
}

/** KID = sender_tag << 16 | epoch (a number below 2^48), for one stay. */
export async function kidFor(sigPub, participant, epoch) {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xffff) throw new Error("epoch out of range");
  return (await senderTag(sigPub, participant)) * 65536 + epoch;
}

/** Splits a KID; null when it is not an integer in 0..2^48-1. */
export function splitKid(kid) {
  if (!Number.isSafeInteger(kid) || kid < 0 || kid > MAX_KID) return null;
  return { tag: Math.floor(kid / 65536), epoch: kid % 65536 };
}

/** Authority fingerprint: SHA-256(label || pub), 16 bytes as 8 groups of 4 hex digits. */
export async function fingerprint(pub) {
  const h = hex((await sha256(concat(utf8.encode(LABEL_AUTHORITY), pub))).subarray(0, 16)).toUpperCase();
  return h.match(/.{4}/g).join(" ");
}

// ---- keys -------------------------------------------------------------

const ED25519 = { name: "Ed25519" };
// PKCS #8 wrapping of a raw Ed25519 seed (RFC 8410 §7): WebCrypto imports
// private keys only in PKCS #8 or JWK.
const PKCS8_ED25519_PREFIX = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

/**
 * Imports an Ed25519 seed as a non-extractable signing key.
 * @param {Uint8Array} seed 32 bytes
 * @returns {Promise<CryptoKey>}
 */
export async function importSigningSeed(seed) {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_SIZE) throw new Error("Ed25519 seed must be 32 bytes");
  const pkcs8 = concat(PKCS8_ED25519_PREFIX, seed);
  try {
    return await subtle.importKey("pkcs8", pkcs8, ED25519, false, ["sign"]);
  } finally {
    pkcs8.fill(0);
  }
}

/** @returns {Promise<CryptoKey>} */
async function verifyingKey(pub) {
  return subtle.importKey("raw", pub, ED25519, false, ["verify"]);
}

async function sign(priv, message) {
  return new Uint8Array(await subtle.sign(ED25519, priv, message));
}

/** Ed25519 verification that answers false, never throws, for a bad key. */
export async function verify(pub, message, sig) {
  try {
    return await subtle.verify(ED25519, await verifyingKey(pub), sig, message);
  } catch {
    return false;
  }
}

/**
 * The X-Wing public key (1216 bytes) of a 32-byte X-Wing seed
 * (draft-connolly-cfrg-xwing-kem §5.2, GenerateKeyPairDerand).
 * @param {Uint8Array} seed
 * @returns {Promise<Uint8Array>}
 */
export async function kemPublicFromSeed(seed) {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_SIZE) throw new Error("X-Wing seed must be 32 bytes");
  const kem = new XWing();
  const kp = await kem.generateKeyPairDerand(seed);
  return new Uint8Array(await kem.serializePublicKey(kp.publicKey));
}

/**
 * Makes a device's keys. The Ed25519 private key is a non-extractable
 * CryptoKey (it can be stored in IndexedDB as it is). The X-Wing private
 * key is its 32-byte seed: the HPKE library works on bytes, so that seed is
 * the one secret the page must keep as data.
 * @returns {Promise<{sigKeyPair: CryptoKeyPair, sigPub: Uint8Array, kemSeed: Uint8Array, kemPub: Uint8Array}>}
 */
export async function newDeviceKeys() {
  const sigKeyPair = /** @type {CryptoKeyPair} */ (await subtle.generateKey(ED25519, false, ["sign", "verify"]));
  const sigPub = new Uint8Array(await subtle.exportKey("raw", sigKeyPair.publicKey));
  const kemSeed = globalThis.crypto.getRandomValues(new Uint8Array(SEED_SIZE));
  const kemPub = await kemPublicFromSeed(kemSeed);
  return { sigKeyPair, sigPub, kemSeed, kemPub };
}

// ---- signed bodies ----------------------------------------------------

/**
 * The canonical JSON of a body: JSON.stringify of the fields in the spec's
 * order, with U+2028 and U+2029 escaped as Go's encoder does. A verifier
 * accepts a body only in this exact form (see decodeBody).
 */
export function canonical(obj) {
  return JSON.stringify(obj).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

export class Malformed extends Error {}

const strictUTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes a body's bytes into an object with exactly the given fields, of
 * the given types, and checks that the bytes are the canonical form of
 * that object. This leaves no room for duplicate keys, other key orders,
 * spaces, escapes or number spellings that two JSON parsers could read
 * differently (internal/trust's decodeBody does the same).
 * @param {Uint8Array} bytes
 * @param {Array<[string, "int"|"string"|"strings"]>} fields
 */
export function decodeBody(bytes, fields) {
  if (bytes.length === 0 || bytes.length > MAX_BODY_SIZE) throw new Malformed("body size");
  let o;
  try {
    o = JSON.parse(strictUTF8.decode(bytes));
  } catch {
    throw new Malformed("body is not UTF-8 JSON");
  }
  if (o === null || typeof o !== "object" || Array.isArray(o)) throw new Malformed("body is not an object");
  const canon = {};
  for (const [k, type] of fields) {
    const v = o[k];
    const ok = type === "int" ? Number.isSafeInteger(v)
      : type === "string" ? typeof v === "string"
      : Array.isArray(v) && v.every((x) => typeof x === "string");
    if (!Object.hasOwn(o, k) || !ok) throw new Malformed(`field ${k}`);
    canon[k] = v;
  }
  if (!equalBytes(utf8.encode(canonical(canon)), bytes)) throw new Malformed("body is not in canonical form");
  return o;
}

const REQUEST_FIELDS = [["v", "int"], ["side", "string"], ["name", "string"], ["roles", "strings"], ["sig_key", "string"], ["kem_key", "string"], ["created", "int"]];
const CREDENTIAL_FIELDS = [["v", "int"], ["authority", "string"], ["side", "string"], ["name", "string"], ["roles", "strings"], ["sig_key", "string"], ["kem_key", "string"], ["issued", "int"], ["expires", "int"]];

export function checkTime(t) {
  if (!Number.isSafeInteger(t) || t < 0 || t > MAX_TIME) throw new Malformed("time out of range");
}

export function b64Field(s, n) {
  try {
    return b64u.decodeLen(s, n);
  } catch {
    throw new Malformed("base64url field");
  }
}

/** The common fields of requests and credentials. */
function parseCommon(o) {
  if (o.v !== 1) throw new Malformed("version");
  const problem = validSide(o.side) || validDisplayName(o.name) || validRoles(o.roles);
  if (problem) throw new Malformed(problem);
  return { side: o.side, name: o.name, roles: o.roles.slice(), sigKey: b64Field(o.sig_key, SIG_KEY_SIZE), kemKey: b64Field(o.kem_key, KEM_KEY_SIZE) };
}

/** The envelope {body, sig}: body bytes (1..4096) and a 64-byte signature. */
export function openEnvelope(s) {
  if (s === null || typeof s !== "object" || typeof s.body !== "string" || typeof s.sig !== "string") throw new Malformed("not {body, sig}");
  if (s.body.length > Math.ceil((MAX_BODY_SIZE * 4) / 3)) throw new Malformed("body too long");
  let body;
  try {
    body = b64u.decode(s.body);
  } catch {
    throw new Malformed("body: not base64url");
  }
  if (body.length === 0) throw new Malformed("empty body");
  return { body, sig: b64Field(s.sig, SIGNATURE_SIZE) };
}

// ---- enrolment requests -----------------------------------------------

/**
 * Makes and signs a device's enrolment request (docs/PROTOCOL.md,
 * "Enrolment request"). Throws on invalid input rather than sign it.
 * @param {{side: string, name: string, roles: string[], sigPrivate: CryptoKey, sigPub: Uint8Array, kemPub: Uint8Array, created: number}} p
 * @returns {Promise<{body: string, sig: string}>}
 */
export async function makeRequest({ side, name, roles, sigPrivate, sigPub, kemPub, created }) {
  const problem = validSide(side) || validDisplayName(name) || validRoles(roles);
  if (problem) throw new Error(problem);
  if (!(sigPub instanceof Uint8Array) || sigPub.length !== SIG_KEY_SIZE) throw new Error("sigPub must be 32 bytes");
  if (!(kemPub instanceof Uint8Array) || kemPub.length !== KEM_KEY_SIZE) throw new Error("kemPub must be 1216 bytes");
  if (!Number.isSafeInteger(created) || created < 0) throw new Error("created must be Unix seconds");
  const body = utf8.encode(canonical({ v: 1, side, name, roles, sig_key: b64u.encode(sigPub), kem_key: b64u.encode(kemPub), created }));
  const sig = await sign(sigPrivate, concat(utf8.encode(LABEL_ENROLMENT), body));
  return { body: b64u.encode(body), sig: b64u.encode(sig) };
}

/**
 * Verifies a request: every field first (reason "malformed"), then the
 * self-signature with its own sig_key ("bad_signature").
 * @param {{body: string, sig: string}} request
 */
export async function verifyRequest(request) {
  try {
    const { body, sig } = openEnvelope(request);
    const o = decodeBody(body, REQUEST_FIELDS);
    const c = parseCommon(o);
    checkTime(o.created);
    if (!(await verify(c.sigKey, concat(utf8.encode(LABEL_ENROLMENT), body), sig))) return { ok: false, reason: "bad_signature" };
    return { ok: true, ...c, created: o.created, deviceId: await deviceId(c.sigKey) };
  } catch (e) {
    if (e instanceof Malformed) return { ok: false, reason: "malformed", detail: e.message };
    throw e;
  }
}

// ---- credentials ------------------------------------------------------

/**
 * The pin whose authority key is authority, if any.
 * @param {Array<{key: string, side: string}>} pins
 * @param {Uint8Array} authority
 */
export function pinOf(pins, authority) {
  return pins.find((p) => {
    try {
      return equalBytes(b64u.decode(p.key), authority);
    } catch {
      return false;
    }
  });
}

/**
 * Verifies a credential against the line's pins at nowSeconds, in the
 * order of internal/trust.VerifyCredential, so both give the same reason:
 * "malformed", "unknown_authority", "side_mismatch", "bad_signature",
 * "not_yet_valid", "expired".
 * @param {{body: string, sig: string}} cred
 * @param {Array<{side: string, key: string}>} pins authority keys in b64u
 * @param {number} nowSeconds Unix seconds (an integer)
 */
export async function verifyCredential(cred, pins, nowSeconds) {
  // A missing clock must not make every time check pass (NaN compares false).
  if (!Number.isFinite(nowSeconds)) throw new Error("verifyCredential: nowSeconds must be a number");
  let body, sig, o, c, authority;
  try {
    ({ body, sig } = openEnvelope(cred));
    o = decodeBody(body, CREDENTIAL_FIELDS);
    if (o.v !== 1) throw new Malformed("version");
    authority = b64Field(o.authority, SIG_KEY_SIZE);
    c = parseCommon(o);
    checkTime(o.issued);
    checkTime(o.expires);
    if (o.expires <= o.issued) throw new Malformed("expires is not after issued");
    if (o.expires - o.issued > MAX_LIFETIME) throw new Malformed("valid for more than 400 days");
  } catch (e) {
    if (e instanceof Malformed) return { ok: false, reason: "malformed", detail: e.message };
    throw e;
  }
  const pin = pinOf(pins, authority);
  if (!pin) return { ok: false, reason: "unknown_authority" };
  if (pin.side !== c.side) return { ok: false, reason: "side_mismatch" };
  if (!(await verify(authority, concat(utf8.encode(LABEL_CREDENTIAL), body), sig))) return { ok: false, reason: "bad_signature" };
  const now = Math.floor(nowSeconds);
  if (o.issued > now + CLOCK_SKEW_SECONDS) return { ok: false, reason: "not_yet_valid" };
  if (now >= o.expires) return { ok: false, reason: "expired" };
  return { ok: true, ...c, authority, issued: o.issued, expires: o.expires, deviceId: await deviceId(c.sigKey) };
}

/**
 * Signs a request into a credential (the officer's page). The request is
 * verified first and must be for the authority's side; the credential is
 * checked with the authority's own pin before it is returned.
 * @param {{side: string, publicKey: Uint8Array, privateKey: CryptoKey}} authority
 * @param {{body: string, sig: string}} request
 * @param {number} issuedSeconds
 * @param {number} expiresSeconds
 * @returns {Promise<{body: string, sig: string}>}
 */
export async function signCredential(authority, request, issuedSeconds, expiresSeconds) {
  const r = await verifyRequest(request);
  if (!r.ok) throw new Error(`request: ${r.reason}`);
  if (r.side !== authority.side) throw new Error(`request for side "${r.side}", authority for "${authority.side}"`);
  for (const t of [issuedSeconds, expiresSeconds]) {
    if (!Number.isSafeInteger(t) || t < 0) throw new Error("times must be Unix seconds");
  }
  if (expiresSeconds <= issuedSeconds) throw new Error("expires must be after issued");
  const body = utf8.encode(canonical({
    v: 1, authority: b64u.encode(authority.publicKey), side: r.side, name: r.name, roles: r.roles,
    sig_key: b64u.encode(r.sigKey), kem_key: b64u.encode(r.kemKey), issued: issuedSeconds, expires: expiresSeconds,
  }));
  const sig = await sign(authority.privateKey, concat(utf8.encode(LABEL_CREDENTIAL), body));
  const cred = { body: b64u.encode(body), sig: b64u.encode(sig) };
  const check = await verifyCredential(cred, [{ side: authority.side, key: b64u.encode(authority.publicKey) }], issuedSeconds);
  if (!check.ok) throw new Error(`signed credential does not verify: ${check.reason}`);
  return cred;
}

// ---- authority files --------------------------------------------------

/** An authority file problem; reason is one of "malformed", "passphrase_needed", "wrong_passphrase", "key_mismatch". */
export class AuthorityFileError extends Error {
  constructor(reason, message) {
    super(message);
    this.reason = reason;
  }
}

function onlyKeys(o, allowed, what) {
  if (o === null || typeof o !== "object" || Array.isArray(o)) throw new AuthorityFileError("malformed", `${what} is not an object`);
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new AuthorityFileError("malformed", `${what}: unknown field ${k}`);
  }
}

function fileB64(s, n, what) {
  try {
    return b64u.decodeLen(s, n);
  } catch {
    throw new AuthorityFileError("malformed", `${what}: not ${n} bytes of base64url`);
  }
}

/**
 * Reads an authority file (docs/PROTOCOL.md, "Keys"), in clear or sealed
 * with a passphrase (PBKDF2-SHA256, AES-256-GCM). The private key comes back
 * as a non-extractable CryptoKey; the seed bytes are wiped.
 * @param {string} text the file's content
 * @param {string} passphrase "" when none
 * @returns {Promise<{side: string, publicKey: Uint8Array, privateKey: CryptoKey, demo: boolean, encrypted: boolean}>}
 */
export async function loadAuthorityFile(text, passphrase) {
  let f;
  try {
    f = JSON.parse(text);
  } catch {
    throw new AuthorityFileError("malformed", "not JSON");
  }
  onlyKeys(f, ["hotline_authority", "side", "public_key", "private_key", "encrypted", "demo"], "authority file");
  if (f.hotline_authority !== 1) throw new AuthorityFileError("malformed", "hotline_authority is not 1");
  if (validSide(f.side)) throw new AuthorityFileError("malformed", validSide(f.side));
  if (f.demo !== undefined && typeof f.demo !== "boolean") throw new AuthorityFileError("malformed", "demo is not a boolean");
  const publicKey = fileB64(f.public_key, SIG_KEY_SIZE, "public_key");
  const hasClear = f.private_key !== undefined, hasSealed = f.encrypted !== undefined;
  if (hasClear === hasSealed) throw new AuthorityFileError("malformed", "exactly one of private_key and encrypted is needed");
  let seed;
  if (hasClear) {
    seed = fileB64(f.private_key, SEED_SIZE, "private_key");
  } else {
    const e = f.encrypted;
    onlyKeys(e, ["kdf", "iterations", "salt", "nonce", "ciphertext"], "encrypted");
    if (e.kdf !== "pbkdf2-sha256") throw new AuthorityFileError("malformed", "kdf is not pbkdf2-sha256");
    if (!Number.isSafeInteger(e.iterations) || e.iterations < PBKDF2_ITERATIONS || e.iterations > MAX_PBKDF2_ITERATIONS) {
      throw new AuthorityFileError("malformed", `iterations must be ${PBKDF2_ITERATIONS} to ${MAX_PBKDF2_ITERATIONS}`);
    }
    const salt = fileB64(e.salt, 16, "salt");
    const nonce = fileB64(e.nonce, 12, "nonce");
    const ciphertext = fileB64(e.ciphertext, SEED_SIZE + 16, "ciphertext");
    if (!passphrase) throw new AuthorityFileError("passphrase_needed", "the authority key is encrypted; a passphrase is needed");
    const pass = await subtle.importKey("raw", utf8.encode(passphrase), "PBKDF2", false, ["deriveKey"]);
    const key = await subtle.deriveKey({ name: "PBKDF2", hash: "SHA-256", salt, iterations: e.iterations }, pass,
      { name: "AES-GCM", length: 256 }, false, ["decrypt"]);
    // additional data: "hotline-authority-v1\0" || str16(side) || public_key
    const aad = concat(utf8.encode(LABEL_AUTHORITY), str16(f.side), publicKey);
    try {
      seed = new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv: nonce, additionalData: aad }, key, ciphertext));
    } catch {
      throw new AuthorityFileError("wrong_passphrase", "wrong passphrase (or the file was altered)");
    }
  }
  let privateKey;
  try {
    privateKey = await importSigningSeed(seed);
  } finally {
    seed.fill(0);
  }
  // WebCrypto cannot derive the public key of a non-extractable private
  // key; a signature that verifies under public_key shows they match.
  const probe = utf8.encode("hotline authority key check");
  if (!(await verify(publicKey, probe, await sign(privateKey, probe)))) {
    throw new AuthorityFileError("key_mismatch", "public_key does not match the private key");
  }
  return { side: f.side, publicKey, privateKey, demo: f.demo === true, encrypted: hasSealed };
}

// ---- join -------------------------------------------------------------

function joinMessage(nonce, server, line, call) {
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_SIZE) throw new Error("nonce must be 32 bytes");
  if (typeof server !== "string" || server === "") throw new Error("no server name");
  return concat(utf8.encode(LABEL_JOIN), nonce, str16(server), str16(line), str16(call));
}

/**
 * The join proof: Ed25519(sig_key, "hotline-join-v3\0" || nonce || str16(server) || str16(line) || str16(call)).
 * @param {CryptoKey} sigPrivate
 * @param {Uint8Array} nonce the server's 32-byte challenge
 * @param {string} server the line server's host[:port] as dialled: the signalling URL's URL.host (PROTOCOL.md, "Join")
 * @param {string} line
 * @param {string} call
 * @returns {Promise<string>} b64u
 */
export async function joinProof(sigPrivate, nonce, server, line, call) {
  return b64u.encode(await sign(sigPrivate, joinMessage(nonce, server, line, call)));
}

/**
 * Checks a join proof (the server does this in Go; here for tests and tools).
 * @returns {Promise<boolean>}
 */
export async function verifyJoinProof(sigPub, nonce, server, line, call, proof) {
  let sig;
  try {
    sig = b64u.decodeLen(proof, SIGNATURE_SIZE);
  } catch {
    return false;
  }
  let m;
  try {
    m = joinMessage(nonce, server, line, call);
  } catch {
    return false;
  }
  return verify(sigPub, m, sig);
}
