// Key messages (docs/PROTOCOL.md, "Key messages"): a sender's 16-byte SFrame
// base key, sealed with HPKE (RFC 9180, base mode; X-Wing, HKDF-SHA256,
// AES-128-GCM) to one member's KEM key and signed with the sender's Ed25519
// key. The twin of Go's internal/e2ee/keymsg.go; testdata/trust.json pins
// both.

import * as b64u from "./b64u.js";
import { concat, senderTag, splitKid, str16, u64, SIG_KEY_SIZE, KEM_KEY_SIZE, SEED_SIZE, SIGNATURE_SIZE } from "./trust.js";
import { Aes128Gcm, CipherSuite, HkdfSha256, XWing } from "../vendor/hpke.js";

const subtle = globalThis.crypto.subtle;
const utf8 = new TextEncoder();

const LABEL_SFRAME_KEY = utf8.encode("hotline-sframe-key-v1\0"); // HPKE info
const LABEL_KEY_MSG = utf8.encode("hotline-key-v2\0"); // signature (v2: with both participant ids)

export const BASE_KEY_SIZE = 16;
const ENC_SIZE = 1120; // X-Wing ciphertext (draft-connolly-cfrg-xwing-kem §5.1)
export const SEALED_SIZE = ENC_SIZE + BASE_KEY_SIZE + 16;

const suite = new CipherSuite({ kem: new XWing(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });

/** Why openKey refused a message: reason is "malformed", "wrong_sender", "bad_signature" or "open_failed". */
export class KeyMessageError extends Error {
  constructor(reason, message) {
    super(message || reason);
    this.reason = reason;
  }
}

// info = label || sender sig_key || recipient sig_key || u64(kid) || str16(line) || str16(call)
function keyInfo(from, to, kid, line, call) {
  return concat(LABEL_SFRAME_KEY, from, to, u64(kid), str16(line), str16(call));
}

// signed = label || recipient sig_key || u64(kid) || str16(sender id) || str16(recipient id) || sealed:
// the participant ids bind the message to the two stays in the call it was
// made between, so a key message replayed after a rejoin (a new id) fails.
function keySigned(to, kid, fromId, toId, sealed) {
  if (typeof fromId !== "string" || typeof toId !== "string") throw new KeyMessageError("malformed", "participant ids");
  return concat(LABEL_KEY_MSG, to, u64(kid), str16(fromId), str16(toId), sealed);
}

function bytesOf(v, what) {
  if (v instanceof Uint8Array) return v;
  if (typeof v === "string") {
    try {
      return b64u.decode(v);
    } catch {
      throw new KeyMessageError("malformed", `${what}: not base64url`);
    }
  }
  throw new KeyMessageError("malformed", `${what}: not bytes`);
}

/**
 * Seals the sender's base key for kid to one verified member and signs it.
 * kid must carry the sender's own tag (of its key and senderId): a sender
 * only sends its own keys, of its current stay.
 * senderId and recipientId are the two participant ids (ours from welcome,
 * theirs from the roster).
 * @param {{senderSigPrivate: CryptoKey, senderSigPub: Uint8Array, recipientSigPub: Uint8Array,
 *          recipientKemPub: Uint8Array, kid: number, line: string, call: string,
 *          senderId: string, recipientId: string, baseKey: Uint8Array}} p
 * @returns {Promise<{sealed: string, sig: string}>} both b64u
 */
export async function sealKey({ senderSigPrivate, senderSigPub, recipientSigPub, recipientKemPub, kid, line, call, senderId, recipientId, baseKey }) {
  if (!(baseKey instanceof Uint8Array) || baseKey.length !== BASE_KEY_SIZE) throw new Error("base key must be 16 bytes");
  if (senderSigPub?.length !== SIG_KEY_SIZE || recipientSigPub?.length !== SIG_KEY_SIZE) throw new Error("signing keys must be 32 bytes");
  if (recipientKemPub?.length !== KEM_KEY_SIZE) throw new Error("kem key must be 1216 bytes");
  const k = splitKid(kid);
  if (!k || k.tag !== (await senderTag(senderSigPub, senderId))) throw new Error("kid is not the sender's");
  const recipientPublicKey = await suite.kem.deserializePublicKey(recipientKemPub);
  const sender = await suite.createSenderContext({ recipientPublicKey, info: keyInfo(senderSigPub, recipientSigPub, kid, line, call) });
  const ct = new Uint8Array(await sender.seal(baseKey)); // empty aad
  const sealed = concat(new Uint8Array(sender.enc), ct);
  if (sealed.length !== SEALED_SIZE) throw new Error(`sealed key is ${sealed.length} bytes`);
  const sig = new Uint8Array(await subtle.sign({ name: "Ed25519" }, senderSigPrivate, keySigned(recipientSigPub, kid, senderId, recipientId, sealed)));
  return { sealed: b64u.encode(sealed), sig: b64u.encode(sig) };
}

/**
 * Checks and opens a key message from a verified member; returns the
 * 16-byte base key or throws a KeyMessageError. The checks run in the order
 * of Go's OpenKey: KID and sizes ("malformed"), the KID's sender tag
 * ("wrong_sender"), the signature ("bad_signature"), HPKE ("open_failed").
 * Whether the epoch is newer than the one held is the caller's check.
 * senderId is the relayed `from`, recipientId our own participant id.
 * @param {{recipientKemSeed: Uint8Array, recipientSigPub: Uint8Array, senderSigPub: Uint8Array,
 *          kid: number, line: string, call: string, senderId: string, recipientId: string,
 *          sealed: string|Uint8Array, sig: string|Uint8Array}} p
 * @returns {Promise<Uint8Array>}
 */
export async function openKey({ recipientKemSeed, recipientSigPub, senderSigPub, kid, line, call, senderId, recipientId, sealed, sig }) {
  const k = splitKid(kid);
  if (!k) throw new KeyMessageError("malformed", "kid out of range");
  const sealedBytes = bytesOf(sealed, "sealed");
  const sigBytes = bytesOf(sig, "sig");
  if (sealedBytes.length !== SEALED_SIZE || sigBytes.length !== SIGNATURE_SIZE) throw new KeyMessageError("malformed", "sizes");
  if (senderSigPub?.length !== SIG_KEY_SIZE || recipientSigPub?.length !== SIG_KEY_SIZE || recipientKemSeed?.length !== SEED_SIZE) {
    throw new KeyMessageError("malformed", "key sizes");
  }
  if (k.tag !== (await senderTag(senderSigPub, senderId))) throw new KeyMessageError("wrong_sender", "kid names another sender, or another stay of this one");
  const signed = keySigned(recipientSigPub, kid, senderId, recipientId, sealedBytes);
  let good = false;
  try {
    const pub = await subtle.importKey("raw", senderSigPub, { name: "Ed25519" }, false, ["verify"]);
    good = await subtle.verify({ name: "Ed25519" }, pub, sigBytes, signed);
  } catch {
    good = false;
  }
  if (!good) throw new KeyMessageError("bad_signature");
  let key;
  try {
    const recipientKey = await suite.kem.importKey("raw", recipientKemSeed.slice().buffer, false);
    const ctx = await suite.createRecipientContext({
      recipientKey, enc: sealedBytes.slice(0, ENC_SIZE).buffer, info: keyInfo(senderSigPub, recipientSigPub, kid, line, call),
    });
    key = new Uint8Array(await ctx.open(sealedBytes.slice(ENC_SIZE).buffer));
  } catch {
    throw new KeyMessageError("open_failed");
  }
  if (key.length !== BASE_KEY_SIZE) throw new KeyMessageError("open_failed", "base key size");
  return key;
}

