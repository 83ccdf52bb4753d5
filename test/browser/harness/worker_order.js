// The media worker (static/e2ee/worker.js) under a burst of frames of very
// different sizes, through its 'streams' form: every frame's crypto starts
// at once and finishes when it will, yet frames must leave each stream in
// the order they came, none lost, and decrypt to what was sent.
// test/browser/worker_order_test.go calls run().
import { checker } from './e2ee_util.js';

const TAG = 0x1234abcd;
const KID = TAG * 65536;
const WORKER = '/static/e2ee/worker.js';

/** Frame i: VP8-like, a key frame every 30 (bit 0 of byte 0 clear), sizes from 40 B to 30 KB. */
function frame(i) {
  const size = i % 30 === 0 ? 30000 : i % 3 === 0 ? 40 : 1000 + (i * 7919) % 9000;
  const data = new Uint8Array(size);
  for (let j = 0; j < size; j++) data[j] = (i * 31 + j) & 0xff;
  data[0] = i % 30 === 0 ? 0x10 : 0x11;
  return { seq: i, data: data.buffer };
}

/** Pipes frames through worker w as one stream and collects what comes out. */
async function through(w, options, frames) {
  const out = [];
  let release;
  const ended = new Promise((r) => { release = r; });
  const readable = new ReadableStream({
    start(c) {
      for (const f of frames) c.enqueue(f); // all at once: a burst
      c.close();
    },
  });
  const writable = new WritableStream({
    write(f) { out.push(f); if (out.length === frames.length) release(); },
  });
  w.postMessage({ type: 'streams', options, readable, writable }, [readable, writable]);
  let timer;
  const guard = new Promise((_, fail) => {
    // A hang guard, not a measurement.
    timer = setTimeout(() => fail(new Error(`${options.direction}: ${out.length} of ${frames.length} frames came out`)), 60000);
  });
  try {
    await Promise.race([ended, guard]);
  } finally {
    clearTimeout(timer);
  }
  return out;
}

function stats(w) {
  return new Promise((resolve) => {
    const on = (ev) => {
      if (ev.data?.type === 'stats') {
        w.removeEventListener('message', on);
        resolve(ev.data);
      }
    };
    w.addEventListener('message', on);
    w.postMessage({ type: 'stats' });
  });
}

export async function run(arg) {
  const c = checker();
  const n = arg.frames ?? 300;
  const key = crypto.getRandomValues(new Uint8Array(16));
  const ws = new Worker(WORKER, { type: 'module' });
  const wr = new Worker(WORKER, { type: 'module' });
  const errors = [];
  for (const w of [ws, wr]) w.addEventListener('message', (ev) => { if (ev.data?.type === 'error') errors.push(ev.data.message); });
  ws.postMessage({ type: 'sender-key', kid: KID, baseKey: key });
  wr.postMessage({ type: 'receiver-key', kid: KID, baseKey: key });

  const sent = Array.from({ length: n }, (_, i) => frame(i));
  const plain = sent.map((f) => new Uint8Array(f.data.slice(0)));
  const enc = await through(ws, { direction: 'send', kind: 'video' }, sent);
  c.eq(enc.map((f) => f.seq), plain.map((_, i) => i), 'encrypted frames leave in the order they came');
  c.ok(enc.every((f, i) => f.data.byteLength > plain[i].length), 'every frame grew by its header and tag');

  const dec = await through(wr, { direction: 'recv', kind: 'video', participant: 'pub', senderTag: TAG }, enc);
  c.eq(dec.map((f) => f.seq), plain.map((_, i) => i), 'decrypted frames leave in the order they came');
  let same = 0;
  dec.forEach((f, i) => {
    const d = new Uint8Array(f.data);
    if (d.length === plain[i].length && d.every((x, j) => x === plain[i][j])) same++;
  });
  c.eq(same, n, 'frames decrypted to what was sent');

  const so = await stats(ws), ro = await stats(wr);
  c.eq([so.sent.video, so.latency.send.n], [n, n], 'the sender counted every frame and its time in the worker');
  c.eq([ro.decrypted.pub?.video, ro.latency.recv.n], [n, n], 'the receiver counted every frame and its time in the worker');
  c.eq(Object.values(ro.failed).reduce((a, b) => a + b, 0), 0, 'the receiver dropped nothing (no replay, no auth failure)');
  c.eq(errors, [], 'no worker errors');
  ws.terminate();
  wr.terminate();
  return { checked: c.checked, failures: c.failures, data: { send: so.latency.send, recv: ro.latency.recv } };
}
