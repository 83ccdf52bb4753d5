// @ts-check
// The page side of end-to-end encryption for one call: which roster entries
// are real, which keys go to whom, which keys the media worker holds, and the
// verification code. It implements docs/PROTOCOL.md "Roster", "Key messages"
// (with "When keys move") and "Verification code". It knows no DOM and no
// WebSocket: the caller feeds it roster and key messages in the order they
// arrived and gives it a send function and the media worker (worker.js).
//
//   const s = new E2EESession({identity, line, call, selfId, send, worker});
//   session.onroster = (p, seg) => s.setRoster(p, seg); // the roster and the call's segment
//   on 'key' message: s.handleKey(msg);              // {type, from, kid, sealed, sig}
//   s.onChange(() => show(s.state()));
//
// Everything that changes state runs in one queue, one step at a time, so a
// key message is never looked at against a roster older than the one that
// arrived before it.

import { LISTEN_FLOOR, keyed } from '../route.js';
import { verificationCode } from './code.js';
import { openKey, sealKey } from './keymsg.js';
import { Revocations } from './revocation.js';
import { checkRoster, hex, MEMBER, SELF } from './roster.js';
import { checkSegment, privateState } from './marker.js';
import { kidFor, senderTag } from './trust.js';

/** @typedef {{body: string, sig: string}} Signed */
/** @typedef {{side: string, key: string}} Pin */
/**
 * A roster entry as the server sends it (PROTOCOL.md, "Roster"). Nothing in
 * it but the credential is trusted.
 * @typedef {{id: string, device?: string, name?: string, credential?: Signed, state?: string, listening?: string, tracks?: unknown[]}} RosterEntry
 */
/** @typedef {{type?: string, from: string, kid: number, sealed: string, sig: string}} KeyMessage */
/**
 * What the session needs of the device identity (identity.js).
 * @typedef {{sigPrivate: CryptoKey, sigPub: Uint8Array, kemSeed: Uint8Array, kemPub: Uint8Array, pins: Pin[]}} SessionIdentity
 */
/** @typedef {{kid: number, epoch: number, baseKey: Uint8Array}} EpochKey */
/**
 * A verified member, as this client knows it.
 * @typedef {object} Member
 * @property {string} id participant id
 * @property {string} name from the credential
 * @property {string} side from the credential
 * @property {string[]} roles from the credential
 * @property {string} deviceId from the credential's sig_key
 * @property {Uint8Array} sigKey
 * @property {Uint8Array} kemKey
 * @property {string} keyHex sig_key in hex: the member's identity across rosters
 * @property {number} tag sender tag: the upper 32 bits of its KIDs
 * @property {Map<number, Uint8Array>} keys its keys that the worker holds, by KID
 * @property {EpochKey|null} newest its newest key
 * @property {number|null} expectNewerThan after a departure: the epoch it must move past before its key counts as current
 */
/** @typedef {{id: string, name: string, reason: string, verdict: string}} Forgery (verdict: roster.js) */
/**
 * A roster entry as this client sees it: verified ones carry what their
 * credential says, and the server's state.
 * @typedef {{id: string, name: string, verified: boolean, side?: string, roles?: string[], deviceId?: string, state?: string}} Entry
 */


const EPOCHS = 65536; // kid = sender_tag << 16 | epoch
const MAX_KID = 2 ** 48;

/** Reasons a key message is refused, all counted in state().rejected. */
const REJECT_REASONS = ['malformed', 'not_member', 'forgery', 'wrong_sender', 'old_epoch', 'replay', 'open'];

export class E2EESession {
  /**
   * @param {object} o
   * @param {SessionIdentity} o.identity this device: keys and the pinned authorities
   * @param {string} o.line
   * @param {string} o.call
   * @param {string} o.selfId this participant's id (from welcome)
   * @param {(msg: {type: 'key', to: string, kid: number, sealed: string, sig: string}) => void} o.send
   * @param {{postMessage: (msg: any) => void}} o.worker the media worker (worker.js)
   * @param {() => number} [o.now] Unix seconds, for credential validity
   * @param {number} [o.rekeyDelayMs] how long after sending a new key we start encrypting with it
   * @param {number} [o.keepOldMs] how long a sender's previous key stays usable after a newer one arrives
   * @param {number} [o.maxEpoch] our last epoch (65535, all a KID holds; tests lower it)
   * @param {() => void} [o.onExhausted] called once when a rekey is due after
   *   maxEpoch: our sender has stopped; the page leaves and joins again, and
   *   the new stay's participant id gives a new sender tag, epochs afresh
   */
  constructor({ identity, line, call, selfId, send, worker, now = () => Math.floor(Date.now() / 1000), rekeyDelayMs = 500, keepOldMs = 2000, maxEpoch = EPOCHS - 1, onExhausted = () => {} }) {
    this.identity = identity;
    this.line = line;
    this.call = call;
    this.selfId = selfId;
    this.send = send;
    this.worker = worker;
    this.now = now;
    this.rekeyDelayMs = rekeyDelayMs;
    this.keepOldMs = keepOldMs;
    this.maxEpoch = Number.isInteger(maxEpoch) && maxEpoch >= 0 && maxEpoch < EPOCHS ? maxEpoch : EPOCHS - 1;
    this.onExhausted = onExhausted;

    /** @type {Map<string, Member>} verified members other than us, by participant id */
    this.members = new Map();
    /** @type {{id: string, name: string, verified: boolean}[]} the latest roster, in its order */
    this.entries = [];
    /** @type {Forgery[]} */
    this.forgeries = [];
    /** @type {EpochKey|null} our current sender key */
    this.key = null;
    /** @type {Map<string, number>} participant id → the KID of ours it has been sent */
    this.sentTo = new Map();
    /** @type {string|null} */
    this.code = null;
    /** @type {string[]} */
    this.pendingFor = [];
    /** @type {Record<string, number>} */
    this.rejected = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0]));
    this.keysSent = 0;
    /** @type {string[]} failures of our own (a seal that threw, epochs exhausted) */
    this.errors = [];
    this.closed = false;
    this.ownHex = hex(identity.sigPub);
    /** @type {number|null} our sender tag (of our key and selfId), known after the first roster */
    this.ownTag = null;
    /** @type {{side: string, roles: string[], deviceId: string, expires: number}|null} what our own roster entry's credential says */
    this.selfInfo = null;
    /** our roster entry says we are in the call (not the lobby or bench) and our roles receive media */
    this.selfIn = false;
    /** maxEpoch (65535) is over: our sender has stopped for good in this stay */
    this.exhausted = false;
    /** a rekey failed: our sender has stopped until a fresh key is in place */
    this.stalled = false;
    /** the newest verified revocation list of each side (PROTOCOL.md, "Revocation"); never goes back */
    this.revocations = new Revocations();
    /** revocation lists refused: not verified against our pins, or older than the one held */
    this.revocationsRefused = 0;

    /** the segment as this client believes it (the last marker it verified) */
    this.segment = privateState();
    /** why the last roster's segment was refused ('' if it was not) */
    this.segmentError = '';
    /** @type {Set<() => void>} */
    this.listeners = new Set();
    /** @type {Set<ReturnType<typeof setTimeout>>} */
    this.timers = new Set();
    /** @type {Promise<void>} */
    this.queue = Promise.resolve();
  }

  // ---- input ----

  /**
   * A new roster: verify every entry, drop departed members' keys, rekey if
   * a verified member left, and send our current key to whoever lacks it.
   * @param {RosterEntry[]} participants
   * @param {string} [segment] the call's segment (the roster's), 'private' by default
   * @param {{body: string, sig: string}[]} [revocations] the roster's signed revocation lists
   * @param {import('./marker.js').Marker|null} [marker] the roster's segment marker
   * @returns {Promise<void>} settles once handled
   */
  setRoster(participants, segment = 'private', revocations = [], marker = null) {
    return this.#enqueue(async () => {
      // The segment decides whether the press gets keys: taken from the
      // marker, failing closed (PROTOCOL.md, "Segments"; marker.js).
      const c = await checkSegment(String(segment), marker, this.line, this.call, this.identity.pins, this.now(), this.segment);
      this.segment = c.state;
      this.segmentError = c.error;
      await this.#setRoster(Array.isArray(participants) ? participants : [], c.state.segment, Array.isArray(revocations) ? revocations : []);
    });
  }

  /**
   * A key message relayed by the server. Accepted keys go to the worker;
   * anything else is dropped and counted in state().rejected.
   * @param {KeyMessage} msg
   * @returns {Promise<void>} settles once handled
   */
  handleKey(msg) {
    return this.#enqueue(() => this.#handleKey(msg));
  }

  /**
   * Calls cb after every change of state(). Returns a function that stops it.
   * @param {() => void} cb
   */
  onChange(cb) {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Resolves once everything handed in so far has been handled. */
  idle() {
    return this.queue;
  }

  /**
   * The sender tag of a verified member's KIDs, for the receive transforms
   * of its tracks (worker.js option senderTag); null if it is not one.
   * @param {string} id
   */
  senderTagOf(id) {
    return this.members.get(id)?.tag ?? null;
  }

  /**
   * Sends our current key to every member again with the next roster: after
   * the session resumed over a new socket, a key message sent on the old
   * one may never have arrived (PROTOCOL.md, "Resuming").
   */
  resendKeys() {
    this.sentTo.clear();
  }

  /** Stops timers; later input is ignored. */
  close() {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.listeners.clear();
  }

  /**
   * A snapshot for the UI and the tests.
   */
  state() {
    return {
      /** the verification code, null while pending */
      code: this.code,
      /** verified members whose current key we do not hold yet */
      pendingFor: [...this.pendingFor],
      forgeries: this.forgeries.map((f) => ({ ...f })),
      /** every roster entry, in roster order; `verified` is false for forgeries */
      members: this.entries.map((e) => {
        const m = this.members.get(e.id);
        const self = e.id === this.selfId && e.verified;
        return {
          id: e.id,
          name: e.name,
          side: e.side ?? '',
          roles: [...(e.roles ?? [])],
          deviceId: e.deviceId ?? '',
          verified: e.verified,
          self: e.id === this.selfId,
          /** the roster's state: "in", "waiting" (lobby) or "bench" */
          state: e.state ?? '',
          /** whether keys go to it (in the call, and its roles receive media) */
          keyed: !!m,
          kid: self ? this.key?.kid ?? null : m?.newest?.kid ?? null,
        };
      }),
      /** our current epoch and KID (-1 and null before the first roster) */
      epoch: this.key?.epoch ?? -1,
      kid: this.key?.kid ?? null,
      /** the call's segment as verified: 'public' or 'private', who signed it, and a refusal */
      segment: this.segment.segment,
      segmentBy: this.segment.by,
      segmentError: this.segmentError,
      /** the verified marker's seq (0: none yet) and time (Unix ms; 0: none) */
      segmentSeq: this.segment.seq, segmentAt: this.segment.marker?.at ?? 0,
      rejected: { ...this.rejected },
      keysSent: this.keysSent,
      errors: [...this.errors],
      /** revocation lists refused, and the devices the held lists name */
      revocationsRefused: this.revocationsRefused,
      /** when our own credential expires (Unix seconds), null before our entry was verified */
      selfExpires: this.selfInfo?.expires ?? null,
      revoked: [...this.revocations.bySide.values()].flatMap((l) => l.devices),
    };
  }

  // ---- the queue ----

  /** @param {() => Promise<void>} step */
  #enqueue(step) {
    const run = this.queue.then(async () => {
      if (this.closed) return;
      try {
        await step();
      } catch (err) {
        this.errors.push(err instanceof Error ? err.message : String(err));
      }
      this.#changed();
    });
    this.queue = run;
    return run;
  }

  #changed() {
    for (const cb of this.listeners) {
      try {
        cb();
      } catch (err) {
        this.errors.push(`onChange: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  /** Runs fn in the queue after ms. @param {number} ms @param {() => Promise<void>|void} fn */
  #later(ms, fn) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.#enqueue(async () => fn());
    }, ms);
    this.timers.add(t);
  }

  // ---- roster ----

  /** @param {RosterEntry[]} participants @param {string} segment @param {{body: string, sig: string}[]} revocations */
  async #setRoster(participants, segment, revocations) {
    this.ownTag ??= await senderTag(this.identity.sigPub, this.selfId);
    // PROTOCOL.md "Revocation": each list verified against our pins; an
    // older one is refused and the held one stays in force, even in a
    // roster that leaves it out.
    for (const r of revocations) {
      const res = await this.revocations.add(r, this.identity.pins, this.line);
      if (res !== 'added' && res !== 'repeat') this.revocationsRefused++;
    }
    // PROTOCOL.md "Roster": the verdict on every entry (roster.js).
    const checked = await checkRoster(participants, { selfId: this.selfId, sigPub: this.identity.sigPub }, this.identity.pins, this.now(),
      (d) => this.revocations.revoked(d));
    // Our media as the routing rule sees it, were we in the call (whether
    // we are is selfIn's business: out of the call we send no keys at all).
    const selfAt = participants.findIndex((p) => p?.id === this.selfId);
    const selfWho = selfAt >= 0 && checked[selfAt].verdict === SELF ? checked[selfAt].who : null;
    const self = {
      state: 'in',
      roles: selfWho ? selfWho.roles : [],
      listening: listeningOf(participants[selfAt]),
    };
    /** @type {Map<string, Member>} */
    const verified = new Map();
    /** @type {Forgery[]} */
    const forgeries = [];
    /** @type {Entry[]} */
    const entries = [];
    let selfIn = false;
    /** @type {{side: string, roles: string[], deviceId: string, expires: number}|null} */
    let selfInfo = null;
    participants.forEach((p, i) => {
      const { verdict, reason, who } = checked[i];
      const id = typeof p?.id === 'string' ? p.id : '';
      if (verdict !== SELF && verdict !== MEMBER) {
        const name = who ? who.name : typeof p?.name === 'string' ? p.name : '';
        forgeries.push({ id, name, reason, verdict });
        entries.push({ id, name, verified: false });
        return;
      }
      const m = /** @type {import('./roster.js').Verified} */ (who);
      const state = typeof p?.state === 'string' ? p.state : '';
      entries.push({ id, name: m.name, verified: true, side: m.side, roles: m.roles, deviceId: m.deviceId, state });
      if (verdict === SELF) {
        selfInfo = { side: m.side, roles: m.roles, deviceId: m.deviceId, expires: m.expires };
        // As the others judge us (below): one their media and keys would
        // go to by the routing rule (in the call and allowed to receive
        // media). The lobby, the bench and an operator send no key.
        selfIn = keyed(segment, { state, roles: m.roles, listening: listeningOf(p) }, { state: 'in', roles: [], listening: LISTEN_FLOOR });
        return;
      }
      // Keys follow the media (route.js, the server's rule too): only to
      // members our media is routed to, by the roster's state and segment
      // and the credential's roles — not the lobby or the bench, never an
      // operator. Leaving this set counts as leaving: we rekey.
      if (!keyed(segment, { state, roles: m.roles, listening: listeningOf(p) }, self)) return;
      // A member we already know keeps its keys (the same object: timers
      // hold on to it); the same id with another device key is someone else.
      const old = this.members.get(id);
      if (old && old.keyHex === m.keyHex) {
        Object.assign(old, { name: m.name, side: m.side, roles: m.roles });
        verified.set(id, old);
      } else {
        verified.set(id, { ...m, id, keys: new Map(), newest: null, expectNewerThan: null });
      }
    });

    // Departures: their keys leave the worker at once (a rejoin under a
    // new id starts again at the same KIDs), and we rekey so that they
    // cannot read what we send from now on.
    let departed = 0;
    for (const [id, old] of this.members) {
      const still = verified.get(id);
      if (still && still.keyHex === old.keyHex) continue;
      departed++;
      for (const kid of old.keys.keys()) this.worker.postMessage({ type: 'remove-key', kid });
      old.keys.clear();
      this.sentTo.delete(id);
    }
    this.members = verified;
    this.entries = entries;
    // The worker checks each received frame's KID against its publisher's
    // tag; these are the tags of the verified members, and no one else's.
    this.worker.postMessage({ type: 'sender-tags', tags: Object.fromEntries([...verified.values()].map((m) => [m.id, m.tag])) });
    this.forgeries = forgeries;
    this.selfInfo = selfInfo;
    // Out of the call (lobby, bench), the others drop our key: once back in,
    // everyone gets it again.
    if (!selfIn) this.sentTo.clear();
    this.selfIn = selfIn;
    for (const id of this.sentTo.keys()) if (!verified.has(id)) this.sentTo.delete(id);

    if (!this.key) {
      await this.#newKey(0, 0);
    } else if (departed > 0 || this.stalled) {
      try {
        await this.#newKey(this.key.epoch + 1, Date.now() + this.rekeyDelayMs);
      } catch (err) {
        // Fail closed: no fresh key, so nothing more goes out under the
        // one a departed member holds; the next roster tries again.
        if (!this.exhausted) {
          this.stalled = true;
          this.worker.postMessage({ type: 'sender-stop' });
        }
        throw err;
      }
      this.stalled = false;
      // Everyone who stayed starts a new epoch too: until their new key
      // arrives, the one we hold is not their current key.
      for (const m of this.members.values()) {
        if (!m.newest) continue;
        m.expectNewerThan = m.newest.epoch;
        const epoch = m.newest.epoch;
        // A member that saw no departure (it joined as the other left)
        // does not rekey: after a while its key counts as current again.
        this.#later(this.rekeyDelayMs + this.keepOldMs, () => {
          const now = this.members.get(m.id);
          if (now === m && m.expectNewerThan === epoch) {
            m.expectNewerThan = null;
            return this.#refreshCode();
          }
        });
      }
    }
    await this.#sendKeys();
    await this.#refreshCode();
  }

  // ---- our keys ----

  /**
   * Makes our key for `epoch` and hands it to the worker, to be used from
   * time `at` (0: at once).
   * @param {number} epoch
   * @param {number} at ms since the Unix epoch
   */
  async #newKey(epoch, at) {
    if (epoch > this.maxEpoch) {
      // No epoch follows 65535, and none wraps to a KID already used: stop
      // sending for good in this stay, and have the page join again: a new
      // participant id, a new sender tag, epochs afresh (PROTOCOL.md, "Epochs").
      if (!this.exhausted) {
        this.exhausted = true;
        this.worker.postMessage({ type: 'sender-stop' });
        this.onExhausted();
      }
      throw new Error(`this stay has used all ${this.maxEpoch + 1} epochs; joining again`);
    }
    const kid = await kidFor(this.identity.sigPub, this.selfId, epoch);
    const baseKey = crypto.getRandomValues(new Uint8Array(16));
    this.key = { kid, epoch, baseKey };
    this.worker.postMessage(at ? { type: 'sender-key', kid, baseKey, at } : { type: 'sender-key', kid, baseKey });
  }

  /** Sends our current key to every verified member that has not had it. */
  async #sendKeys() {
    const key = this.key;
    if (!key || !this.selfIn || this.exhausted || this.stalled) return; // in the lobby, on the bench, an operator, out of epochs or without a fresh key: we send nothing
    for (const m of this.members.values()) {
      if (this.sentTo.get(m.id) === key.kid) continue;
      try {
        const { sealed, sig } = await sealKey({
          senderSigPrivate: this.identity.sigPrivate,
          senderSigPub: this.identity.sigPub,
          recipientSigPub: m.sigKey,
          recipientKemPub: m.kemKey,
          kid: key.kid,
          line: this.line,
          call: this.call,
          senderId: this.selfId ?? '',
          recipientId: m.id,
          baseKey: key.baseKey,
        });
        this.send({ type: 'key', to: m.id, kid: key.kid, sealed, sig });
        this.sentTo.set(m.id, key.kid);
        this.keysSent++;
      } catch (err) {
        this.errors.push(`sealing a key for ${m.id}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  // ---- their keys ----

  /** @param {KeyMessage} msg */
  async #handleKey(msg) {
    const kid = msg?.kid;
    if (typeof msg?.from !== 'string' || typeof msg.sealed !== 'string' || typeof msg.sig !== 'string' ||
        typeof kid !== 'number' || !Number.isSafeInteger(kid) || kid < 0 || kid >= MAX_KID) {
      return this.#reject('malformed');
    }
    // PROTOCOL.md "Key messages": from a verified member, with that
    // member's sender tag, not older than the newest we hold from it, and
    // signature and HPKE good.
    const m = this.members.get(msg.from);
    if (!m) return this.#reject(this.forgeries.some((f) => f.id === msg.from) ? 'forgery' : 'not_member');
    if (Math.floor(kid / EPOCHS) !== m.tag) return this.#reject('wrong_sender');
    const epoch = kid % EPOCHS;
    if (m.newest && epoch < m.newest.epoch) return this.#reject('old_epoch');
    if (m.keys.has(kid) || m.newest?.kid === kid) return this.#reject('replay');
    /** @type {Uint8Array} */
    let baseKey;
    try {
      baseKey = bytes(await openKey({
        recipientKemSeed: this.identity.kemSeed,
        recipientSigPub: this.identity.sigPub,
        senderSigPub: m.sigKey,
        kid,
        line: this.line,
        call: this.call,
        senderId: msg.from,
        recipientId: this.selfId ?? '',
        sealed: msg.sealed,
        sig: msg.sig,
      }));
      if (baseKey.length !== 16) throw new Error('a base key is 16 bytes');
    } catch {
      return this.#reject('open');
    }
    // This runs in the queue: no roster was applied while the key was
    // being opened, so m is still a member.
    const prev = m.newest;
    m.newest = { kid, epoch, baseKey };
    m.keys.set(kid, baseKey);
    if (m.expectNewerThan !== null && epoch > m.expectNewerThan) m.expectNewerThan = null;
    this.worker.postMessage({ type: 'receiver-key', kid, baseKey });
    if (prev) {
      // Frames in flight under the previous key still decrypt for a while.
      this.#later(this.keepOldMs, () => {
        if (this.members.get(m.id) !== m || !m.keys.has(prev.kid)) return;
        m.keys.delete(prev.kid);
        this.worker.postMessage({ type: 'remove-key', kid: prev.kid });
      });
    }
    await this.#refreshCode();
  }

  /** @param {string} reason */
  #reject(reason) {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
  }

  // ---- verification code ----

  async #refreshCode() {
    const key = this.key;
    /** @type {string[]} */
    const pending = [];
    /** @type {{sigKey: Uint8Array, kid: number, baseKey: Uint8Array}[]} */
    const list = [];
    if (key) list.push({ sigKey: this.identity.sigPub, kid: key.kid, baseKey: key.baseKey });
    for (const m of this.members.values()) {
      if (!m.newest || m.expectNewerThan !== null) pending.push(m.id);
      else list.push({ sigKey: m.sigKey, kid: m.newest.kid, baseKey: m.newest.baseKey });
    }
    this.pendingFor = pending;
    if (!key || pending.length > 0) {
      this.code = null;
      return;
    }
    // Sorted by sig_key bytes, as PROTOCOL.md orders them.
    list.sort((a, b) => compareBytes(a.sigKey, b.sigKey));
    this.code = await verificationCode(this.line, this.call, list);
  }
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** @param {unknown} v @returns {Uint8Array} */
function bytes(v) {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  throw new Error('expected bytes');
}

/** A roster entry's listening choice, the floor when it names none. @param {any} p */
function listeningOf(p) {
  return typeof p?.listening === 'string' && p.listening ? p.listening : LISTEN_FLOOR;
}
