// Checks that SFrame keys are non-extractable CryptoKeys
// (internal/web/static/e2ee/sframe.js deriveKey): derived from a base key,
// in the page and in a module Worker (where the client keeps them), and
// that WebCrypto refuses to export them in any format, while they still
// encrypt as the shared vectors say. test/browser/sframe_test.go calls run().
import * as sf from "/static/e2ee/sframe.js";

const inWorker = typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope;

/** @param {string} h */
const unhex = (h) => new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16)));
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** Derives one key and tries every export; returns the failures. */
async function check(where, v) {
  const failures = [];
  const k = await sf.deriveKey(v.kid, unhex(v.base_key));
  if (k.key.extractable !== false) failures.push(`${where}: the AES key is extractable`);
  if (k.key.algorithm.name !== "AES-GCM" || k.key.algorithm.length !== 128) failures.push(`${where}: key algorithm ${JSON.stringify(k.key.algorithm)}`);
  for (const format of ["raw", "jwk"]) {
    try {
      await crypto.subtle.exportKey(format, k.key);
      failures.push(`${where}: exportKey(${format}) returned the key`);
    } catch (e) {
      if (!(e instanceof DOMException) || e.name !== "InvalidAccessError") failures.push(`${where}: exportKey(${format}) threw ${e}, want InvalidAccessError`);
    }
  }
  // Control: the key is the right one (the shared vector's ciphertext).
  const s = new sf.SFrameSender();
  await s.setKey(v.kid, unhex(v.base_key), v.ctr);
  const enc = hex(await s.encrypt(v.kind, unhex(v.frame)));
  if (enc !== v.encrypted) failures.push(`${where}: encrypted ${enc}, want ${v.encrypted}`);
  return failures;
}

if (inWorker) {
  self.onmessage = async (e) => {
    try {
      self.postMessage({ failures: await check("worker", e.data) });
    } catch (err) {
      self.postMessage({ failures: [`worker threw ${err && err.stack || err}`] });
    }
  };
}

export async function run() {
  const shared = await (await fetch("/testdata/sframe.json")).json();
  const v = shared.frames[0];
  const failures = await check("page", v);
  const w = new Worker(import.meta.url, { type: "module" });
  const res = await new Promise((done) => {
    w.onmessage = (e) => done(e.data);
    w.onerror = (e) => done({ failures: [`worker error ${e.message}`] });
    w.postMessage(v);
  });
  w.terminate();
  failures.push(...res.failures);
  return { checked: 2, failures };
}
