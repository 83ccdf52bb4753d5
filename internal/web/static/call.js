// @ts-check
// A call in progress: wires the Session (protocol.js) to the tiles, the
// self view and the control bar, and samples connection quality.

import { AUDIO_ROLES, VIDEO_ROLES, anyIn } from './roles.js';
import { byId, fillDevices, toast } from './dom.js';
import { showEnded } from './ending.js';
import { Interpretation } from './interpretation.js';
import { deviceOf, listDevices, openCamera, captureError } from './media.js';
import { FINAL_CODES, backoffMs, openConnection } from './connection.js';
import { renderControls, renderPlace, renderSelf } from './controls.js';
import { WitnessedSession as E2EESession } from './witness.js'; // an E2EESession that signs witness statements
import { joinProof } from './e2ee/trust.js';
import { prepareJoin } from './prejoin.js';
import { QualitySampler } from './quality.js';
import { TileGrid } from './tiles.js';
import { renderLink, renderRoster } from './sidebar.js';
import { renderVerification } from './verification.js';
import { SegmentUI } from './segment.js';
import { joinSteps } from './joinsteps.js';
import { KeyframeAsker } from './keyframes.js';

/** @typedef {import('./protocol.js').LocalTrack} LocalTrack */
/** @typedef {import('./protocol.js').Session} Session */

/** Track ids and sources we publish; others see the sources (PROTOCOL.md). */
const MIC = { id: 'mic', source: 'mic' };
const CAM = { id: 'cam0', source: 'camera' };
const CAM2 = { id: 'cam1', source: 'camera2' };

export class Call {
  /**
   * @param {{call: string, name: string, camera: MediaStreamTrack|null, mic: MediaStreamTrack|null, kiosk: boolean, maxEpoch?: number}} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.statsAsked = 0;
    this.#openConnection();
    this.joined = false;
    this.startedAt = 0;
    /** @type {{code: string, message: string}[]} every error shown, for tests */
    this.errors = [];
    // One stream id for mic and first camera, so receivers may lip-sync them.
    const main = new MediaStream();
    /** @type {LocalTrack|null} */
    this.mic = opts.mic ? { ...MIC, kind: 'audio', track: opts.mic, stream: main } : null;
    /** @type {LocalTrack|null} */
    this.cam = opts.camera ? { ...CAM, kind: 'video', track: opts.camera, stream: main } : null;
    /** @type {LocalTrack|null} */
    this.cam2 = null;
    this.busy = false; // one device operation at a time; buttons are disabled meanwhile

    this.stage = byId('stage');
    this.selfview = byId('selfview');
    this.controls = byId('controls');
    this.grid = new TileGrid(byId('tiles'), byId('audio-sink'), (blocked) => this.#soundBlocked(blocked));
    this.interp = new Interpretation();
    this.timer = 0;
    this.sampling = false; // a getStats is in flight
    this.soundToastShown = false;
    this.over = false; // the end screen is up
    /** @type {E2EESession|null} */
    this.e2ee = null;
    this.line = '';
    /** why the server removed us, once it has @type {string} */
    this.removed = '';
    /** who ended the call for everyone, and why, once the server says so @type {{by: string, reason: string}|null} */
    this.endedBy = null;
    /** our roster state as last shown ('' before the first roster) */
    this.place = '';
    /** a booked phone call: voice only, the call screen instead of tiles */
    this.phone = false;
    /** forged participants already warned about @type {Set<string>} */
    this.warned = new Set();
    /** the signalling session was lost and we are joining again */
    this.reconnecting = false;
    /** sessions joined so far (1 + rejoins) */
    this.sessions = 0;
    /** what join needs, kept for rejoining @type {{identity: any, line: string}|null} */
    this.auth = null;
  }

  /** A fresh worker, frame pipe and Session for the next join (connection.js). */
  #openConnection() {
    const { worker, frames, session } = openConnection((message) => this.#error(message, 'e2ee'));
    this.worker = worker;
    this.frames = frames;
    this.session = session;
    this.sampler = new QualitySampler(session.pc);
    joinSteps.watch(session.pc);
  }

  async start() {
    const { call, name } = this.opts;
    document.title = `${call} · hotline`;
    byId('call-name').textContent = call;
    byId('call-info').hidden = false;
    byId('link-state').hidden = false;
    this.stage.hidden = false;
    this.controls.hidden = false;
    this.#link('connecting', 'Connecting…');
    this.#wireControls();
    this.#renderSelf();
    this.#renderControls();

    // No way to encrypt media end to end in this browser: no call at all.
    if (!this.frames.path) {
      const why = 'This browser cannot encrypt media end to end (it has neither RTCRtpScriptTransform nor createEncodedStreams). Use a current Chromium, Chrome or Edge, or a Firefox or Safari with RTCRtpScriptTransform.';
      this.#error(why, 'unsupported');
      this.#ended(false, why);
      return;
    }
    // This browser's enrolled identity: its credential gives its name, its
    // pins decide whom it trusts (docs/PROTOCOL.md, "Credential"). Made
    // ready before the Join press where possible (prejoin.js).
    const { identity, me, line, upcoming: calls } = await prepareJoin();
    if (!identity || !me.ok) {
      const why = `Cannot join: ${me.ok ? '' : me.reason}. Open an enrolment link from your side's officer first.`;
      this.#error(why, 'unauthorized');
      this.#ended(false, why);
      return;
    }
    this.opts.name = me.name;
    this.line = line;

    // Send only what the credential's roles may send (roles.js mirrors the
    // server's matrix): a monitor or an operator sends nothing.
    if (!anyIn(AUDIO_ROLES, me.roles)) this.#dropLocal('mic');
    if (!anyIn(VIDEO_ROLES, me.roles)) this.#dropLocal('cam');
    // A booked phone call is voice only end to end: no camera, and a call
    // screen instead of tiles. (A call name that is not booked is an ad hoc
    // video call; a role that cannot see the schedule learns nothing here,
    // and the server refuses a camera in a phone call anyway.)
    // (The line's upcoming calls, not the call itself: an ad hoc call name
    // is not an error.)
    const booked = (await calls)?.calls?.find((c) => c.id === call);
    if (booked?.kind === 'phone') this.#phoneMode();
    this.auth = { identity, line };
    try {
      await this.#join();
    } catch (err) {
      const e = /** @type {Error & {code?: string}} */ (err);
      this.#error(`Could not join: ${e.message}`, e.code ?? 'closed');
      this.#ended(false, e.message);
      return;
    }
    this.startedAt = Date.now();
    this.timer = window.setInterval(() => void this.#tick(), 1000);
    this.#renderControls();
    await this.#refreshDevices();
  }

  /**
   * Joins on this.session with our current tracks, wiring its events to the
   * UI; rejects if the server refuses or the socket closes first.
   */
  async #join() {
    const { identity, line } = /** @type {{identity: any, line: string}} */ (this.auth);
    const { call } = this.opts;
    const s = this.session;
    const worker = this.worker;
    s.onwelcome = (id) => {
      joinSteps.mark('welcome');
      // Out of epochs (PROTOCOL.md, "Epochs"), this stay leaves and the page joins again, with a new sender tag.
      const onExhausted = () => { if (s === this.session && !this.reconnecting) { void this.#reconnect(); s.leave(); } };
      // Key frames asked for rather than waited for (keyframes.js).
      const asker = new KeyframeAsker(s, () => this.e2ee?.state().members.filter((m) => !m.self && m.kid !== null).map((m) => m.id) ?? []);
      this.e2ee = new E2EESession({ identity, line, call, selfId: id, send: (m) => s.sendKey(m), worker, onExhausted, maxEpoch: this.opts.maxEpoch, onkey: (from) => asker.keyInstalled(from) });
      this.e2ee.onChange(() => {
        this.#renderE2EE();
        this.#renderRoster(); // sides are known once credentials are verified
      });
    };
    s.onkey = (msg) => this.e2ee?.handleKey(msg);
    s.onresume = () => this.e2ee?.resendKeys();
    s.onroster = (roster, segment, revocations, marker, opening) => {
      joinSteps.mark('roster');
      this.opening = opening; // the booked public opening (segment.js runs it)
      this.e2ee?.setRoster(roster, segment, revocations, marker);
      // The stage shows the people in the call, and only to someone in it
      // who receives media (not the lobby, the bench or an operator).
      const me = roster.find((p) => p.id === s.id);
      const stage = me?.state === 'in' && s.may.includes('receive_media') ? roster.filter((p) => p.state === 'in') : [];
      this.grid.setRoster(stage, s.id);
      this.#renderRoster();
      this.#renderPhone();
      byId('call-count').textContent = String(roster.length);
    };
    s.ontrack = (t) => {
      this.sampler?.restart(t.mid);
      this.grid.addTrack(t);
      joinSteps.track(t, () => s.pc.getTransceivers().find((x) => x.mid === t.mid)?.receiver);
    };
    s.ontrackended = (t) => this.grid.removeTrack(t);
    this.interp.attach(s, this.grid); // language picker, ducking, interpreter's console
    s.onerror = (e) => {
      if (e.code === 'removed') this.removed = e.message;
      this.#error(`${e.code}: ${e.message}`, e.code);
    };
    s.onended = (e) => { this.endedBy = e; };
    s.onstatechange = (st) => this.#linkFromPC(st);
    s.onclose = (ev) => this.#lost(s, ev);
    const tracks = /** @type {LocalTrack[]} */ ([this.mic, this.cam, this.cam2].filter(Boolean));
    await s.join(call, tracks, {
      line,
      credential: identity.credential,
      prove: (nonce, server) => joinProof(identity.sigPrivate, nonce, server, line, call).then((p) => { joinSteps.mark('join-sent'); return p; }),
    });
    this.joined = true;
    this.sessions++;
  }

  /**
   * The session closed. On purpose (we left, were removed, the server
   * closed it normally) or before we were ever in: the end screen. Otherwise the connection was lost: join
   * again (PROTOCOL.md, "Reconnecting").
   * @param {Session} s @param {{code: number, reason: string, left: boolean}} ev
   */
  #lost(s, ev) {
    if (s !== this.session || this.reconnecting) return;
    // 1000: the server ended the session on purpose; 4001: the call was
    // ended for everyone (PROTOCOL.md, "Rejoining", "End of a call").
    if (ev.left || ev.code === 1000 || ev.code === 4001 || this.endedBy || this.removed || !this.joined || this.over) {
      this.#ended(ev.left);
      return;
    }
    void this.#reconnect();
  }

  /**
   * Joins again with a new worker, Session and keys, pausing between
   * attempts (connection.js, backoffMs), until one succeeds or the server
   * refuses us for good. Our camera and microphone stay open meanwhile.
   */
  async #reconnect() {
    this.reconnecting = true;
    this.#link('reconnecting', 'Reconnecting…');
    toast('The connection to the line was lost. Reconnecting…');
    for (let attempt = 0; !this.over; attempt++) {
      this.e2ee?.close();
      this.e2ee = null;
      this.frames.close();
      this.worker.terminate();
      this.grid.clear();
      await new Promise((r) => setTimeout(r, backoffMs(attempt)));
      if (this.over) return;
      this.#openConnection();
      try {
        await this.#join();
      } catch (err) {
        const e = /** @type {Error & {code?: string}} */ (err);
        if (e.code && FINAL_CODES.has(e.code)) {
          this.reconnecting = false;
          this.#error(`Could not rejoin: ${e.message}`, e.code);
          this.#ended(false, e.message);
          return;
        }
        continue;
      }
      this.reconnecting = false;
      this.#linkFromPC(this.session.pc.connectionState);
      toast('Back in the call.');
      return;
    }
  }

  /** Voice only: no camera, and the call screen (names, duration, mute, hang up). */
  #phoneMode() {
    this.phone = true;
    this.#dropLocal('cam');
    this.stage.classList.add('phone');
    byId('phone').hidden = false;
  }

  /** The call screen's names: everyone in the call but us. */
  #renderPhone() {
    if (!this.phone) return;
    const s = this.session;
    const others = s.roster.filter((p) => p.id !== s.id && p.state === 'in').map((p) => p.name);
    byId('phone-names').textContent = others.length ? others.join(' · ') : 'Waiting for the other side…';
  }

  /**
   * Gives up a local device the roles do not allow sending: the track is
   * stopped and its button hidden.
   * @param {'mic'|'cam'} which
   */
  #dropLocal(which) {
    const t = which === 'mic' ? this.mic : this.cam;
    t?.track.stop();
    if (which === 'mic') this.mic = null;
    else this.cam = null;
    for (const id of which === 'mic' ? ['btn-mic'] : ['btn-cam', 'btn-cam2', 'call-camera']) {
      const b = document.getElementById(id);
      if (b) b.hidden = true;
    }
  }

  /**
   * The media worker's counters (worker.js, message 'stats'); null once the
   * call is over and the worker gone.
   * @returns {Promise<object|null>}
   */
  frameStats() {
    if (this.over) return Promise.resolve(null);
    const id = ++this.statsAsked;
    return new Promise((resolve) => {
      /** @param {MessageEvent} ev */
      const on = (ev) => {
        if (ev.data?.type !== 'stats' || ev.data.id !== id) return;
        this.worker.removeEventListener('message', on);
        resolve(ev.data);
      };
      this.worker.addEventListener('message', on);
      this.worker.postMessage({ type: 'stats', id });
    });
  }

  /** Everything the tests need, read from the UI's own model. */
  state() {
    const s = this.session;
    return {
      joined: this.joined && !s.closed,
      id: s.id,
      call: this.opts.call,
      name: this.opts.name,
      connection: s.pc.connectionState,
      offers: s.offers,
      iceRestarts: s.ice.restarts,
      frames: this.frames.path, // 'streams', 'script', or null: the browser cannot encrypt
      roster: s.roster.map((p) => p.name),
      participants: s.roster,
      ...this.grid.state(),
      local: {
        mic: !!this.mic?.track?.enabled,
        camera: !!this.cam?.track,
        camera2: !!this.cam2?.track,
        cameraDevice: deviceOf(this.cam?.track),
      },
      errors: this.errors,
      reconnecting: this.reconnecting,
      sessions: this.sessions,
      iceRestarts: s.ice.restarts,
      resumes: s.resumes,
      resuming: s.resuming,
      phone: this.phone,
      e2ee: this.e2ee?.state() ?? null,
      interpretation: this.interp.state(),
    };
  }

  /**
   * The participants panel. A participant whose roles allow it may remove
   * people of its own side (verified from their credentials); the server
   * checks the same.
   */
  #renderRoster() {
    const s = this.session;
    const st = this.e2ee?.state();
    const known = (/** @type {string} */ id) => st?.members.find((m) => m.id === id && m.verified) ?? null;
    const mine = known(s.id)?.side ?? null;
    const may = (/** @type {string} */ a) => s.may.includes(a);
    renderRoster(s.roster, s.id, {
      offer: (p) => {
        const m = known(p.id);
        if (p.id === s.id || !m || mine === null || m.side !== mine) return [];
        /** @type {import('./sidebar.js').Action[]} */
        const out = [];
        if (p.state === 'waiting' && may('admit_from_lobby')) out.push('admit');
        if (p.state === 'bench' && may('call_in_adviser')) out.push('call_in');
        if (p.state === 'in' && m.roles.includes('adviser') && may('send_out_adviser')) out.push('send_out');
        if (may('remove_participant')) out.push('remove');
        return out;
      },
      run: (p, a) => { if (!s.act(a, p.id)) this.#error(`not connected to the line: ${a} was not sent; try again`, 'client'); },
    });
    this.#renderPlace();
  }

  /**
   * Where we are: in the lobby or on the bench, the stage says so instead
   * of showing tiles; an operator, who receives no media, sees a note.
   */
  #renderPlace() {
    const s = this.session;
    this.place = renderPlace(s.roster.find((p) => p.id === s.id)?.state ?? '', s.may.includes('receive_media'), this.place);
  }

  /** Shows the verification code, the credential's expiry and any forged roster entry. */
  #renderE2EE() {
    const st = this.e2ee?.state();
    if (!st) return;
    renderVerification(st);
    (this.segmentUI ??= new SegmentUI(byId('call-info'), /** @type {any} */ (this.auth), this.opts.call)).render(st, this.opening ?? 0);
    for (const f of st.forgeries) {
      if (this.warned.has(f.id)) continue;
      this.warned.add(f.id);
      this.#error(`Forged participant "${f.name}" (${f.reason}): it gets no keys and hears nothing.`, 'forgery');
    }
  }

  // ---- controls ----

  #wireControls() {
    byId('btn-mic').addEventListener('click', () => this.#toggleMic());
    byId('btn-cam').addEventListener('click', () => this.#run(() => this.#toggleCamera()));
    byId('btn-cam2').addEventListener('click', () => this.#run(() => this.#toggleSecondCamera()));
    byId('call-camera').addEventListener('change', () => this.#run(() => this.#switchCamera()));
    byId('btn-leave').addEventListener('click', () => this.leave());
    // A click anywhere counts as the gesture browsers want before sound.
    document.addEventListener('click', () => this.grid.resumeAudio());
  }

  /** Serialises device operations so that fast clicks cannot interleave them. @param {() => Promise<void>} op */
  async #run(op) {
    if (this.busy) return;
    this.busy = true;
    this.#renderControls();
    try {
      await op();
    } catch (err) {
      this.#error(captureError(err), 'device');
    } finally {
      this.busy = false;
      this.#renderSelf();
      this.#renderControls();
    }
  }

  #toggleMic() {
    if (!this.mic?.track) return;
    // Muting disables the track (silence is sent): no renegotiation, and
    // unmuting is instant.
    this.mic.track.enabled = !this.mic.track.enabled;
    this.#renderControls();
  }

  async #toggleCamera() {
    const select = /** @type {HTMLSelectElement} */ (byId('call-camera'));
    if (this.cam?.track) {
      // Off means off: the device is released (its light goes out), not
      // just blanked.
      const old = this.cam.track;
      await this.session.replaceTrack(CAM.id, null);
      old.stop();
      return;
    }
    const track = await openCamera(select.value);
    if (this.cam) {
      await this.session.replaceTrack(CAM.id, track);
      return;
    }
    // Joined audio-only: the camera is a new track to publish.
    this.cam = { ...CAM, kind: 'video', track, stream: this.mic?.stream ?? new MediaStream() };
    await this.session.publish([this.cam]).catch((err) => {
      track.stop();
      this.cam = null;
      throw err;
    });
  }

  async #switchCamera() {
    if (!this.cam?.track) return; // takes effect when the camera is turned on
    const select = /** @type {HTMLSelectElement} */ (byId('call-camera'));
    const old = this.cam.track;
    if (deviceOf(old) === select.value) return;
    // replaceTrack keeps the m-line, SSRC and codec: nobody renegotiates.
    // The old camera is stopped only after the new one is sending.
    const track = await openCamera(select.value);
    await this.session.replaceTrack(CAM.id, track);
    old.stop();
  }

  async #toggleSecondCamera() {
    if (this.cam2) {
      const t = this.cam2.track;
      this.cam2 = null;
      await this.session.unpublish(CAM2.id);
      t?.stop();
      return;
    }
    // Prefer a camera that the first one is not using.
    const { cameras } = await listDevices();
    const used = deviceOf(this.cam?.track);
    const other = cameras.find((c) => c.deviceId !== used) ?? cameras[0];
    const track = await openCamera(other?.deviceId);
    this.cam2 = { ...CAM2, kind: 'video', track, stream: new MediaStream() };
    await this.session.publish([this.cam2]).catch((err) => {
      track.stop();
      this.cam2 = null;
      throw err;
    });
  }

  leave() {
    if (this.session.closed) return;
    this.session.leave();
  }

  #renderControls() {
    renderControls(this);
  }

  #renderSelf() {
    renderSelf(this);
  }

  async #refreshDevices() {
    const { cameras } = await listDevices();
    const select = /** @type {HTMLSelectElement} */ (byId('call-camera'));
    fillDevices(select, cameras, deviceOf(this.cam?.track), 'Camera');
    select.parentElement.hidden = cameras.length < 2; // nothing to choose from
  }

  // ---- status ----

  async #tick() {
    if (this.session.closed) return;
    const secs = Math.floor((Date.now() - this.startedAt) / 1000);
    const hh = Math.floor(secs / 3600);
    const mm = String(Math.floor(secs / 60) % 60).padStart(2, '0');
    const ss = String(secs % 60).padStart(2, '0');
    byId('call-clock').textContent = hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
    if (this.phone) byId('phone-duration').textContent = byId('call-clock').textContent;
    if (this.sampling) return; // a slow getStats must not pile up
    this.sampling = true;
    try {
      const sample = await this.sampler.sample();
      this.grid.setStats(sample);
      renderLink(sample);
      if (this.session.pc.connectionState === 'connected') {
        byId('link-text').textContent = sample.rttMs === null ? 'Connected' : `Connected · ${Math.round(sample.rttMs)} ms`;
      }
    } finally {
      this.sampling = false;
    }
  }

  /** @param {RTCPeerConnectionState} st */
  #linkFromPC(st) {
    const text = { new: 'Connecting…', connecting: 'Connecting…', connected: 'Connected', disconnected: 'Reconnecting…', failed: 'Reconnecting…', closed: 'Closed' };
    this.#link(st, text[st] ?? st);
  }

  /** @param {string} state @param {string} text */
  #link(state, text) {
    byId('link-state').dataset.state = state;
    byId('link-text').textContent = text;
  }

  /** @param {boolean} blocked */
  #soundBlocked(blocked) {
    this.stage.classList.toggle('sound-blocked', blocked);
    if (blocked && !this.soundToastShown) {
      this.soundToastShown = true;
      toast('Click anywhere to turn on the sound of the call.');
    }
  }

  /** @param {string} text @param {string} code */
  #error(text, code) {
    this.errors.push({ code, message: text });
    toast(text, 'error');
  }

  /**
   * Shows the end screen once, however the call ended.
   * @param {boolean} left we left on purpose
   * @param {string} [refused] why the server refused the join, if it did
   */
  #ended(left, refused) {
    if (this.over) return;
    this.over = true;
    window.clearInterval(this.timer);
    this.e2ee?.close();
    this.frames.close();
    this.worker.terminate();
    for (const t of [this.mic, this.cam, this.cam2]) t?.track?.stop();
    this.grid.clear();
    this.interp.close();
    this.selfview.replaceChildren();
    const removed = this.removed;
    const ended = this.endedBy;
    this.#link('closed', left ? 'Left the call' : ended ? 'Call ended' : removed ? 'Removed' : 'Disconnected');
    this.controls.hidden = true;
    showEnded({ left, refused, ended, removed, kiosk: this.opts.kiosk, call: this.opts.call });
    byId('overlay').hidden = false;
    // A wall monitor has nobody to press Rejoin: it retries on its own
    // (not after a removal or the end of the call: those were someone's decision).
    if (this.opts.kiosk && !left && !removed && !ended) setTimeout(() => location.reload(), 5000);
  }
}
