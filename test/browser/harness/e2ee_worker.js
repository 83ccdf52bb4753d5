// worker.js for real: RTCRtpScriptTransforms in module workers on two
// RTCPeerConnections of this page (loopback only, no STUN), fake camera and
// microphone. Several links run side by side:
//   ok        sender and receiver share the key → video decodes; then a key
//             change at a set time, and the old key removed → still decodes
//   nokey     the receiver lacks the key → frames dropped as unknown_kid,
//             framesDecoded stays 0 (negative control)
//   wrongtag  the receiver has the key but expects another sender tag →
//             dropped as wrong_sender, nothing decodes
//   unkeyed   the sender has no key → it drops every frame; nothing reaches
//             the receiver's transform (nothing went out in clear)
//   late      the receive transform names its publisher but no senderTag:
//             frames are dropped until the page sends the publisher's tag
//             ('sender-tags'), then video decodes
//   answerer  as the call does it: the far end offers recvonly m-lines (the
//             SFU's part), this end answers and attaches its tracks with
//             replaceTrack; both PeerConnections use encodedInsertableStreams
//             and hand their encoded streams to the workers ('streams'
//             message) → video decodes, audio decrypts
//   unpiped   the same answerer with encodedInsertableStreams whose sender
//             streams are never handed over: nothing reaches the far end
//             (the fail-closed property the call relies on)
// Observed and reported, not asserted (a Chromium behaviour, not ours):
//   scriptAnswerer  the answerer attaching RTCRtpScriptTransforms after a
//             replaceTrack: Chromium 156 ignores them and sends in clear
import { checker, waitUntil } from './e2ee_util.js';

const TAG = 0x1234abcd;
const OTHER_TAG = 0x0badf00d;
const kidOf = (tag, epoch) => tag * 65536 + epoch;
const WORKER = '/static/e2ee/worker.js';

export async function run(arg) {
  const c = checker();
  const enough = arg.frames ?? 60; // frames each link must have seen before the verdict
  const media = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  const [video] = media.getVideoTracks();
  const [audio] = media.getAudioTracks();
  const key0 = crypto.getRandomValues(new Uint8Array(16));
  const key1 = crypto.getRandomValues(new Uint8Array(16));
  const errors = [];

  const links = {
    ok: await link({ video, audio, senderKey: key0, receiverKey: key0, tag: TAG, errors }),
    nokey: await link({ video, senderKey: key0, receiverKey: null, tag: TAG, errors }),
    wrongtag: await link({ video, senderKey: key0, receiverKey: key0, tag: OTHER_TAG, errors }),
    unkeyed: await link({ video, senderKey: null, receiverKey: key0, tag: TAG, errors }),
    late: await link({ video, senderKey: key0, receiverKey: key0, tag: undefined, errors }),
    answerer: await answererLink({ video, audio, key: key0, errors, mode: 'streams' }),
    unpiped: await answererLink({ video, audio, key: key0, errors, mode: 'unpiped' }),
    scriptAnswerer: await answererLink({ video, audio, key: key0, errors, mode: 'script' }),
  };

  // ok: decoding, and the counters agree.
  await waitUntil(async () => (await decoded(links.ok.rx)) >= enough, 'the keyed link to decode video');
  let so = await stats(links.ok.ws), ro = await stats(links.ok.wr);
  c.ok(so.sent.video >= enough && so.sent.audio > 0, `sender encrypted video and audio (${JSON.stringify(so.sent)})`);
  c.ok(ro.decrypted.pub?.video > 0 && ro.decrypted.pub?.audio > 0, `receiver decrypted video and audio (${JSON.stringify(ro.decrypted)})`);
  c.eq([ro.failed.auth, ro.failed.unknown_kid, ro.failed.wrong_sender, ro.failed.malformed], [0, 0, 0, 0], 'the keyed link drops nothing');
  c.eq(so.senderKid, kidOf(TAG, 0), 'the sender uses epoch 0');
  const audioIn = await inbound(links.ok.rx, 'audio');
  c.ok((audioIn?.packetsReceived ?? 0) > 0, `audio packets arrive (${audioIn?.packetsReceived})`);

  // ok: a key change announced for 300 ms later, the receiver told first.
  links.ok.wr.postMessage({ type: 'receiver-key', kid: kidOf(TAG, 1), baseKey: key1 });
  links.ok.ws.postMessage({ type: 'sender-key', kid: kidOf(TAG, 1), baseKey: key1, at: Date.now() + 300 });
  await waitUntil(async () => (await stats(links.ok.ws)).senderKid === kidOf(TAG, 1), 'the sender to switch to epoch 1');
  links.ok.wr.postMessage({ type: 'remove-key', kid: kidOf(TAG, 0) });
  const afterRemove = await stats(links.ok.wr); // the worker handles messages in order: epoch 0 is gone now
  c.eq(afterRemove.receiverKids, [kidOf(TAG, 1)], 'the receiver holds only the epoch-1 key');
  const d1 = await decoded(links.ok.rx);
  await waitUntil(async () => (await decoded(links.ok.rx)) >= d1 + enough, 'video to keep decoding under the new key');
  ro = await stats(links.ok.wr);
  c.eq(ro.failed.auth, 0, 'no authentication failure across the key change');
  // The sender refuses a KID it has already used (CTR would restart: nonce reuse).
  const errBefore = errors.length;
  links.ok.ws.postMessage({ type: 'sender-key', kid: kidOf(TAG, 0), baseKey: key0 });
  await stats(links.ok.ws);
  c.ok(errors.length === errBefore + 1 && /already used/.test(errors.at(-1)), `a reused sender KID is refused (${errors.at(-1)})`);
  // Fail closed (issue 10, item 4): the refusal stops the sender at once,
  // rather than leave it on a key a departed member may hold; the next good
  // key starts it again, and the receiver decodes under that one.
  c.eq((await stats(links.ok.ws)).senderKid, null, 'a refused sender key stops the sender');
  const stoppedAt = (await stats(links.ok.ws)).dropped.video;
  await waitUntil(async () => (await stats(links.ok.ws)).dropped.video > stoppedAt, 'the stopped sender to drop frames');
  links.ok.wr.postMessage({ type: 'receiver-key', kid: kidOf(TAG, 2), baseKey: key0 });
  links.ok.ws.postMessage({ type: 'sender-key', kid: kidOf(TAG, 2), baseKey: key0 });
  c.eq((await stats(links.ok.ws)).senderKid, kidOf(TAG, 2), 'a fresh key starts the sender again');
  const d2 = await decoded(links.ok.rx);
  await waitUntil(async () => (await decoded(links.ok.rx)) >= d2 + 5, 'video to decode under the fresh key');

  // nokey: frames flow, all dropped as unknown KID, nothing decodes.
  await waitUntil(async () => (await stats(links.nokey.wr)).failed.unknown_kid >= enough, 'the keyless receiver to drop frames');
  const nk = await stats(links.nokey.wr);
  const nkDecoded = await decoded(links.nokey.rx);
  c.eq(nkDecoded, 0, 'negative control: no frame decodes without the key');
  c.eq(nk.decrypted.pub?.video ?? 0, 0, 'negative control: nothing decrypted');

  // wrongtag: frames dropped before decryption.
  await waitUntil(async () => (await stats(links.wrongtag.wr)).failed.wrong_sender >= enough, 'the receiver to drop frames of the wrong sender');
  const wt = await stats(links.wrongtag.wr);
  c.eq([await decoded(links.wrongtag.rx), wt.decrypted.pub?.video ?? 0, wt.failed.unknown_kid], [0, 0, 0], 'frames with another sender tag are dropped, even with the key');

  // unkeyed: the sender drops everything; the receiver's transform sees nothing at all.
  await waitUntil(async () => (await stats(links.unkeyed.ws)).dropped.video >= enough, 'the unkeyed sender to drop frames');
  const us = await stats(links.unkeyed.ws), ur = await stats(links.unkeyed.wr);
  const seen = ur.decrypted.pub.video + Object.values(ur.failed).reduce((a, b) => a + b, 0);
  c.eq([us.sent.video, seen, await decoded(links.unkeyed.rx)], [0, 0, 0], 'a sender without a key sends no frame (none arrives, in clear or otherwise)');

  // late: dropped while the publisher's tag is unknown, decoded once it is.
  await waitUntil(async () => (await stats(links.late.wr)).failed.wrong_sender >= 20, 'frames of a publisher with no known tag to be dropped');
  c.eq([await decoded(links.late.rx), (await stats(links.late.wr)).decrypted.pub?.video ?? 0], [0, 0], 'nothing decodes before the publisher\'s tag is known');
  links.late.wr.postMessage({ type: 'sender-tags', tags: { someone: OTHER_TAG } });
  const lateWrong = (await stats(links.late.wr)).failed.wrong_sender;
  await waitUntil(async () => (await stats(links.late.wr)).failed.wrong_sender >= lateWrong + 20, 'more frames dropped while only others\' tags are known');
  c.eq(await decoded(links.late.rx), 0, 'another participant\'s tag does not open this track');
  links.late.wr.postMessage({ type: 'sender-tags', tags: { pub: TAG, someone: OTHER_TAG } });
  await waitUntil(async () => (await decoded(links.late.rx)) >= enough, 'video to decode once the publisher\'s tag is known');
  const late = await stats(links.late.wr);

  // answerer: the call's shape, with insertable streams: decodes.
  await waitUntil(async () => (await decoded(links.answerer.rx)) >= enough, 'the answering link to decode video');
  const as = await stats(links.answerer.ws), ar = await stats(links.answerer.wr);
  c.ok(as.sent.video >= enough && as.sent.audio > 0, `answerer encrypted video and audio (${JSON.stringify(as.sent)})`);
  c.ok(ar.decrypted.pub?.video > 0 && ar.decrypted.pub?.audio > 0, `far end decrypted video and audio (${JSON.stringify(ar.decrypted)})`);
  c.eq([ar.failed.auth, ar.failed.unknown_kid, ar.failed.wrong_sender, ar.failed.malformed], [0, 0, 0, 0], 'the answering link drops nothing: no frame went out in clear');
  // unpiped: frames are produced but none leaves (checked once the answerer has sent plenty).
  const up = await inbound(links.unpiped.rx, 'video'), upa = await inbound(links.unpiped.rx, 'audio');
  c.eq([up?.packetsReceived ?? 0, upa?.packetsReceived ?? 0, await decoded(links.unpiped.rx)], [0, 0, 0], 'with insertable streams, a sender whose streams are not piped sends nothing');
  // scriptAnswerer: observed only.
  const sa = await stats(links.scriptAnswerer.ws), sr = await stats(links.scriptAnswerer.wr);
  const scriptAnswerer = { senderWorkerSent: sa.sent, receiverFailed: sr.failed, farEndFramesDecoded: await decoded(links.scriptAnswerer.rx) };

  c.eq(errors.slice(0, errBefore), [], 'no worker errors besides the refused KID');
  so = await stats(links.ok.ws);
  ro = await stats(links.ok.wr);
  const data = {
    ok: { framesDecoded: await decoded(links.ok.rx), sent: so.sent, decrypted: ro.decrypted.pub, failed: ro.failed },
    nokey: { framesDecoded: nkDecoded, failed: nk.failed, sent: (await stats(links.nokey.ws)).sent },
    wrongtag: { framesDecoded: await decoded(links.wrongtag.rx), failed: wt.failed },
    unkeyed: { dropped: us.dropped, sent: us.sent, receiverSaw: seen },
    late: { framesDecoded: await decoded(links.late.rx), droppedBeforeTag: late.failed.wrong_sender, decrypted: late.decrypted.pub },
    answerer: { framesDecoded: await decoded(links.answerer.rx), sent: as.sent, decrypted: ar.decrypted.pub },
    unpiped: { packetsReceived: (up?.packetsReceived ?? 0) + (upa?.packetsReceived ?? 0) },
    scriptAnswerer,
  };
  for (const l of Object.values(links)) l.close();
  media.getTracks().forEach((t) => t.stop());
  return { checked: c.checked, failures: c.failures, data };
}

/** Two connected peer connections with a send and a receive transform, each in its own worker. */
async function link({ video, audio, senderKey, receiverKey, tag, errors }) {
  const ws = new Worker(WORKER, { type: 'module' });
  const wr = new Worker(WORKER, { type: 'module' });
  for (const w of [ws, wr]) {
    w.addEventListener('message', (ev) => { if (ev.data?.type === 'error') errors.push(ev.data.message); });
    w.addEventListener('error', (ev) => errors.push(`worker error: ${ev.message}`));
  }
  if (senderKey) ws.postMessage({ type: 'sender-key', kid: kidOf(TAG, 0), baseKey: senderKey });
  if (receiverKey) wr.postMessage({ type: 'receiver-key', kid: kidOf(TAG, 0), baseKey: receiverKey });
  const tx = new RTCPeerConnection({ iceServers: [] });
  const rx = new RTCPeerConnection({ iceServers: [] });
  tx.onicecandidate = (e) => e.candidate && rx.addIceCandidate(e.candidate);
  rx.onicecandidate = (e) => e.candidate && tx.addIceCandidate(e.candidate);
  rx.ontrack = (e) => {
    const opts = { direction: 'recv', kind: e.track.kind, participant: 'pub' };
    if (tag !== undefined) opts.senderTag = tag;
    e.receiver.transform = new RTCRtpScriptTransform(wr, opts);
  };
  const stream = new MediaStream();
  for (const t of [video, audio]) {
    if (!t) continue;
    const s = tx.addTrack(t, stream);
    s.transform = new RTCRtpScriptTransform(ws, { direction: 'send', kind: t.kind });
  }
  await tx.setLocalDescription();
  await rx.setRemoteDescription(tx.localDescription);
  await rx.setLocalDescription();
  await tx.setRemoteDescription(rx.localDescription);
  return { tx, rx, ws, wr, close() { tx.close(); rx.close(); ws.terminate(); wr.terminate(); } };
}

/**
 * The call's shape: rx offers recvonly audio and video (as the SFU does), tx
 * answers and attaches its tracks to those transceivers. mode 'streams':
 * insertable streams on both ends, handed to the workers; 'unpiped': tx's
 * sender streams are never taken; 'script': RTCRtpScriptTransforms set
 * after each replaceTrack, the far end with insertable streams.
 */
async function answererLink({ video, audio, key, errors, mode }) {
  const ws = new Worker(WORKER, { type: 'module' });
  const wr = new Worker(WORKER, { type: 'module' });
  for (const w of [ws, wr]) {
    w.addEventListener('message', (ev) => { if (ev.data?.type === 'error') errors.push(ev.data.message); });
    w.addEventListener('error', (ev) => errors.push(`worker error: ${ev.message}`));
  }
  ws.postMessage({ type: 'sender-key', kid: kidOf(TAG, 0), baseKey: key });
  wr.postMessage({ type: 'receiver-key', kid: kidOf(TAG, 0), baseKey: key });
  const rx = new RTCPeerConnection({ iceServers: [], encodedInsertableStreams: true });
  const tx = new RTCPeerConnection({ iceServers: [], encodedInsertableStreams: mode !== 'script' });
  tx.onicecandidate = (e) => e.candidate && rx.addIceCandidate(e.candidate);
  rx.onicecandidate = (e) => e.candidate && tx.addIceCandidate(e.candidate);
  for (const kind of ['audio', 'video']) {
    const tr = rx.addTransceiver(kind, { direction: 'recvonly' });
    const { readable, writable } = tr.receiver.createEncodedStreams();
    wr.postMessage({ type: 'streams', options: { direction: 'recv', kind, participant: 'pub', senderTag: TAG }, readable, writable }, [readable, writable]);
  }
  await rx.setLocalDescription();
  await tx.setRemoteDescription(rx.localDescription);
  for (const tr of tx.getTransceivers()) {
    const kind = tr.receiver.track.kind;
    tr.direction = 'sendonly';
    await tr.sender.replaceTrack(kind === 'audio' ? audio : video);
    if (mode === 'streams') {
      const { readable, writable } = tr.sender.createEncodedStreams();
      ws.postMessage({ type: 'streams', options: { direction: 'send', kind }, readable, writable }, [readable, writable]);
    } else if (mode === 'script') {
      tr.sender.transform = new RTCRtpScriptTransform(ws, { direction: 'send', kind });
    }
  }
  await tx.setLocalDescription();
  await rx.setRemoteDescription(tx.localDescription);
  return { tx, rx, ws, wr, close() { tx.close(); rx.close(); ws.terminate(); wr.terminate(); } };
}

let seq = 0;
/** The worker's counters. */
function stats(w) {
  const id = ++seq;
  return new Promise((resolve) => {
    const on = (ev) => {
      if (ev.data?.type !== 'stats' || ev.data.id !== id) return;
      w.removeEventListener('message', on);
      resolve(ev.data);
    };
    w.addEventListener('message', on);
    w.postMessage({ type: 'stats', id });
  });
}

async function inbound(pc, kind) {
  for (const r of (await pc.getStats()).values()) if (r.type === 'inbound-rtp' && r.kind === kind) return r;
  return null;
}

async function decoded(pc) {
  return (await inbound(pc, 'video'))?.framesDecoded ?? 0;
}
