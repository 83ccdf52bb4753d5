// E2EESession (static/e2ee/session.js): three sessions in one page, wired
// through a fake relay that routes "key" messages by participant id and adds
// `from`, as the server does. Workers are fakes that record what the session
// tells them.
//   run({phase: 'devices', devices: [{key, side, name, roles}]}) → data.requests {key: {body, sig}}
//   run({phase: 'session', credentials: {key: {body, sig}}, pins: [{side, key}]})
// The Go test signs the requests with internal/trust in between.
import { sealKey } from '/static/e2ee/keymsg.js';
import { E2EESession } from '/static/e2ee/session.js';
import { kidFor, makeRequest, newDeviceKeys } from '/static/e2ee/trust.js';
import { b64u, checker, equalBytes, sleep, waitUntil } from './e2ee_util.js';

const LINE = 'east-west';
const CALL = 'summit';
const REKEY_MS = 300;
const KEEP_OLD_MS = 400;
const CODE = /^\d{4} \d{4} \d{4} \d{4} \d{4}$/;

/** @type {Record<string, {key: string, side: string, name: string, roles: string[], k: any, request: any}>} */
const devices = {};

export async function run(arg) {
  if (arg.phase === 'devices') {
    const requests = {};
    for (const d of arg.devices) {
      const k = await newDeviceKeys();
      const request = await makeRequest({
        side: d.side, name: d.name, roles: d.roles,
        sigPrivate: k.sigKeyPair.privateKey, sigPub: k.sigPub, kemPub: k.kemPub,
        created: Math.floor(Date.now() / 1000),
      });
      devices[d.key] = { ...d, k, request };
      requests[d.key] = request;
    }
    return { checked: 0, failures: [], data: { requests } };
  }
  if (arg.phase === 'session') return sessionScenario(arg.credentials, arg.pins, arg.revocations);
  throw new Error(`unknown phase ${arg.phase}`);
}

function fakeWorker() {
  return { log: [], postMessage(m) { this.log.push(m); } };
}

async function sessionScenario(creds, pins, revocations) {
  const c = checker();
  const relay = { log: [], delivered: [], online: new Map(), inflight: 0 };
  const ident = (key) => {
    const d = devices[key];
    return { sigPrivate: d.k.sigKeyPair.privateKey, sigPub: d.k.sigPub, kemSeed: d.k.kemSeed, kemPub: d.k.kemPub, pins, credential: creds[key] };
  };
  const entry = (id, key, tracks = [{ id: 'cam0', kind: 'video', source: 'camera' }]) =>
    ({ id, device: '0000000000000000', name: devices[key].name, credential: creds[key], state: 'in', tracks });
  const sendFrom = (fromId) => (msg) => {
    const keys = Object.keys(msg).sort().join(',');
    c.ok(msg.type === 'key' && keys === 'kid,sealed,sig,to,type', `${fromId} sent a well-formed key message (${keys})`);
    relay.log.push({ from: fromId, to: msg.to, kid: msg.kid });
    const target = relay.online.get(msg.to);
    if (!target) return;
    relay.inflight++;
    setTimeout(() => {
      const relayed = { type: 'key', from: fromId, kid: msg.kid, sealed: msg.sealed, sig: msg.sig };
      relay.delivered.push({ to: msg.to, msg: relayed });
      target.handleKey(relayed).finally(() => relay.inflight--);
    }, 0);
  };
  /** @type {Record<string, number>} onExhausted calls by participant id */
  const exhaustedCalls = {};
  const session = (id, key) => {
    const worker = fakeWorker();
    exhaustedCalls[id] = 0;
    const s = new E2EESession({ identity: ident(key), line: LINE, call: CALL, selfId: id, send: sendFrom(id), worker, rekeyDelayMs: REKEY_MS, keepOldMs: KEEP_OLD_MS,
      onExhausted: () => { exhaustedCalls[id]++; } });
    relay.online.set(id, s);
    return { s, worker };
  };
  const settle = async (sessions) => {
    for (;;) {
      const n = relay.log.length;
      await Promise.all(sessions.map((x) => x.s.idle()));
      await sleep(20);
      if (relay.inflight === 0 && relay.log.length === n) return;
    }
  };
  // KIDs carry the sender tag of a device key in one stay (participant id).
  const stayOf = { A: 'a1', B: 'b1', C: 'c1', M: 'f1' };
  const kid = (key, epoch, id = stayOf[key]) => kidFor(devices[key].k.sigPub, id, epoch);
  const senderKey = (w, k) => w.log.find((m) => m.type === 'sender-key' && m.kid === k);
  const deliveredTo = (to, from, k) => relay.delivered.find((d) => d.to === to && d.msg.from === from && d.msg.kid === k)?.msg;

  const A = session('a1', 'A'), B = session('b1', 'B'), C = session('c1', 'C');
  let changes = 0;
  A.s.onChange(() => changes++);
  const forged = [entry('f1', 'M'), entry('d1', 'B'), entry('e1', 'E')];
  const R1 = [entry('a1', 'A'), entry('b1', 'B'), entry('c1', 'C', []), ...forged];

  // ---- 1. everyone keyed, one code, forgeries get nothing ----
  await Promise.all([A, B, C].map((x) => x.s.setRoster(R1)));
  await settle([A, B, C]);
  const st1 = [A, B, C].map((x) => x.s.state());
  const code1 = st1[0].code;
  c.ok(typeof code1 === 'string' && CODE.test(code1), `A shows a code (${code1})`);
  c.eq(st1.map((s) => s.code), [code1, code1, code1], 'the three sessions show the same code');
  c.ok(changes > 0, 'onChange was called');
  for (const [i, who] of ['A', 'B', 'C'].entries()) {
    const s = st1[i];
    c.eq(s.pendingFor, [], `${who}: nothing pending`);
    c.eq(s.epoch, 0, `${who}: epoch 0`);
    c.eq(s.kid, await kid(who, 0), `${who}: KID = kidFor(sig_key, 0)`);
    c.eq(s.forgeries.map((f) => f.id).sort(), ['d1', 'e1', 'f1'], `${who}: forgeries listed`);
    c.eq(s.members.map((m) => [m.id, m.verified]), [['a1', true], ['b1', true], ['c1', true], ['f1', false], ['d1', false], ['e1', false]], `${who}: members and who is verified`);
    c.eq(Object.values(s.rejected).reduce((a, b) => a + b, 0), 0, `${who}: no key message rejected`);
    c.eq(s.errors, [], `${who}: no errors`);
  }
  const dup = st1[0].forgeries.find((f) => f.id === 'd1');
  c.ok(dup && /b1/.test(dup.reason), `the copied credential is reported as repeating b1's key (${dup?.reason})`);
  c.ok(st1[0].forgeries.every((f) => typeof f.reason === 'string' && f.reason.length > 0), 'every forgery has a reason');
  const mA = st1[1].members.find((m) => m.id === 'a1');
  c.eq([mA.name, mA.side, mA.roles], [devices.A.name, 'east', devices.A.roles], 'B knows A by its credential');
  c.eq(relay.log.filter((m) => ['f1', 'd1', 'e1'].includes(m.to)).length, 0, 'no key message to a forged entry');
  c.eq(relay.log.length, 6, 'six key messages: each member to the two others');
  c.ok(relay.log.some((m) => m.from === 'c1') && relay.log.some((m) => m.to === 'c1'), 'the receive-only member sends and gets keys');
  // The worker: own key at once, the others' keys exactly as their senders made them.
  const a0 = A.worker.log.find((m) => m.type === 'sender-key');
  c.ok(a0 && a0.kid === (await kid('A', 0)) && a0.at === undefined && a0.baseKey?.length === 16, 'A\'s worker gets its epoch-0 key, to use at once');
  c.eq(A.worker.log.filter((m) => m.type === 'sender-key').length, 1, 'one sender key so far');
  const tags1 = A.worker.log.filter((m) => m.type === 'sender-tags').at(-1)?.tags;
  c.eq(tags1, { b1: Math.floor((await kid('B', 0)) / 65536), c1: Math.floor((await kid('C', 0)) / 65536) }, 'A\'s worker knows the sender tags of B and C, and of no forged entry');
  for (const [other, w] of [['B', B.worker], ['C', C.worker]]) {
    const k = await kid(other, 0);
    const theirs = senderKey(w, k);
    const got = A.worker.log.find((m) => m.type === 'receiver-key' && m.kid === k);
    c.ok(got && theirs && equalBytes(got.baseKey, theirs.baseKey), `A's worker holds ${other}'s epoch-0 key as ${other} made it`);
  }
  c.eq(A.s.senderTagOf('b1'), Math.floor((await kid('B', 0)) / 65536), 'senderTagOf gives B\'s tag');
  c.eq(A.s.senderTagOf('f1'), null, 'a forgery has no sender tag');

  // ---- 2. key messages that must be refused ----
  const rej = () => ({ ...A.s.state().rejected });
  const receiverKeys = () => A.worker.log.filter((m) => m.type === 'receiver-key').length;
  const rk0 = receiverKeys();
  const b0toA = deliveredTo('a1', 'b1', await kid('B', 0));
  c.ok(!!b0toA, 'captured B\'s key message to A');
  await A.s.handleKey({ ...b0toA });
  c.eq(rej().replay, 1, 'a replayed key message is refused (replay)');
  await A.s.handleKey({ ...b0toA, from: 'c1' });
  c.eq(rej().wrong_sender, 1, 'B\'s key relayed as from C is refused (wrong sender tag)');
  await A.s.handleKey({ ...b0toA, from: 'd1' });
  const dM = devices.M;
  const mKid = await kid('M', 0);
  const mSeal = await sealKey({ senderSigPrivate: dM.k.sigKeyPair.privateKey, senderSigPub: dM.k.sigPub, recipientSigPub: devices.A.k.sigPub, recipientKemPub: devices.A.k.kemPub, kid: mKid, line: LINE, call: CALL, senderId: 'f1', recipientId: 'a1', baseKey: new Uint8Array(16).fill(7) });
  await A.s.handleKey({ type: 'key', from: 'f1', kid: mKid, ...mSeal });
  c.eq(rej().forgery, 2, 'key messages from forged entries are refused');
  await A.s.handleKey({ ...b0toA, from: 'zz' });
  c.eq(rej().not_member, 1, 'a key message from no member is refused');
  // A properly sealed epoch-1 key from B, then altered: signature or HPKE must fail.
  const dB = devices.B;
  const b1 = await kid('B', 1);
  const good = await sealKey({ senderSigPrivate: dB.k.sigKeyPair.privateKey, senderSigPub: dB.k.sigPub, recipientSigPub: devices.A.k.sigPub, recipientKemPub: devices.A.k.kemPub, kid: b1, line: LINE, call: CALL, senderId: 'b1', recipientId: 'a1', baseKey: new Uint8Array(16).fill(9) });
  await A.s.handleKey({ type: 'key', from: 'b1', kid: b1, sealed: good.sealed, sig: flip(good.sig) });
  await A.s.handleKey({ type: 'key', from: 'b1', kid: b1, sealed: flip(good.sealed), sig: good.sig });
  await A.s.handleKey({ type: 'key', from: 'b1', kid: b1 + 1, sealed: good.sealed, sig: good.sig });
  c.eq(rej().open, 3, 'altered signature, altered ciphertext and a KID other than the signed one are refused');
  await A.s.handleKey({ type: 'key', from: 'b1', kid: -1, sealed: good.sealed, sig: good.sig });
  await A.s.handleKey({ type: 'key', from: 'b1', kid: 2 ** 48, sealed: good.sealed, sig: good.sig });
  await A.s.handleKey({ type: 'key', from: 'b1', kid: b1, sealed: 5, sig: good.sig });
  c.eq(rej().malformed, 3, 'malformed key messages are refused');
  c.eq(receiverKeys(), rk0, 'no refused key reached the worker');
  c.eq(A.s.state().code, code1, 'the code did not move');

  // ---- 3. C is removed: A and B rekey, C gets nothing new ----
  const logMark = relay.log.length;
  const wMark = A.worker.log.length;
  relay.online.delete('c1');
  C.s.close();
  const R2 = R1.filter((e) => e.id !== 'c1');
  const t0 = Date.now();
  await Promise.all([A, B].map((x) => x.s.setRoster(R2)));
  await settle([A, B]);
  const st3 = [A, B].map((x) => x.s.state());
  const code3 = st3[0].code;
  c.ok(typeof code3 === 'string' && CODE.test(code3), `A shows a code after the rekey (${code3})`);
  c.eq(st3[1].code, code3, 'A and B agree after the rekey');
  c.ok(code3 !== code1, 'the code changed with the keys');
  c.eq(st3.map((s) => s.epoch), [1, 1], 'A and B moved to epoch 1');
  c.eq(st3.map((s) => s.kid), [await kid('A', 1), await kid('B', 1)], 'new KIDs are kidFor(sig_key, 1)');
  c.eq(relay.log.slice(logMark).filter((m) => m.to === 'c1').length, 0, 'nothing was sent to C after its removal');
  c.eq(relay.log.slice(logMark).map((m) => `${m.from}>${m.to}`).sort(), ['a1>b1', 'b1>a1'], 'the new keys went to the remaining member only');
  const a1Key = A.worker.log.slice(wMark).find((m) => m.type === 'sender-key');
  c.ok(a1Key && a1Key.kid === (await kid('A', 1)) && typeof a1Key.at === 'number' && a1Key.at >= t0 + REKEY_MS, `A's worker switches to the new key rekeyDelayMs later (at ${a1Key?.at} vs start ${t0})`);
  const c0 = await kid('C', 0);
  c.ok(A.worker.log.slice(wMark).some((m) => m.type === 'remove-key' && m.kid === c0), 'C\'s key left A\'s worker');
  c.eq(st3[0].members.map((m) => m.id), ['a1', 'b1', 'f1', 'd1', 'e1'], 'C is gone from A\'s members');
  c.eq(Object.keys(A.worker.log.filter((m) => m.type === 'sender-tags').at(-1)?.tags ?? {}), ['b1'], 'C\'s tag left A\'s worker');
  // B's epoch-0 key stays for keepOldMs after B's epoch-1 key, then goes.
  const b0 = await kid('B', 0);
  await waitUntil(() => A.worker.log.some((m) => m.type === 'remove-key' && m.kid === b0), "B's old key to leave A's worker");
  const iAdd = A.worker.log.findIndex((m) => m.type === 'receiver-key' && m.kid === b1);
  const iDel = A.worker.log.findIndex((m) => m.type === 'remove-key' && m.kid === b0);
  c.ok(iAdd >= 0 && iAdd < iDel, 'B\'s old key is removed only after its new one arrived');
  c.ok(!A.worker.log.some((m) => m.type === 'remove-key' && m.kid === b1), 'B\'s current key stays');

  // ---- 4. stale and replayed keys after the rekey ----
  const before = rej();
  await A.s.handleKey({ ...b0toA });
  c.eq(rej().old_epoch, before.old_epoch + 1, 'B\'s epoch-0 key message, replayed after epoch 1, is refused (old epoch)');
  const b1toA = deliveredTo('a1', 'b1', b1);
  c.ok(!!b1toA, 'captured B\'s epoch-1 key message to A');
  await A.s.handleKey({ ...b1toA });
  c.eq(rej().replay, before.replay + 1, 'B\'s epoch-1 key message, replayed, is refused');
  const dC = devices.C;
  const c1k = await kid('C', 1);
  const cSeal = await sealKey({ senderSigPrivate: dC.k.sigKeyPair.privateKey, senderSigPub: dC.k.sigPub, recipientSigPub: devices.A.k.sigPub, recipientKemPub: devices.A.k.kemPub, kid: c1k, line: LINE, call: CALL, senderId: 'c1', recipientId: 'a1', baseKey: new Uint8Array(16).fill(3) });
  await A.s.handleKey({ type: 'key', from: 'c1', kid: c1k, ...cSeal });
  c.eq(rej().not_member, before.not_member + 1, 'a key from the removed member is refused');
  c.eq(A.s.state().code, code3, 'the code did not move');

  // ---- 5. C comes back under a new id: it gets the current keys only ----
  const C2 = session('c2', 'C');
  const R3 = [...R2, entry('c2', 'C', [])];
  const mark5 = relay.log.length;
  await Promise.all([A, B, C2].map((x) => x.s.setRoster(R3)));
  await settle([A, B, C2]);
  const st5 = [A, B, C2].map((x) => x.s.state());
  c.eq(st5.map((s) => s.epoch), [1, 1, 0], 'a join does not rekey; the newcomer starts at epoch 0');
  c.ok(CODE.test(st5[0].code ?? ''), 'a code after the join');
  c.eq(st5.map((s) => s.code), [st5[0].code, st5[0].code, st5[0].code], 'all three agree after the join');
  const toC2 = relay.log.slice(mark5).filter((m) => m.to === 'c2').map((m) => [m.from, m.kid]).sort();
  c.eq(toC2, [['a1', await kid('A', 1)], ['b1', await kid('B', 1)]].sort(), 'the newcomer got the current epoch of each member, and only that');
  c.eq(relay.log.filter((m) => ['f1', 'd1', 'e1'].includes(m.to)).length, 0, 'never a key message to a forged entry');

  // What A's code is made of, for the Go side to recompute it: A's own
  // current key and the keys of B and C that A's worker holds.
  const final = { line: LINE, call: CALL, code: st5[0].code, members: [] };
  for (const m of st5[0].members.filter((m) => m.verified)) {
    const key = m.self
      ? A.worker.log.filter((x) => x.type === 'sender-key' && x.kid === m.kid).at(-1)
      : A.worker.log.filter((x) => x.type === 'receiver-key' && x.kid === m.kid).at(-1);
    const dev = { a1: 'A', b1: 'B', c2: 'C' }[m.id];
    c.ok(key && dev, `A's worker holds the current key of ${m.id}`);
    if (key && dev) final.members.push({ sigKey: b64u(devices[dev].k.sigPub), kid: m.kid, baseKey: b64u(key.baseKey) });
  }
  // ---- 5b. a rekey that cannot make a key fails closed ----
  // (issue 10, item 4): C leaves as A's random source fails. A tells its
  // worker to stop (the old key is one C holds) and sends no key; the next
  // roster, with the source back, makes a fresh key (epoch 2) and sends it.
  const mark5b = relay.log.length;
  const wMark5b = A.worker.log.length;
  const realRandom = crypto.getRandomValues;
  crypto.getRandomValues = () => { throw new Error('no entropy'); };
  try {
    await A.s.setRoster(R2);
  } finally {
    crypto.getRandomValues = realRandom;
  }
  c.eq(A.worker.log.slice(wMark5b).filter((m) => m.type === 'sender-key' || m.type === 'sender-stop').map((m) => m.type), ['sender-stop'], 'a failed rekey stops A\'s sender at once');
  c.eq(relay.log.slice(mark5b).filter((m) => m.from === 'a1').length, 0, 'A sends no key while it has no fresh one');
  c.ok(A.s.state().errors.some((e) => /no entropy/.test(e)), 'A reports the failed rekey');
  await A.s.setRoster(R3);
  await settle([A, B, C2]);
  const a2 = await kid('A', 2);
  c.eq(A.worker.log.slice(wMark5b).filter((m) => m.type === 'sender-key').map((m) => m.kid), [a2], 'the next roster puts a fresh key (epoch 2) in place');
  c.eq(relay.log.slice(mark5b).filter((m) => m.from === 'a1').map((m) => [m.to, m.kid]).sort(), [['b1', a2], ['c2', a2]], 'A sends the fresh key to the members');

  // ---- 6. no epoch follows 65535: A stops sending for good ----
  // (PROTOCOL.md, "Key messages"): as if A had rekeyed 65535 times, C
  // leaves again; A does not wrap to epoch 0, tells its worker to stop and
  // sends no key, while B rekeys as usual.
  A.s.key = { ...A.s.key, epoch: 65535 };
  const mark6 = relay.log.length;
  const wMark6 = A.worker.log.length;
  relay.online.delete('c2');
  C2.s.close();
  await Promise.all([A, B].map((x) => x.s.setRoster(R2)));
  await settle([A, B]);
  c.eq(A.worker.log.slice(wMark6).filter((m) => m.type === 'sender-key' || m.type === 'sender-stop').map((m) => m.type), ['sender-stop'], 'A\'s worker is told to stop, and gets no new sender key');
  c.eq(relay.log.slice(mark6).filter((m) => m.from === 'a1').length, 0, 'A sends no key after its last epoch');
  c.eq(relay.log.slice(mark6).filter((m) => m.from === 'b1').map((m) => m.to), ['a1'], 'B rekeys as usual');
  c.ok(A.s.state().errors.some((e) => /65536 epochs/.test(e)), 'A reports that its epochs are exhausted');
  c.eq(exhaustedCalls.a1, 1, 'A\'s onExhausted is called once (the page then joins again)');
  // A's next stay (a new participant id): epoch 0 under another sender tag,
  // so no KID of the first stay comes back.
  const A2 = session('a9', 'A');
  await A2.s.setRoster([entry('a9', 'A')]);
  await settle([A2]);
  const a9k = A2.worker.log.find((m) => m.type === 'sender-key');
  c.ok(a9k && a9k.kid === (await kid('A', 0, 'a9')) && a9k.kid % 65536 === 0 && Math.floor(a9k.kid / 65536) !== Math.floor((await kid('A', 0)) / 65536),
    'A\'s next stay starts at epoch 0 under another sender tag');
  relay.online.delete('a9');
  A2.s.close();

  // ---- 7. a revoked member is a forgery (PROTOCOL.md, "Revocation") ----
  // East's signed list names C's device: C, back in B's roster, is a
  // forgery (verdict revoked) and gets no key; the list stays in force in
  // a roster without it, and an older list is refused.
  const mark7 = relay.log.length;
  await B.s.setRoster(R3, 'private', [revocations.revokeC]);
  const c2 = () => B.s.state().forgeries.find((f) => f.id === 'c2');
  c.eq(c2()?.verdict, 'revoked', 'the revoked device is a forgery');
  c.eq(B.s.state().revoked.length, 1, 'B holds east\'s list, of one device');
  await B.s.setRoster(R3);
  await B.s.setRoster(R3, 'private', [revocations.older]);
  c.eq(c2()?.verdict, 'revoked', 'the list stays in force without it and against an older one');
  c.eq(B.s.state().revocationsRefused, 1, 'the older list is refused');
  await settle([B]);
  c.eq(relay.log.slice(mark7).filter((m) => m.to === 'c2').length, 0, 'no key goes to the revoked device');

  for (const x of [A, B]) x.s.close();
  return {
    checked: c.checked,
    failures: c.failures,
    data: { code1, code3, code5: st5[0].code, messages: relay.log.length, rejected: A.s.state().rejected, final },
  };
}

/** The same b64u string with its first character changed. */
function flip(s) {
  return (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
}
