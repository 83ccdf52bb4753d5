// Browser side of TestScheduleSessionProofJS (test/browser/schedule_test.go).
// run({mode: "vectors"}) checks the embedded client's e2ee/session-proof.js
// against testdata/session.json: the same message bytes and, Ed25519 being
// deterministic, the same proof from the same seed. run({mode: "sign",
// nonce, server, line}) signs with a fresh non-extractable key, as a real device
// does, for Go to verify.

import * as b64u from "/static/e2ee/b64u.js";
import * as T from "/static/e2ee/trust.js";
import { sessionMessage, sessionProof } from "/static/e2ee/session-proof.js";

async function vectors() {
  const r = await fetch("/testdata/session.json");
  if (!r.ok) throw new Error(`session.json: ${r.status}`);
  const file = await r.json();
  const failures = [];
  let checked = 0;
  for (const v of file.vectors) {
    checked++;
    try {
      const nonce = b64u.decodeLen(v.nonce, T.NONCE_SIZE);
      const msg = sessionMessage(nonce, v.server, v.line);
      if (b64u.encode(msg) !== v.message) failures.push(`${v.label}: message ${b64u.encode(msg)}, want ${v.message}`);
      const key = await T.importSigningSeed(b64u.decode(v.sig_seed));
      const proof = await sessionProof(key, nonce, v.server, v.line);
      if (proof !== v.proof) failures.push(`${v.label}: proof ${proof}, want ${v.proof}`);
      const pub = await crypto.subtle.importKey("raw", b64u.decode(v.sig_key), { name: "Ed25519" }, false, ["verify"]);
      if (!(await crypto.subtle.verify({ name: "Ed25519" }, pub, b64u.decode(v.proof), msg))) failures.push(`${v.label}: the vector's proof does not verify in WebCrypto`);
    } catch (e) {
      failures.push(`${v.label}: threw ${e && e.stack || e}`);
    }
  }
  // A nonce of another size is refused, not signed.
  checked++;
  try {
    sessionMessage(new Uint8Array(31), "localhost", "demo");
    failures.push("a 31-byte nonce was accepted");
  } catch {
    // expected
  }
  // Nor a message without a server name.
  checked++;
  try {
    sessionMessage(new Uint8Array(32), "", "demo");
    failures.push("an empty server name was accepted");
  } catch {
    // expected
  }
  return { checked, failures, data: { vectors: file.vectors.length } };
}

async function sign(arg) {
  const kp = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const sigPub = new Uint8Array(await crypto.subtle.exportKey("raw", kp.publicKey));
  const proof = await sessionProof(kp.privateKey, b64u.decode(arg.nonce), arg.server, arg.line);
  return { checked: 1, failures: [], data: { sigPub: b64u.encode(sigPub), proof } };
}

export async function run(arg) {
  if (arg.mode === "vectors") return vectors();
  if (arg.mode === "sign") return sign(arg);
  throw new Error(`unknown mode ${arg.mode}`);
}
