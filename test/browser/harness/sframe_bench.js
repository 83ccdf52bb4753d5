// Per-frame cost of SFrame in a module Worker, where the client runs it
// (test/browser/sframe_bench_test.go, BenchmarkSFrameWorker; figures in
// docs/PERFORMANCE.md). For each frame size it times encrypt + decrypt of
// one frame at a time, awaited (the latency a frame sees), and with
// `inflight` frames under way at once (throughput).
//
// impl:
//   "sframe"  the client's own SFrameSender / SFrameReceiver (sframe.js:
//             WebCrypto AES-GCM, non-extractable keys)
//   "noble"   the same SFrame bytes sealed and opened synchronously with
//             @noble/ciphers' AES-GCM on raw key bytes, loaded from
//             /noble/aes.js (the test serves $HOTLINE_NOBLE there); it
//             first checks that its output equals sframe.js's.
import * as sf from "/static/e2ee/sframe.js";

const inWorker = typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope;

/** A VP8-like delta frame of n bytes (bit 0 of the first byte set). */
function frameOf(n) {
  const f = new Uint8Array(n);
  crypto.getRandomValues(f.subarray(0, Math.min(n, 65536)));
  f[0] |= 1;
  return f;
}

const BASE = new Uint8Array(16).fill(7);
const KID = 0x1234 * 65536 + 1;

/** @param {string} [lib] another build of sframe.js to time, by URL */
async function sframeImpl(lib) {
  const m = lib ? await import(lib) : sf;
  const tx = new m.SFrameSender();
  await tx.setKey(KID, BASE);
  const rx = new m.SFrameReceiver();
  await rx.addKey(KID, BASE);
  return {
    /** @param {Uint8Array} f */
    roundTrip: async (f) => (await rx.decrypt("video", await tx.encrypt("video", f))).data,
    tx, rx,
  };
}

/** SFrame's key schedule with the AES key as bytes, for noble. */
async function rawKey(kid, base) {
  const ikm = await crypto.subtle.importKey("raw", base, "HKDF", false, ["deriveBits"]);
  const info = (p) => {
    const b = new TextEncoder().encode(p);
    const o = new Uint8Array(b.length + 10);
    o.set(b);
    const v = new DataView(o.buffer);
    v.setUint32(b.length, Math.floor(kid / 2 ** 32));
    v.setUint32(b.length + 4, kid >>> 0);
    v.setUint16(b.length + 8, 4);
    return o;
  };
  const bits = (p, n) => crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: info(p) }, ikm, n * 8);
  return { key: new Uint8Array(await bits("SFrame 1.0 Secret key ", 16)), salt: new Uint8Array(await bits("SFrame 1.0 Secret salt ", 12)) };
}

async function nobleImpl() {
  const { gcm } = await import("/noble/aes.js");
  const { key, salt } = await rawKey(KID, BASE);
  let ctr = 0;
  const nonce = (c) => {
    const n = salt.slice();
    const v = new DataView(n.buffer);
    v.setUint32(8, v.getUint32(8) ^ (c >>> 0));
    return n;
  };
  const seal = (f) => {
    const c = sf.clearBytes("video", f);
    const h = sf.encodeHeader(KID, ctr);
    const aad = new Uint8Array(h.length + c);
    aad.set(h);
    aad.set(f.subarray(0, c), h.length);
    const ct = gcm(key, nonce(ctr++), aad).encrypt(f.subarray(c));
    const out = new Uint8Array(c + h.length + ct.length);
    out.set(f.subarray(0, c));
    out.set(h, c);
    out.set(ct, c + h.length);
    return out;
  };
  const open = (e) => {
    const c = sf.clearBytes("video", e);
    const h = sf.parseHeader(e, c);
    const aad = new Uint8Array(h.length + c);
    aad.set(e.subarray(c, c + h.length));
    aad.set(e.subarray(0, c), h.length);
    const pt = gcm(key, nonce(h.ctr), aad).decrypt(e.subarray(c + h.length));
    const out = new Uint8Array(c + pt.length);
    out.set(e.subarray(0, c));
    out.set(pt, c);
    return out;
  };
  // The same bytes as the client's SFrame, or the comparison is void.
  const ref = await sframeImpl();
  const f = frameOf(1000);
  const a = seal(f), b = await ref.tx.encrypt("video", f);
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) throw new Error("noble SFrame differs from sframe.js");
  if ((await ref.rx.decrypt("video", a)).data.length !== f.length) throw new Error("sframe.js does not open noble's frame");
  ctr = 1; // b used CTR 0 of sframe.js; ours continue independently
  return { roundTrip: async (f) => open(seal(f)) };
}

const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];

/**
 * Each figure is the median of `rounds` rounds of `frames` frames, so that
 * a burst of load on a shared machine moves it less.
 * @param {{impl: string, lib?: string, sizes: number[], frames: number, rounds: number, inflight: number}} arg
 */
async function bench(arg) {
  const impl = arg.impl === "noble" ? await nobleImpl() : await sframeImpl(arg.lib);
  const out = [];
  for (const size of arg.sizes) {
    const frames = Array.from({ length: 16 }, () => frameOf(size));
    for (let i = 0; i < 50; i++) await impl.roundTrip(frames[i % 16]); // warm up
    const serial = [], inflight = [];
    for (let r = 0; r < arg.rounds; r++) {
      let t0 = performance.now();
      for (let i = 0; i < arg.frames; i++) {
        const p = await impl.roundTrip(frames[i % 16]);
        if (p.length !== size) throw new Error(`round trip gave ${p.length} bytes of ${size}`);
      }
      serial.push(((performance.now() - t0) * 1000) / arg.frames);
      t0 = performance.now();
      for (let i = 0; i < arg.frames; i += arg.inflight) {
        const batch = [];
        for (let j = 0; j < arg.inflight && i + j < arg.frames; j++) batch.push(impl.roundTrip(frames[(i + j) % 16]));
        for (const p of await Promise.all(batch)) if (p.length !== size) throw new Error(`round trip gave ${p.length} bytes of ${size}`);
      }
      inflight.push(((performance.now() - t0) * 1000) / arg.frames);
    }
    out.push({ size, serialUs: median(serial), throughputUs: median(inflight) });
  }
  return out;
}

if (inWorker) {
  self.onmessage = async (e) => {
    try {
      self.postMessage({ results: await bench(e.data) });
    } catch (err) {
      self.postMessage({ failures: [`worker threw ${err && err.stack || err}`] });
    }
  };
}

export async function run(arg) {
  const w = new Worker(import.meta.url, { type: "module" });
  const res = await new Promise((done) => {
    w.onmessage = (e) => done(e.data);
    w.onerror = (e) => done({ failures: [`worker error ${e.message}`] });
    w.postMessage(arg);
  });
  w.terminate();
  return { checked: res.results ? res.results.length : 0, failures: res.failures ?? [], data: res.results ?? null };
}
