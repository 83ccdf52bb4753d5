// @ts-check
// hotline signalling client, protocol version 3 (docs/PROTOCOL.md).
//
// This module knows WebSocket and RTCPeerConnection, never the DOM, so the
// UI can change freely and another page (a kiosk, a probe) can reuse it.
// The server always offers; we only answer. Each offer carries two tables:
// `send` names the mid on which we send each of our tracks, `receive` names
// what arrives on each mid. Everything below follows from those tables.

import { signallingURL } from './endpoint.js';
import { IceWatch } from './icewatch.js';
import { errorText, fromB64u, info, parse, relayServers } from './wire.js';

export const PROTOCOL_VERSION = 3;

/** @typedef {'audio'|'video'} Kind */
/** @typedef {{id: string, kind: Kind, source: string, language?: string}} TrackInfo */
/** @typedef {{id: string, name: string, state?: string, listening?: string, interprets?: string, live?: boolean, hand_over?: boolean, tracks: TrackInfo[]}} Participant */
/**
 * What the server says arrives on one mid.
 * @typedef {{mid: string, participant: string, name: string, track: string, kind: Kind, source: string, language?: string}} ReceiveEntry
 */
/**
 * A remote track as handed to the UI: the table entry plus the media.
 * @typedef {ReceiveEntry & {mediaTrack: MediaStreamTrack, stream: MediaStream}} RemoteTrack
 */
/**
 * A track we publish. `track` is null while it is paused (camera off).
 * @typedef {{id: string, kind: Kind, source: string, track: MediaStreamTrack|null, stream: MediaStream}} LocalTrack
 */
/** @typedef {import('./wire.js').JoinAuth} JoinAuth */
/** @typedef {import('./wire.js').FrameHooks} FrameHooks */
/**
 * An error from the server (its codes are in PROTOCOL.md) or from this
 * library (code "client" or "closed").
 * @typedef {{code: string, message: string, ref?: string}} ProtocolError
 */

/** @returns {string} the signalling endpoint's WebSocket URL (endpoint.js: same origin, or the remote server in local client mode). */
export function defaultURL() {
  return signallingURL();
}

/** How long a lost socket is replaced by new ones before the session is given up (PROTOCOL.md, "Resuming"). */
const RESUME_WINDOW_MS = 8000;

/** A call name as the server accepts it (PROTOCOL.md, identifiers). */
export const CALL_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * One participant's session: one WebSocket, one RTCPeerConnection.
 * Set the on* callbacks before calling join().
 */
export class Session {
  /** @param {{url?: string, frames?: FrameHooks}} [opts] */
  constructor(opts = {}) {
    this.url = opts.url ?? defaultURL();
    /** @type {FrameHooks|null} */
    this.frames = opts.frames ?? null;
    /** @type {WeakSet<RTCRtpSender>} senders whose transform is attached */
    this.framed = new WeakSet();
    this.line = '';
    /** This participant's id, known after welcome. */
    this.id = '';
    this.call = '';
    /** @type {Participant[]} */
    this.roster = [];
    /** @type {Map<string, LocalTrack>} our tracks by track id */
    this.local = new Map();
    /** @type {Map<string, string>} track id → mid, from the latest offer */
    this.sendMids = new Map();
    /** @type {Map<string, RemoteTrack>} incoming tracks by mid */
    this.remote = new Map();
    /** @type {{ids: string[], resolve: () => void, reject: (e: Error) => void}[]} */
    this.pendingPublishes = [];
    /** Offers answered so far: a replaceTrack must not add one. */
    this.offers = 0;
    this.closed = false;
    /** The actions our roles allow (welcome.may), for the UI to offer. @type {string[]} */
    this.may = [];
    /** @type {JoinAuth|null} kept to prove again when resuming */
    this.auth = null;
    /** the socket is welcomed: messages may go out */
    this.ready = false;
    this.resuming = false;
    /** sessions carried on over a new socket */
    this.resumes = 0;

    // No STUN, and no TURN but the server's own relay, which the welcome
    // brings (iceServers of welcome): the server sends its own host
    // candidates, and nothing about this call touches a third party.
    // With frame hooks, every sender's and receiver's encoded frames go
    // through them (encodedInsertableStreams): such a connection sends no
    // frame of a sender whose streams are not piped, so nothing can leave in
    // clear by mistake.
    /** @type {RTCConfiguration & {encodedInsertableStreams?: boolean}} */
    const config = { iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' };
    if (this.frames && this.frames.insertable !== false) config.encodedInsertableStreams = true;
    this.config = config;
    this.pc = new RTCPeerConnection(config);
    this.pc.onicecandidate = (ev) => this.#sendCandidate(ev.candidate);
    // ICE restart requests (icewatch.js); an unanswered one gives the socket up.
    this.ice = new IceWatch(this.pc, () => this.#send({ type: 'restart_ice' }), () => {
      const ws = this.ws;
      this.ws = null; // its close event is ignored from now on
      ws?.close();
      this.#socketClosed(4000, 'signalling lost');
    });
    this.pc.onconnectionstatechange = () => {
      if (!this.closed) this.ice.changed();
      this.onstatechange?.(this.pc.connectionState);
    };

    /** @type {WebSocket|null} */
    this.ws = null;
    // Offers and candidates are applied strictly one after another, in
    // arrival order (PROTOCOL.md: "A client must answer offers in the order
    // received"); a candidate must not overtake the offer it belongs to.
    /** @type {Promise<void>} */
    this.queue = Promise.resolve();

    /** @type {((roster: Participant[], segment: string, revocations: {body: string, sig: string}[], marker: any, opening: number) => void)|null} opening: the booked public opening, ms */
    this.onroster = null;
    /** the call's segment, from the last roster ('private' or 'public') */
    this.segment = 'private';
    /** the segment marker of the last roster (PROTOCOL.md, "Segments"), unverified: e2ee checks it */
    this.marker = null;
    /** @type {{languages: string[], mode: string}} the call's interpretation, from the last roster */ this.interp = { languages: [], mode: '' };
    /**
     * Who ended the call for everyone and why, once the server says so
     * (PROTOCOL.md, "End of a call"); the socket then closes with 4001.
     * @type {{by: string, reason: string}|null}
     */
    this.ended = null;
    /** @type {((ended: {by: string, reason: string}) => void)|null} */
    this.onended = null;
    /** Called with our id as the welcome arrives, before any later message. @type {((id: string) => void)|null} */
    this.onwelcome = null;
    /** Called when the session resumed over a new socket, before the roster that follows. @type {(() => void)|null} */
    this.onresume = null;
    /** @type {((msg: {from: string, kid: number, sealed: string, sig: string}) => void)|null} */
    this.onkey = null;
    /** @type {((t: RemoteTrack) => void)|null} */
    this.ontrack = null;
    /** @type {((t: RemoteTrack) => void)|null} */
    this.ontrackended = null;
    /** @type {((e: ProtocolError) => void)|null} */
    this.onerror = null;
    /** @type {((state: RTCPeerConnectionState) => void)|null} */
    this.onstatechange = null;
    /** @type {((ev: {code: number, reason: string, left: boolean}) => void)|null} */
    this.onclose = null;
  }

  /**
   * Opens the socket and joins `call` of `auth.line`. Resolves with our
   * participant id on welcome; rejects if the server refuses or the socket
   * closes first.
   * @param {string} call
   * @param {LocalTrack[]} tracks what we will send (may be empty)
   * @param {JoinAuth} auth
   * @returns {Promise<string>}
   */
  join(call, tracks, auth) {
    for (const t of tracks) this.local.set(t.id, t);
    this.call = call;
    this.line = auth.line;
    this.auth = auth;
    return this.#open('').catch((err) => {
      this.#closed(1006, err.message);
      throw err;
    });
  }

  /**
   * Opens a socket and joins on it: challenge, join (with `resume`, the
   * participant id of the session to carry on), welcome. Resolves with our
   * id on welcome; rejects if the server refuses or the socket closes first.
   * @param {string} resume
   * @returns {Promise<string>}
   */
  #open(resume) {
    const auth = /** @type {JoinAuth} */ (this.auth);
    const call = this.call;
    this.ready = false; // nothing but the join goes out before the welcome
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      let welcomed = false;
      let challenged = false;
      ws.onmessage = (ev) => {
        if (ws !== this.ws) return;
        const msg = parse(ev.data);
        if (!msg) {
          this.#report({ code: 'client', message: 'unreadable message from the server' });
          return;
        }
        if (msg.type === 'challenge') {
          if (challenged || msg.version !== PROTOCOL_VERSION || typeof msg.nonce !== 'string') {
            reject(Object.assign(new Error(`unexpected challenge (server protocol version ${msg.version})`), { code: 'version' }));
            ws.close();
            return;
          }
          challenged = true;
          auth.prove(fromB64u(msg.nonce), new URL(this.url).host.toLowerCase()).then(
            (proof) => {
              /** @type {Record<string, unknown>} */
              const join = { type: 'join', version: PROTOCOL_VERSION, line: auth.line, call, credential: auth.credential, proof, tracks: [...this.local.values()].map(info) };
              if (resume) join.resume = resume;
              if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(join));
            },
            (err) => { reject(err); ws.close(); });
          return;
        }
        if (!welcomed && msg.type === 'error') {
          reject(Object.assign(new Error(msg.message), { code: msg.code }));
          return;
        }
        if (msg.type === 'welcome') {
          if (resume && (msg.resumed !== true || msg.id !== resume)) {
            reject(Object.assign(new Error('the server did not resume the session'), { code: 'refused' }));
            ws.close();
            return;
          }
          welcomed = true;
          this.ready = true;
          this.id = msg.id;
          this.may = Array.isArray(msg.may) ? msg.may.filter((a) => typeof a === 'string') : [];
          if (resume) {
            this.onresume?.(); // the relay of the first welcome stays in use
          } else {
            this.#useRelay(msg.ice_servers);
            this.onwelcome?.(msg.id);
          }
          resolve(msg.id);
          return;
        }
        this.#dispatch(msg);
      };
      ws.onclose = (ev) => {
        if (ws !== this.ws) return; // a socket that a resumption replaced
        this.ready = false;
        if (!welcomed) {
          reject(Object.assign(new Error(ev.reason || 'the server closed the connection'), { code: 'closed' }));
          return;
        }
        this.#socketClosed(ev.code, ev.reason);
      };
    });
  }

  /**
   * The socket of a joined session closed. Without a close frame (1006: a
   * reset, a dead path) the server may still hold the session: resume it
   * over a new socket (PROTOCOL.md, "Resuming"). A close frame means the
   * server ended it.
   * @param {number} code @param {string} reason
   */
  #socketClosed(code, reason) {
    if (this.closed) return;
    if (code === 1006 || code === 4000) void this.#resume();
    else this.#closed(code, reason);
  }

  /**
   * Carries the session on over new sockets for a few seconds: same id,
   * same RTCPeerConnection, same keys. The server then sends the roster and
   * an offer that restarts ICE. If it cannot (the server restarted, the
   * session is gone), the session closes and the caller joins afresh.
   */
  async #resume() {
    if (this.resuming || this.closed) return;
    this.resuming = true;
    const deadline = Date.now() + RESUME_WINDOW_MS;
    for (let n = 0; !this.closed && Date.now() < deadline; n++) {
      try {
        await this.#open(this.id);
        this.resuming = false;
        this.resumes++;
        this.ice.offered();
        return;
      } catch (err) {
        const code = /** @type {{code?: string}} */ (err).code;
        if (code && code !== 'closed') break; // refused: nothing to resume
      }
      await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** n, 1000)));
    }
    this.resuming = false;
    this.#closed(1006, 'signalling lost');
  }

  /**
   * Takes the server's TURN relay from the welcome (PROTOCOL.md, "Media
   * through firewalls"), before the first offer, so that ICE gathers with
   * it: where UDP is blocked, media goes over TCP through it.
   * @param {unknown} servers
   */
  #useRelay(servers) {
    const iceServers = relayServers(servers);
    if (iceServers.length === 0) return;
    try {
      this.pc.setConfiguration({ ...this.config, iceServers });
    } catch (err) {
      this.#report({ code: 'client', message: `the server's relay is unusable: ${err}` });
    }
  }

  /**
   * Publishes more tracks (a second camera). Resolves when an offer assigns
   * a mid to every one of them, rejects if the server refuses.
   * @param {LocalTrack[]} tracks
   * @returns {Promise<void>}
   */
  publish(tracks) {
    for (const t of tracks) this.local.set(t.id, t);
    return new Promise((resolve, reject) => {
      this.pendingPublishes.push({ ids: tracks.map((t) => t.id), resolve, reject });
      this.#send({ type: 'publish', tracks: tracks.map(info) });
    });
  }

  /**
   * Stops one published track. The sender goes silent at once; the server's
   * next offer no longer lists it.
   * @param {string} id
   */
  unpublish(id) {
    return this.#serial(async () => {
      const mid = this.sendMids.get(id);
      this.local.delete(id);
      this.sendMids.delete(id);
      this.#send({ type: 'unpublish', track: id });
      const tr = mid === undefined ? undefined : this.#transceiver(mid);
      if (tr) await this.#setTrack(tr.sender, null);
    });
  }

  /**
   * Swaps the media of a published track (another camera, camera off/on)
   * without renegotiation: same mid, same SSRC, same codec.
   * @param {string} id
   * @param {MediaStreamTrack|null} track
   */
  replaceTrack(id, track) {
    // Serialised with offers: an offer being applied must not re-attach
    // the track this call is replacing.
    return this.#serial(async () => {
      const local = this.local.get(id);
      if (!local) throw new Error(`no published track ${id}`);
      local.track = track;
      const mid = this.sendMids.get(id);
      const tr = mid === undefined ? undefined : this.#transceiver(mid);
      if (tr) await this.#setTrack(tr.sender, track);
    });
  }

  /** @param {RTCRtpSender} sender @param {MediaStreamTrack|null} track */
  #setTrack(sender, track) {
    return this.frames?.setTrack ? this.frames.setTrack(sender, track) : sender.replaceTrack(track);
  }

  /** Sends one sealed key to one member (PROTOCOL.md, "Key messages"). @param {{type: 'key', to: string, kid: number, sealed: string, sig: string}} msg */
  sendKey(msg) { this.#send(msg); }

  /**
   * An action on a participant of our side (PROTOCOL.md, "Lobby and
   * roles"): admit from the lobby, call an adviser in, send one out to the
   * bench, or remove from the call. A refusal comes back as an error with
   * code "forbidden".
   * @param {'admit'|'call_in'|'send_out'|'remove'} action
   * @param {string} participant
   * @returns {boolean} whether it was sent (not while the line is down)
   */
  act(action, participant) {
    return this.#send({ type: action, participant });
  }

  /** An interpretation message (PROTOCOL.md, "Interpretation"), from interpretation.js. @param {object} msg */ interpretation(msg) { this.#send(msg); }
  /** Asks for a key frame of a participant's video (PROTOCOL.md, "keyframe"). @param {string} participant */ keyframe(participant) { this.#send({ type: 'keyframe', participant }); }

  /** Leaves politely and closes everything. Local media are the caller's. */
  leave() {
    this.#send({ type: 'leave' });
    this.#closed(1000, 'left');
  }

  // ---- incoming messages ----

  /** @param {any} msg */
  #dispatch(msg) {
    switch (msg.type) {
      case 'roster':
        this.roster = Array.isArray(msg.participants) ? msg.participants : [];
        this.segment = typeof msg.segment === 'string' ? msg.segment : 'private';
        this.interp = { languages: Array.isArray(msg.languages) ? msg.languages.map(String) : [], mode: String(msg.mode ?? '') };
        this.marker = msg.marker && typeof msg.marker === 'object' ? msg.marker : null;
        this.onroster?.(this.roster, this.segment, Array.isArray(msg.revocations) ? msg.revocations : [], this.marker, Math.max(0, Number(msg.opening) || 0));
        break;
      case 'ended':
        this.ended = { by: String(msg.by ?? '').slice(0, 256), reason: String(msg.reason ?? '').slice(0, 1024) };
        this.onended?.(this.ended);
        break;
      case 'offer':
        this.#enqueue(() => this.#handleOffer(msg));
        break;
      case 'candidate':
        this.#enqueue(() => this.#addCandidate(msg.candidate));
        break;
      case 'key':
        this.onkey?.(msg);
        break;
      case 'error':
        this.#serverError(msg);
        break;
      default:
        this.#report({ code: 'client', message: `unexpected message type ${String(msg.type).slice(0, 32)}` });
    }
  }

  /**
   * Runs step after every step queued before it; its result or error goes
   * to the caller, and the queue goes on either way.
   * @param {() => Promise<void>} step
   * @returns {Promise<void>}
   */
  #serial(step) {
    const run = this.queue.then(step);
    this.queue = run.catch(() => {});
    return run;
  }

  /** Queues a server message's handling; its errors are reported. @param {() => Promise<void>} step */
  #enqueue(step) {
    this.#serial(step).catch((err) => {
      if (!this.closed) this.#report({ code: 'client', message: errorText(err) });
    });
  }

  /**
   * @param {{sdp: string, send?: {mid: string, track: string}[], receive?: ReceiveEntry[]}} msg
   */
  async #handleOffer(msg) {
    if (this.closed) return;
    this.ice.offered(); // any offer answers an ICE restart request
    const pc = this.pc;
    await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });

    /** @type {Map<string, string>} mid → our track id */
    const send = new Map((msg.send ?? []).map((s) => [s.mid, s.track]));
    /** @type {Map<string, ReceiveEntry>} */
    const receive = new Map((msg.receive ?? []).map((r) => [r.mid, r]));

    // Attach our tracks where the server wants them. Every transceiver's
    // direction is derived from the two tables: "sendonly" for a mid in
    // `send`, "recvonly" for one in `receive`, "sendrecv" if a server puts
    // one m-line in both, "inactive" otherwise. Setting it every time matters
    // because an m-line may be reused for another purpose after it went
    // inactive.
    this.sendMids = new Map();
    /** @param {RTCRtpTransceiver} tr */
    const localOf = (tr) => {
      if (!tr.mid || tr.currentDirection === 'stopped' || tr.direction === 'stopped') return undefined;
      const trackId = send.get(tr.mid);
      return trackId === undefined ? undefined : this.local.get(trackId);
    };
    // Every new sender's frames are hooked before the first frame, and
    // before any track of this offer is attached: a browser may ignore an
    // RTCRtpScriptTransform set after a replaceTrack (frames.js).
    for (const tr of pc.getTransceivers()) {
      const local = localOf(tr);
      if (local && this.frames && !this.framed.has(tr.sender)) {
        this.frames.attachSender(tr.sender, local.kind);
        this.framed.add(tr.sender);
      }
    }
    for (const tr of pc.getTransceivers()) {
      if (!tr.mid || tr.currentDirection === 'stopped' || tr.direction === 'stopped') continue;
      const local = localOf(tr);
      const recv = receive.has(tr.mid);
      if (local) {
        tr.direction = recv ? 'sendrecv' : 'sendonly';
        if (tr.sender.track !== local.track) await this.#setTrack(tr.sender, local.track);
        tr.sender.setStreams(local.stream);
        this.sendMids.set(local.id, tr.mid);
      } else {
        if (tr.sender.track) await this.#setTrack(tr.sender, null);
        tr.direction = recv ? 'recvonly' : 'inactive';
      }
    }
    this.#settlePublishes();

    // Tracks that are gone, or whose mid now carries something else.
    for (const [mid, old] of this.remote) {
      const now = receive.get(mid);
      if (now && now.participant === old.participant && now.track === old.track) continue;
      this.remote.delete(mid);
      this.ontrackended?.(old);
    }
    for (const [mid, entry] of receive) {
      const known = this.remote.get(mid);
      if (known) {
        known.name = entry.name; // a renamed participant keeps its media
        continue;
      }
      const tr = this.#transceiver(mid);
      if (!tr) continue; // a table entry with no m-line: nothing to show
      const mediaTrack = tr.receiver.track;
      this.frames?.attachReceiver(tr.receiver, entry);
      /** @type {RemoteTrack} */
      const rt = { ...entry, mediaTrack, stream: new MediaStream([mediaTrack]) };
      this.remote.set(mid, rt);
      this.ontrack?.(rt);
    }

    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this.#send({ type: 'answer', sdp: pc.localDescription?.sdp ?? answer.sdp });
    this.offers++;
  }

  /** Resolves publish() calls whose tracks all have a mid now. */
  #settlePublishes() {
    this.pendingPublishes = this.pendingPublishes.filter((p) => {
      if (!p.ids.every((id) => this.sendMids.has(id))) return true;
      p.resolve();
      return false;
    });
  }

  /** @param {RTCIceCandidateInit} c */
  async #addCandidate(c) {
    // An empty candidate means end of candidates; it is optional, and
    // browsers disagree on how to apply it, so it is skipped.
    if (this.closed || !c || !c.candidate) return;
    if (!this.pc.remoteDescription) return; // candidates never precede the first offer on one socket
    await this.pc.addIceCandidate(c);
  }

  /** @param {ProtocolError} msg */
  #serverError(msg) {
    const err = { code: String(msg.code), message: String(msg.message ?? ''), ref: msg.ref };
    // A refused publish is the oldest one still waiting: the server handles
    // messages in order. Its tracks were never ours to send.
    const p = err.ref === 'publish' ? this.pendingPublishes.shift() : undefined;
    if (p) {
      for (const id of p.ids) this.local.delete(id);
      p.reject(Object.assign(new Error(err.message), { code: err.code }));
    }
    this.#report(err);
  }

  // ---- outgoing ----

  /** @param {RTCIceCandidate|null} c */
  #sendCandidate(c) {
    if (!c || !c.candidate) return; // end of candidates: optional, not sent
    // Only the four fields the server knows: it rejects unknown ones.
    /** @type {Record<string, unknown>} */
    const init = { candidate: c.candidate };
    if (c.sdpMid != null) init.sdpMid = c.sdpMid;
    if (c.sdpMLineIndex != null) init.sdpMLineIndex = c.sdpMLineIndex;
    if (c.usernameFragment != null) init.usernameFragment = c.usernameFragment;
    this.#send({ type: 'candidate', candidate: init });
  }

  /** @param {object} msg */
  #send(msg) {
    const open = this.ready && this.ws?.readyState === WebSocket.OPEN;
    if (open) this.ws.send(JSON.stringify(msg));
    return open;
  }

  /** @param {string} mid */
  #transceiver(mid) {
    return this.pc.getTransceivers().find((t) => t.mid === mid);
  }

  /** @param {ProtocolError} e */
  #report(e) {
    this.onerror?.(e);
  }

  /** @param {number} code @param {string} reason */
  #closed(code, reason) {
    if (this.closed) return;
    this.closed = true;
    const left = reason === 'left';
    for (const p of this.pendingPublishes) p.reject(Object.assign(new Error('session closed'), { code: 'closed' }));
    this.pendingPublishes = [];
    for (const rt of this.remote.values()) this.ontrackended?.(rt);
    this.remote.clear();
    this.ice.stop();
    this.pc.close();
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
    this.onclose?.({ code, reason, left });
  }
}
