// Checks the browser's SFrame (internal/web/static/e2ee/sframe.js, as the
// server embeds it) against RFC 9605's published vectors and the vectors Go
// generated (testdata/sframe.json), then runs it in a module Worker.
// test/browser/sframe_test.go calls run(); `checked` counts vectors, one per
// vector of the two files, each counted only once all its checks ran.
//
// The same file is also the Worker's script: loaded in a
// WorkerGlobalScope it answers one round-trip request instead.
import * as sf from "/static/e2ee/sframe.js";

/** @param {string} h */
const unhex = (h) => {
  if (h.length % 2) throw new Error(`odd hex ${h}`);
  const b = new Uint8Array(h.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(h.substr(2 * i, 2), 16);
  return b;
};
/** @param {Uint8Array} b */
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
/** @param {Uint8Array} a @param {Uint8Array} b */
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

const inWorker = typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope;

if (inWorker) {
  // Round-trip one frame of the shared vectors inside the Worker.
  self.onmessage = async (e) => {
    const v = e.data;
    try {
      const s = new sf.SFrameSender();
      await s.setKey(v.kid, unhex(v.base_key), v.ctr);
      const enc = await s.encrypt(v.kind, unhex(v.frame));
      const r = new sf.SFrameReceiver();
      await r.addKey(v.kid, unhex(v.base_key));
      const dec = await r.decrypt(v.kind, enc);
      self.postMessage({ inWorker: true, encrypted: hex(enc), kid: dec.kid, ctr: dec.ctr, frame: hex(dec.data) });
    } catch (err) {
      self.postMessage({ inWorker: true, error: String(err && err.stack || err) });
    }
  };
  self.postMessage({ ready: true });
}

/** Runs fn and returns the SFrameError kind it threw, "ok", or "other: …". */
async function outcome(fn) {
  try {
    await fn();
    return "ok";
  } catch (e) {
    return e instanceof sf.SFrameError ? e.kind : `other: ${e}`;
  }
}

async function fetchJSON(path) {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

/** Encrypts a test block with each key: equal outputs mean equal keys. */
async function sameAESKey(derived, raw) {
  const imported = await crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt"]);
  const p = { name: "AES-GCM", iv: new Uint8Array(12) };
  const block = new Uint8Array(32).fill(7);
  const a = new Uint8Array(await crypto.subtle.encrypt(p, derived, block));
  const b = new Uint8Array(await crypto.subtle.encrypt(p, imported, block));
  return same(a, b);
}

export async function run() {
  const failures = [];
  let checked = 0;
  const fail = (what, msg) => failures.push(`${what}: ${msg}`);
  // Runs one vector's checks; it counts once they all ran, and a throw is
  // a failure of that vector, not the end of the run.
  const vector = async (what, fn) => {
    try {
      await fn();
      checked++;
    } catch (e) {
      fail(what, `threw ${e && e.stack || e}`);
    }
  };

  const rfc = await fetchJSON("/testdata/rfc9605.json");
  const shared = await fetchJSON("/testdata/sframe.json");

  // RFC 9605 Appendix C.1. Values beyond 2^53-1 cannot be a JS number:
  // such a header must be refused as malformed, never misread.
  for (const v of rfc.header) {
    const what = `RFC header kid=${v.kid} ctr=${v.ctr}`;
    await vector(what, async () => {
      const kid = BigInt(v.kid), ctr = BigInt(v.ctr);
      const h = unhex(v.header);
      const max = BigInt(Number.MAX_SAFE_INTEGER);
      if (kid <= max && ctr <= max) {
        const enc = sf.encodeHeader(Number(kid), Number(ctr));
        if (!same(enc, h)) fail(what, `encodeHeader = ${hex(enc)}, want ${v.header}`);
        const p = sf.parseHeader(concat(new Uint8Array([0xaa]), h, new Uint8Array([0xff])), 1);
        if (BigInt(p.kid) !== kid || BigInt(p.ctr) !== ctr || p.length !== h.length) {
          fail(what, `parseHeader = ${JSON.stringify(p)}`);
        }
      } else {
        const o = await outcome(() => sf.parseHeader(h, 0));
        if (o !== "malformed") fail(what, `value above 2^53-1: ${o}, want malformed`);
      }
      for (let i = 0; i < h.length; i++) {
        const o = await outcome(() => sf.parseHeader(h.subarray(0, i), 0));
        if (o !== "malformed") fail(what, `cut to ${i} bytes: ${o}, want malformed`);
      }
    });
  }

  // RFC 9605 Appendix C.3, cipher suite 0x0004.
  for (const v of rfc.sframe) {
    const what = `RFC SFrame suite ${v.cipher_suite}`;
    await vector(what, async () => {
      if (Number(v.cipher_suite) !== sf.CIPHER_SUITE) throw new Error("not the cipher suite of sframe.js");
      const kid = Number(BigInt(v.kid)), ctr = Number(BigInt(v.ctr));
      const k = await sf.deriveKey(kid, unhex(v.base_key));
      if (hex(k.salt) !== v.sframe_salt) fail(what, `salt ${hex(k.salt)}, want ${v.sframe_salt}`);
      if (!(await sameAESKey(k.key, unhex(v.sframe_key)))) fail(what, "derived key is not sframe_key");
      const ct = await sf.seal(k, ctr, unhex(v.metadata), unhex(v.pt));
      if (hex(ct) !== v.ct) fail(what, `seal = ${hex(ct)}, want ${v.ct}`);
      const o = await sf.open(k, unhex(v.ct), unhex(v.metadata));
      if (o.ctr !== ctr || hex(o.data) !== v.pt) fail(what, `open = ${o.ctr}, ${hex(o.data)}`);
      const bad = await outcome(() => sf.open(k, unhex(v.ct), unhex(v.metadata).subarray(1)));
      if (bad !== "auth") fail(what, `open with other metadata: ${bad}, want auth`);
    });
  }

  // Shared vectors: JS must produce Go's bytes and read them back.
  if (shared.cipher_suite !== sf.CIPHER_SUITE || shared.replay_window !== sf.REPLAY_WINDOW) {
    fail("shared vectors", `suite ${shared.cipher_suite}, window ${shared.replay_window}`);
  }
  for (const v of shared.frames) {
    const what = `frame "${v.name}"`;
    await vector(what, async () => {
      const frame = unhex(v.frame);
      if (sf.clearBytes(v.kind, frame) !== v.clear) fail(what, `clearBytes = ${sf.clearBytes(v.kind, frame)}, want ${v.clear}`);
      const s = new sf.SFrameSender();
      await s.setKey(v.kid, unhex(v.base_key), v.ctr);
      if (s.kid !== v.kid) fail(what, `sender kid ${s.kid}`);
      const enc = await s.encrypt(v.kind, frame);
      if (hex(enc) !== v.encrypted) fail(what, `encrypt = ${hex(enc)}, want ${v.encrypted}`);
      const r = new sf.SFrameReceiver();
      await r.addKey(v.kid, unhex(v.base_key));
      try {
        const d = await r.decrypt(v.kind, unhex(v.encrypted));
        if (d.kid !== v.kid || d.ctr !== v.ctr || hex(d.data) !== v.frame) {
          fail(what, `decrypt = kid ${d.kid}, ctr ${d.ctr}, ${hex(d.data)}`);
        }
      } catch (e) {
        fail(what, `decrypt threw ${e}`);
      }
    });
  }
  for (const q of shared.sequences) {
    await vector(`sequence "${q.name}"`, async () => {
      const r = new sf.SFrameReceiver();
      for (const k of shared.keys) await r.addKey(k.kid, unhex(k.base_key));
      let i = 0;
      for (const st of q.steps) {
        const what = `sequence "${q.name}" step ${i++}`;
        let got;
        const o = await outcome(async () => { got = await r.decrypt(st.kind, unhex(st.encrypted)); });
        if (o !== st.expect) fail(what, `${o}, want ${st.expect}`);
        // Go leaves out a zero kid and an empty frame.
        else if (o === "ok" && (got.kid !== (st.kid ?? 0) || hex(got.data) !== (st.frame ?? ""))) {
          fail(what, `kid ${got.kid}, frame ${hex(got.data)}`);
        }
      }
    });
  }

  // Concurrency: three decrypts of the same frame at once, one wins.
  {
    const v = shared.frames[0];
    const r = new sf.SFrameReceiver();
    await r.addKey(v.kid, unhex(v.base_key));
    const outs = await Promise.all([0, 1, 2].map(() => outcome(() => r.decrypt(v.kind, unhex(v.encrypted)))));
    if (outs.filter((o) => o === "ok").length !== 1 || outs.filter((o) => o === "replay").length !== 2) {
      fail("concurrent decrypts of one frame", outs.join(","));
    }
    // Concurrent encrypts never share a CTR.
    const s = new sf.SFrameSender();
    await s.setKey(v.kid, unhex(v.base_key));
    const encs = await Promise.all(Array.from({ length: 50 }, (_, i) => s.encrypt(i % 2 ? "audio" : "video", unhex(v.frame))));
    const ctrs = new Set(encs.map((e, i) => sf.parseHeader(e, sf.clearBytes(i % 2 ? "audio" : "video", unhex(v.frame))).ctr));
    if (ctrs.size !== 50) fail("concurrent encrypts", `${ctrs.size} distinct CTRs of 50`);
    if ((await outcome(() => s.setKey(v.kid, unhex(v.base_key)))) === "ok") fail("sender", "a KID was reused");
    // The last CTR a JS number holds is used once, then the sender stops.
    const x = new sf.SFrameSender();
    await x.setKey(v.kid, unhex(v.base_key), Number.MAX_SAFE_INTEGER);
    const last = await x.encrypt("audio", new Uint8Array([0x78, 1]));
    if (sf.parseHeader(last, 1).ctr !== Number.MAX_SAFE_INTEGER) fail("sender", "last CTR not used");
    if ((await outcome(() => x.encrypt("audio", new Uint8Array([0x78, 1])))) === "ok") fail("sender", "encrypted past the last CTR");
  }

  // Frames for Go to decrypt with its own implementation (random keys,
  // KIDs and sizes, so beyond what the vectors fix).
  const interop = [];
  for (let i = 0; i < 8; i++) {
    const kind = i % 3 === 0 ? "audio" : "video";
    const frame = crypto.getRandomValues(new Uint8Array([0, 1, 2, 9, 10, 11, 1200, 3000][i]));
    if (kind === "video" && frame.length && i % 2) frame[0] &= 0xfe; // some key frames
    const base = crypto.getRandomValues(new Uint8Array(16));
    const kid = crypto.getRandomValues(new Uint32Array(1))[0] * 65536 + i;
    const s = new sf.SFrameSender();
    await s.setKey(kid, base);
    interop.push({ kind, kid, base_key: hex(base), frame: hex(frame), encrypted: hex(await s.encrypt(kind, frame)) });
  }

  const worker = await inAWorker(shared.frames.find((f) => f.name === "VP8 key frame") || shared.frames[0]);
  if (worker.error) fail("worker", worker.error);
  if (!worker.inWorker) fail("worker", "did not run in a WorkerGlobalScope");

  return { checked, failures, data: { worker, interop, inWorker } };
}

/** @param {...Uint8Array} parts */
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}

/**
 * Starts this file as a module Worker, has it encrypt and decrypt vector v,
 * and compares with the vector's bytes.
 */
function inAWorker(v) {
  return new Promise((resolve) => {
    const w = new Worker(new URL(import.meta.url), { type: "module" });
    const done = (r) => {
      w.terminate();
      resolve(r);
    };
    // Only so that a Worker that never answers fails the test instead of
    // hanging it; no timing is measured.
    const guard = setTimeout(() => done({ error: "worker did not answer within 30 s" }), 30000);
    w.onerror = (e) => {
      clearTimeout(guard);
      done({ error: `worker error: ${e.message}` });
    };
    w.onmessage = (e) => {
      if (e.data.ready) {
        w.postMessage(v);
        return;
      }
      clearTimeout(guard);
      const r = e.data;
      if (!r.error) {
        r.matches = r.encrypted === v.encrypted && r.frame === v.frame && r.kid === v.kid && r.ctr === v.ctr;
        if (!r.matches) r.error = `worker round trip: ${JSON.stringify(r)}, want ${v.encrypted}`;
      }
      done(r);
    };
  });
}
