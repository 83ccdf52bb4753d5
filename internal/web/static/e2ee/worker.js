// @ts-check
// The media side of end-to-end encryption: a module Worker that runs every
// RTCRtpScriptTransform of one call (docs/PROTOCOL.md, "Frame encryption").
//
//   const w = new Worker('/static/e2ee/worker.js', {type: 'module'});
//   sender.transform = new RTCRtpScriptTransform(w, {direction: 'send', kind: 'video'});
//   receiver.transform = new RTCRtpScriptTransform(w, {direction: 'recv', kind: 'video',
//                                                      participant: id, senderTag: tag});
// or, with a PeerConnection made with {encodedInsertableStreams: true}:
//   const {readable, writable} = sender.createEncodedStreams();
//   w.postMessage({type: 'streams', options: {direction: 'send', kind: 'video'}, readable, writable},
//                 [readable, writable]);
// The second form fails closed: such a PeerConnection sends no frame of a
// sender whose streams are not piped. RTCRtpScriptTransform does not: in
// Chromium 156 a transform set on the sender of a transceiver that a remote
// offer created, once a replaceTrack has completed on the connection, is
// ignored and the frames leave in clear (test/browser e2ee_worker.js shows
// both behaviours).
//
// Keys come from the page (session.js) by postMessage; they never leave this
// worker again. One worker serves all the call's transforms:
// - send: one SFrameSender per key, shared by all of this participant's
//   tracks, so that a key's CTR (RFC 9605 §4.4.3: never repeated under one
//   key) is one counter across tracks;
// - receive: one SFrameReceiver shared by all receive transforms; a frame
//   whose KID does not carry the sender tag of the track's publisher is
//   dropped, whatever key it names (PROTOCOL.md: "checks that the KID's
//   sender tag is the sender it expects for that track").
// Nothing is ever sent in clear: with no key yet, frames are dropped.
//
// Messages from the page:
//   {type: 'sender-key', kid, baseKey, at?}  encrypt with this key from time
//                                            `at` (ms since epoch) or at once
//   {type: 'receiver-key', kid, baseKey}     accept frames under this key
//   {type: 'remove-key', kid}                stop accepting them
//   {type: 'sender-stop'}                    send nothing more, for good (the
//                                            epochs are exhausted)
//   {type: 'sender-tags', tags: {participant: tag}}
//                                            the verified members' sender tags
//                                            (session.js sends them with each
//                                            roster), for receive transforms
//                                            made without a senderTag option
//   {type: 'streams', options, readable, writable}
//                                            a sender's or receiver's encoded
//                                            streams (createEncodedStreams),
//                                            transferred; options as above,
//                                            plus an optional `stream` name
//   {type: 'publisher', stream, participant} the receiver piped as `stream`
//                                            now carries this participant's
//                                            track (a reused m-line)
//   {type: 'stats', id?}                     → {type: 'stats', id?, sent, dropped,
//                                               decrypted, failed, seen, senderKid, receiverKids}
//                                            (seen: frames that reached each
//                                            named stream, from either form)
//   {type: 'bypass'}                         pass frames through without
//                                            SFrame, for A/B measurement; refused
//                                            unless BYPASS_BUILD (build.js: only a
//                                            binary built with -tags e2eebypass)
// and the worker posts {type: 'error', message} when a message is refused.

import { BYPASS_BUILD } from './build.js';
import { SFrameReceiver, SFrameSender, clearBytes, parseHeader } from './sframe.js';

/** @typedef {'audio'|'video'} Kind */
/**
 * @typedef {{direction: 'send'|'recv', kind: Kind, participant?: string, senderTag?: number, stream?: string}} TransformOptions
 */

/** @type {Map<string, TransformOptions>} piped streams by name, for 'publisher' */
const streams = new Map();

const TAG_SHIFT = 2 ** 16; // kid = sender_tag << 16 | epoch; KIDs go up to 2^48, beyond 32-bit operators

/** @type {SFrameSender|null} the key frames are encrypted with now */
let sender = null;
/** @type {{sender: SFrameSender, kid: number, at: number}|null} the next one, ready, waiting for its time */
let next = null;
/**
 * Every KID this worker has encrypted with or been told to. A KID set twice
 * would start a fresh SFrameSender at CTR 0 again, reusing nonces under the
 * same key; so a repeated sender KID is refused.
 * @type {Set<number>}
 */
const senderKids = new Set();

const receiver = new SFrameReceiver();
/** @type {Set<number>} */
const receiverKids = new Set();
/**
 * Participant id → the sender tag its KIDs must carry, from the page. A
 * receive transform whose options name a participant but no senderTag
 * looks it up here at each frame, so the page may attach the transform
 * before the roster is verified; until the tag is known its frames are
 * dropped (fail closed: a participant that is not a verified member has
 * no tag, and no key either).
 * @type {Map<string, number>}
 */
let senderTags = new Map();

/** Frames pass through without SFrame: only ever true in a bypass build. */
let bypass = false;

const stats = {
  /** frames encrypted and passed on, by kind */
  sent: { audio: 0, video: 0 },
  /** frames dropped on the send side because there was no key yet */
  dropped: { audio: 0, video: 0 },
  /** @type {Record<string, {audio: number, video: number}>} frames decrypted, by publisher */
  decrypted: {},
  /** frames dropped on the receive side, by reason */
  failed: { auth: 0, replay: 0, unknown_kid: 0, malformed: 0, wrong_sender: 0 },
  /** @type {Record<string, number>} frames that reached each named stream's transform, whatever became of them */
  seen: {},
  /** frames passed through without SFrame (a bypass build's 'bypass' only) */
  bypassed: 0,
  /**
   * Time each frame spent in this worker, from its transform's call to its
   * enqueue (crypto, and waiting for the stream's earlier frames), by
   * direction: count, sum and maximum in ms, and how many took over 1 and
   * over 5 ms.
   */
  latency: { send: newLatency(), recv: newLatency() },
};

function newLatency() {
  return { n: 0, sumMs: 0, maxMs: 0, over1ms: 0, over5ms: 0 };
}

// Key messages are applied strictly in order: importing a key is
// asynchronous, and a remove-key must not overtake the add it follows.
/** @type {Promise<void>} */
let queue = Promise.resolve();

self.onmessage = (ev) => {
  const msg = ev.data;
  queue = queue.then(() => handle(msg)).catch((err) => {
    self.postMessage({ type: 'error', message: `${msg?.type}: ${err instanceof Error ? err.message : String(err)}` });
  });
};

/** @param {any} msg */
async function handle(msg) {
  switch (msg?.type) {
    case 'sender-key': {
      const s = new SFrameSender();
      let kid = 0;
      try {
        kid = checkKid(msg.kid);
        const baseKey = checkKey(msg.baseKey);
        if (senderKids.has(kid)) throw new Error(`KID ${kid} was already used for sending`);
        senderKids.add(kid);
        await s.setKey(kid, baseKey);
      } catch (err) {
        // Fail closed: a key refused (a reused KID, a bad length) stops
        // the sender at once rather than leave it on the old key, which a
        // departed member may hold; the next good key starts it again.
        sender = null;
        next = null;
        throw err;
      }
      const at = typeof msg.at === 'number' ? msg.at : 0;
      if (!sender || at <= Date.now()) {
        sender = s;
        next = null;
      } else {
        next = { sender: s, kid, at };
      }
      return;
    }
    case 'sender-stop':
      // No key follows epoch 65535 (PROTOCOL.md, "Key messages"): frames
      // are dropped from now on, never sent under an old key.
      sender = null;
      next = null;
      return;
    case 'receiver-key': {
      const kid = checkKid(msg.kid);
      await receiver.addKey(kid, checkKey(msg.baseKey));
      receiverKids.add(kid);
      return;
    }
    case 'sender-tags': {
      /** @type {Map<string, number>} */
      const m = new Map();
      for (const [id, tag] of Object.entries(msg.tags ?? {})) {
        if (!Number.isInteger(tag) || tag < 0 || tag > 0xffffffff) throw new Error('bad sender tag');
        m.set(id, tag);
      }
      senderTags = m;
      return;
    }
    case 'remove-key': {
      const kid = checkKid(msg.kid);
      receiver.removeKey(kid);
      receiverKids.delete(kid);
      return;
    }
    case 'streams': {
      if (!(msg.readable instanceof ReadableStream) || !(msg.writable instanceof WritableStream)) throw new Error('streams: a readable and a writable are needed');
      attach(msg.readable, msg.writable, named(msg.options));
      return;
    }
    case 'publisher': {
      const o = streams.get(msg.stream);
      if (!o || o.direction !== 'recv') throw new Error(`publisher: no receive stream ${msg.stream}`);
      if (typeof msg.participant !== 'string') throw new Error('publisher: a participant id is needed');
      o.participant = msg.participant;
      stats.decrypted[msg.participant] ??= { audio: 0, video: 0 };
      return;
    }
    case 'bypass':
      if (!BYPASS_BUILD) throw new Error('this build has no E2EE bypass');
      bypass = true;
      return;
    case 'stats':
      self.postMessage({
        type: 'stats',
        bypass,
        ...(msg.id !== undefined ? { id: msg.id } : {}),
        ...structuredClone(stats),
        senderKid: currentSender()?.kid ?? null,
        receiverKids: [...receiverKids],
      });
      return;
    default:
      throw new Error('unknown message');
  }
}

/** @param {unknown} kid @returns {number} */
function checkKid(kid) {
  if (typeof kid !== 'number' || !Number.isSafeInteger(kid) || kid < 0 || kid >= 2 ** 48) throw new Error('bad kid');
  return kid;
}

/** @param {unknown} k @returns {Uint8Array} */
function checkKey(k) {
  if (!(k instanceof Uint8Array) || k.length !== 16) throw new Error('a base key is 16 bytes');
  return k;
}

/** The sender for this instant: the next key takes over once its time has come. */
function currentSender() {
  if (next && Date.now() >= next.at) {
    sender = next.sender;
    next = null;
  }
  return sender;
}

// The browser fires rtctransform on the worker's global scope for each
// RTCRtpScriptTransform the page attaches to a sender or receiver.
/** @param {any} event */
function onTransform(event) {
  const t = event.transformer;
  let o;
  try {
    o = named(t.options);
  } catch (err) {
    self.postMessage({ type: 'error', message: `rtctransform: ${err instanceof Error ? err.message : String(err)}` });
    return; // nothing piped: the frames go nowhere
  }
  attach(t.readable, t.writable, o);
}

/**
 * A transform's options, copied; one with a `stream` name is remembered
 * under it (for 'publisher', and counted in stats.seen).
 * @param {any} options
 * @returns {TransformOptions}
 */
function named(options) {
  /** @type {TransformOptions} */
  const o = { ...(options ?? {}) };
  if (typeof o.stream === 'string') {
    if (streams.has(o.stream)) throw new Error(`stream ${o.stream} is already piped`);
    streams.set(o.stream, o);
    stats.seen[o.stream] = 0;
  }
  return o;
}
/** @type {any} */ (self).onrtctransform = onTransform;

/**
 * Runs one sender's or receiver's frames through encryption or decryption.
 * @param {ReadableStream} readable
 * @param {WritableStream} writable
 * @param {TransformOptions} o
 */
function attach(readable, writable, o) {
  const kind = o.kind === 'audio' ? 'audio' : 'video';
  const work = o.direction === 'send' ? encryptFrame(kind) : decryptFrame(kind, o);
  const lat = o.direction === 'send' ? stats.latency.send : stats.latency.recv;
  const name = o.stream;
  // Each frame's crypto starts as soon as the frame arrives, without
  // waiting for the previous frame's (WebCrypto runs off this thread), but
  // frames leave in the order they came: each enqueue waits for the one
  // before it on this stream. The transform itself returns at once, so a
  // slow frame delays only the frames behind it, by no more than its own
  // delay.
  /** @type {Promise<unknown>} */
  let tail = Promise.resolve();
  /** @type {TransformStreamDefaultController|null} */
  let out = null;
  /** @param {number} t0 @returns {(f: any) => void} */
  const emit = (t0) => (f) => {
    if (!f || !out) return;
    const ms = performance.now() - t0;
    lat.n++;
    lat.sumMs += ms;
    if (ms > lat.maxMs) lat.maxMs = ms;
    if (ms > 1) lat.over1ms++;
    if (ms > 5) lat.over5ms++;
    try {
      out.enqueue(f);
    } catch {
      out = null; // the stream closed: the frames behind go nowhere
    }
  };
  /** @param {any} frame @param {TransformStreamDefaultController} c */
  const transform = (frame, c) => {
    out = c;
    if (name !== undefined) stats.seen[name]++;
    const t0 = performance.now();
    const done = work(frame);
    tail = tail.then(() => done).then(emit(t0), () => {});
  };
  readable
    // flush: a closing stream first lets the frames under way out.
    .pipeThrough(new TransformStream({ transform, flush: () => tail.then(() => {}) }))
    .pipeTo(writable)
    .catch(() => {
      // The track ended or the transform was replaced: nothing to do.
    });
}

/**
 * A frame passed through untouched, in a bypass build with bypass on.
 * @param {any} frame @param {Kind} kind @param {Record<Kind, number>} count
 */
function passed(frame, kind, count) {
  stats.bypassed++;
  count[kind]++;
  return frame;
}

/**
 * @param {Kind} kind
 * @returns {(frame: any) => Promise<any>} the frame to pass on, or null
 */
function encryptFrame(kind) {
  return async (frame) => {
    if (bypass) return passed(frame, kind, stats.sent);
    const s = currentSender();
    const data = new Uint8Array(frame.data);
    if (!s || data.length === 0) {
      // No key yet: the frame is dropped, never sent in clear. (An empty
      // frame carries nothing and would not survive SFrame either.)
      stats.dropped[kind]++;
      return null;
    }
    let enc;
    try {
      enc = await s.encrypt(kind, data);
    } catch {
      stats.dropped[kind]++;
      return null;
    }
    frame.data = toBuffer(enc);
    stats.sent[kind]++;
    return frame;
  };
}

/**
 * @param {Kind} kind
 * @param {TransformOptions} o read at every frame, since 'publisher' may
 *   change it: o.participant is the publisher; o.senderTag what every KID of
 *   this track must carry; if not given, the participant's tag from
 *   'sender-tags'; with neither a tag nor a participant, any key the worker
 *   holds is accepted
 * @returns {(frame: any) => Promise<any>} the frame to pass on, or null
 */
function decryptFrame(kind, o) {
  stats.decrypted[o.participant ?? ''] ??= { audio: 0, video: 0 }; // counted from zero, visible at once
  return async (frame) => {
    const { participant, senderTag } = o;
    if (bypass) return passed(frame, kind, stats.decrypted[participant ?? ''] ??= { audio: 0, video: 0 });
    const data = new Uint8Array(frame.data);
    const expected = senderTag ?? (participant === undefined ? undefined : senderTags.get(participant) ?? -1);
    if (expected !== undefined) {
      // Before any work on the frame: does its header name this track's
      // sender? (Checked again on the KID the frame authenticated under.)
      const why = headerFrom(kind, data, expected);
      if (why) {
        stats.failed[why]++;
        return null;
      }
    }
    let plain;
    try {
      plain = await receiver.decrypt(kind, data);
    } catch (err) {
      /** @type {string} */
      const why = /** @type {any} */ (err)?.kind;
      if (why === 'auth' || why === 'replay' || why === 'unknown_kid') stats.failed[why]++;
      else stats.failed.malformed++;
      return null;
    }
    if (expected !== undefined && Math.floor(plain.kid / TAG_SHIFT) !== expected) {
      stats.failed.wrong_sender++;
      return null;
    }
    frame.data = toBuffer(plain.data);
    (stats.decrypted[participant ?? ''] ??= { audio: 0, video: 0 })[kind]++;
    return frame;
  };
}

/**
 * Whether an encrypted frame's SFrame header carries the expected sender
 * tag: null if so, else why not. The header follows the clear bytes; a
 * frame shorter than its clear prefix was sent with fewer clear bytes, so
 * shorter offsets are tried too, as sframe.js's decrypt does.
 * @param {Kind} kind
 * @param {Uint8Array} data
 * @param {number} expected
 * @returns {null|'malformed'|'wrong_sender'}
 */
function headerFrom(kind, data, expected) {
  let parsed = false;
  for (let c = Math.min(clearBytes(kind, data), data.length - 1); c >= 0; c--) {
    let kid;
    try {
      kid = parseHeader(data, c).kid;
    } catch {
      continue;
    }
    parsed = true;
    if (Math.floor(kid / TAG_SHIFT) === expected) return null;
  }
  return parsed ? 'wrong_sender' : 'malformed';
}

/** An ArrayBuffer holding exactly these bytes (a view may be a window on a larger one). @param {Uint8Array} b */
function toBuffer(b) {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer;
}
