// @ts-check
// Interpretation on the listener's device (docs/PROTOCOL.md,
// "Interpretation"): the language picker in the call bar, the mix of the
// floor and the picked channel with WebAudio gain nodes (the floor ducked
// under the channel in simultaneous mode), and the interpreter's console
// (channel, live or standby, hand over, relay source, a level meter of what
// the interpreter hears). The server only forwards what the roster's
// choices route; all mixing happens here, on decrypted audio.

import { LISTEN_FLOOR } from './route.js';

/** @typedef {import('./protocol.js').Session} Session */
/** @typedef {import('./protocol.js').RemoteTrack} RemoteTrack */
/** @typedef {import('./protocol.js').Participant} Participant */
/** @typedef {import('./tiles.js').TileGrid} TileGrid */

/** How far the floor is ducked under a picked language, by default (dB). */
export const DEFAULT_DUCK_DB = -15;

/** @param {number} db @returns {number} a gain factor */
const gainOf = (db) => 10 ** (db / 20);

export class Interpretation {
  constructor() {
    /** @type {Session|null} */ this.s = null;
    /** @type {TileGrid|null} */ this.grid = null;
    /** @type {Map<string, {t: RemoteTrack, src: MediaStreamAudioSourceNode|null, gain: GainNode|null}>} by mid */
    this.tracks = new Map();
    /** @type {AudioContext|null} */ this.ctx = null;
    /** @type {GainNode|null} */ this.bus = null;
    /** @type {AnalyserNode|null} */ this.analyser = null;
    this.duckDb = DEFAULT_DUCK_DB;
    /** @type {Participant|undefined} */ this.me = undefined;
    /** @type {Participant[]} */ this.roster = [];
    this.ui = null;
    this.meterTimer = 0;
  }

  /**
   * Follows a session's roster and remote tracks (after call.js's own
   * handlers, which it keeps).
   * @param {Session} s @param {TileGrid} grid
   */
  attach(s, grid) {
    this.s = s;
    this.grid = grid;
    this.tracks.clear();
    const { onroster, ontrack, ontrackended } = s;
    s.onroster = (roster, ...rest) => {
      onroster?.(roster, ...rest);
      this.roster = roster;
      this.me = roster.find((p) => p.id === s.id);
      this.#apply();
    };
    s.ontrack = (t) => {
      ontrack?.(t);
      if (t.kind === 'audio') this.tracks.set(t.mid, { t, src: null, gain: null });
      this.#apply();
    };
    s.ontrackended = (t) => {
      ontrackended?.(t);
      const n = this.tracks.get(t.mid);
      if (n?.t === t) {
        n.src?.disconnect();
        n.gain?.disconnect();
        this.tracks.delete(t.mid);
      }
    };
  }

  get languages() { return this.s?.interp.languages ?? []; }
  get mode() { return this.s?.interp.mode || 'simultaneous'; }
  get listening() { return this.me?.listening ?? LISTEN_FLOOR; }
  get interpreter() { return !!this.s?.may.includes('publish_interpretation'); }

  /** Mixing is on while the call has languages: all remote audio then goes through WebAudio. */
  get active() { return this.languages.length > 0 && this.me?.state === 'in'; }

  /** The floor's gain now: ducked under a picked language in simultaneous mode. */
  floorGain() {
    const picked = this.listening !== LISTEN_FLOOR && !this.interpreter;
    return picked && this.mode !== 'consecutive' ? gainOf(this.duckDb) : 1;
  }

  /** @param {string} language LISTEN_FLOOR or one of the call's languages */
  listen(language) { this.s?.interpretation({ type: 'listen', language }); }
  /** @param {number} db how far to duck the floor, -40..0 */
  setDuck(db) {
    this.duckDb = Math.max(-40, Math.min(0, db));
    this.#apply();
  }

  #apply() {
    this.#mix();
    this.#render();
  }

  /** Routes every remote audio track through a gain node (or back to its <audio>). */
  #mix() {
    const on = this.active;
    for (const [mid, n] of this.tracks) {
      const a = this.grid?.audios.get(mid);
      // Chromium plays a remote stream into WebAudio only while a media
      // element plays it too: the element stays, muted.
      if (a) a.muted = on;
      if (!on) continue;
      const ctx = this.#context();
      if (!n.src) {
        n.src = ctx.createMediaStreamSource(n.t.stream);
        n.gain = ctx.createGain();
        n.src.connect(n.gain).connect(/** @type {GainNode} */ (this.bus));
      }
      const channel = n.t.source === 'interpretation';
      /** @type {GainNode} */ (n.gain).gain.value = channel ? 1 : this.floorGain();
    }
  }

  #context() {
    if (!this.ctx) {
      this.ctx = new AudioContext();
      this.bus = this.ctx.createGain();
      this.analyser = this.ctx.createAnalyser();
      this.analyser.fftSize = 8192;
      this.analyser.smoothingTimeConstant = 0.5;
      this.bus.connect(this.analyser);
      this.bus.connect(this.ctx.destination);
      // Browsers may start it suspended until the person clicks.
      document.addEventListener('click', () => void this.ctx?.resume().catch(() => {}));
      void this.ctx.resume().catch(() => {});
    }
    return this.ctx;
  }

  /**
   * The mix's spectrum at these frequencies: the peak level in dB within
   * ±2 analyser bins of each (tests measure the ducking with it).
   * @param {number[]} freqs Hz
   */
  levels(freqs) {
    if (!this.analyser || !this.ctx) return freqs.map(() => -Infinity);
    const bins = new Float32Array(this.analyser.frequencyBinCount);
    this.analyser.getFloatFrequencyData(bins);
    const hz = this.ctx.sampleRate / this.analyser.fftSize;
    return freqs.map((f) => {
      const c = Math.round(f / hz);
      let peak = -Infinity;
      for (let i = Math.max(0, c - 2); i <= Math.min(bins.length - 1, c + 2); i++) peak = Math.max(peak, bins[i]);
      return peak;
    });
  }

  /** The mix's level, 0..1 (the interpreter's meter). */
  level() {
    if (!this.analyser) return 0;
    const buf = new Float32Array(this.analyser.fftSize);
    this.analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const x of buf) sum += x * x;
    const db = 10 * Math.log10(sum / buf.length + 1e-12);
    return Math.min(1, Math.max(0, (db + 50) / 50));
  }

  #render() {
    const bar = document.querySelector('#controls .control-group.start');
    if (!bar) return;
    if (!this.ui) this.ui = buildUI(bar, this);
    const u = this.ui;
    const langs = this.languages;
    u.box.hidden = langs.length === 0 || this.me?.state !== 'in';
    // An operator or principal sets the call's languages and mode (edit_agenda).
    const setter = !!this.s?.may.includes('edit_agenda') && this.me?.state === 'in';
    u.setup.hidden = !setter;
    if (setter && document.activeElement !== u.langs) u.langs.value = langs.join(' ');
    if (setter) u.mode.value = this.mode;
    const own = this.me?.interprets ?? '';
    const options = [LISTEN_FLOOR, ...langs.filter((l) => l !== own)];
    if (u.picker.dataset.options !== options.join(',')) {
      u.picker.replaceChildren(...options.map((l) => new Option(l === LISTEN_FLOOR ? 'Floor' : l, l)));
      u.picker.dataset.options = options.join(',');
    }
    u.picker.value = this.listening;
    u.label.textContent = this.interpreter ? 'Relay' : 'Language';
    u.duck.hidden = this.interpreter;
    // The interpreter's console.
    u.console.hidden = !this.interpreter || u.box.hidden;
    const partner = this.roster.find((p) => p.id !== this.me?.id && own !== '' && p.interprets === own);
    u.booth.hidden = own !== '';
    if (u.booth.dataset.options !== langs.join(',')) {
      u.booth.replaceChildren(new Option('Take a channel…', ''), ...langs.map((l) => new Option(l, l)));
      u.booth.dataset.options = langs.join(',');
    }
    const live = !!this.me?.live;
    u.status.textContent = own === '' ? 'No channel' : `${own} · ${live ? 'Live' : 'Standby'}`;
    u.status.dataset.state = own === '' ? 'none' : live ? 'live' : 'standby';
    const offered = !!partner?.hand_over;
    u.hand.hidden = own === '' || (live ? !partner : !(offered || !partner?.live));
    u.hand.textContent = live ? (this.me?.hand_over ? 'Handing over…' : 'Hand over') : offered ? `Take over from ${partner?.name}` : 'Take over';
    u.hand.disabled = live && !!this.me?.hand_over;
    u.hand.dataset.action = live ? 'hand_over' : 'take_over';
    if (!u.console.hidden && !this.meterTimer) {
      this.meterTimer = window.setInterval(() => { u.meter.value = this.level(); }, 100);
    }
  }

  /** What tests read (call.js state()). */
  state() {
    return {
      active: this.active, languages: this.languages, mode: this.mode, listening: this.listening,
      duckDb: this.duckDb, floorGain: this.floorGain(), interprets: this.me?.interprets ?? '',
      live: !!this.me?.live, handOver: !!this.me?.hand_over,
      gains: [...this.tracks.values()].map((n) => ({
        mid: n.t.mid, name: n.t.name, source: n.t.source, language: n.t.language ?? '', gain: n.gain?.gain.value ?? null,
      })),
    };
  }

  close() {
    window.clearInterval(this.meterTimer);
    this.meterTimer = 0;
    void this.ctx?.close().catch(() => {});
    this.ctx = null;
    this.tracks.clear();
  }
}

/**
 * The call bar's picker (and duck level) and the interpreter's console.
 * @param {Element} bar @param {Interpretation} ip
 */
function buildUI(bar, ip) {
  const box = document.createElement('div');
  box.className = 'interp';
  box.id = 'interp';
  box.innerHTML = `<label class="select-inline"><span id="interp-label">Language</span>
      <select id="listen-language" aria-label="Language"></select></label>
    <label class="select-inline" id="interp-duck-box" title="Floor level under the language">
      <input type="range" id="interp-duck" min="-40" max="0" step="1" aria-label="Floor level (dB)"></label>
    <div class="interp-console" id="interp-console" hidden>
      <select id="interp-booth" aria-label="Channel"></select>
      <span class="interp-status" id="interp-status"></span>
      <button type="button" class="btn" id="interp-hand"></button>
      <meter id="interp-meter" min="0" max="1" value="0" title="What you hear"></meter>
    </div>`;
  const setup = document.createElement('div');
  setup.className = 'interp';
  setup.id = 'interp-setup';
  setup.innerHTML = `<input id="interp-languages" size="10" placeholder="Languages: ru en" aria-label="Interpretation languages">
    <select id="interp-mode" aria-label="Interpretation mode">
      <option value="simultaneous">Simultaneous</option><option value="consecutive">Consecutive</option></select>
    <button type="button" class="btn" id="interp-set">Set</button>`;
  bar.append(box, setup);
  /** @param {string} id */
  const q = (id) => /** @type {any} */ (box.querySelector('#' + id) ?? setup.querySelector('#' + id));
  const u = {
    box, picker: q('listen-language'), label: q('interp-label'), duck: q('interp-duck-box'), console: q('interp-console'),
    booth: q('interp-booth'), status: q('interp-status'), hand: q('interp-hand'), meter: q('interp-meter'),
    setup, langs: q('interp-languages'), mode: q('interp-mode'),
  };
  q('interp-set').addEventListener('click', () => ip.s?.interpretation({
    type: 'interpretation', mode: u.mode.value, languages: u.langs.value.split(/[\s,]+/).filter(Boolean),
  }));
  q('interp-duck').value = String(ip.duckDb);
  u.picker.addEventListener('change', () => ip.listen(u.picker.value));
  q('interp-duck').addEventListener('input', (/** @type {Event} */ ev) => ip.setDuck(Number(/** @type {HTMLInputElement} */ (ev.target).value)));
  u.booth.addEventListener('change', () => {
    if (u.booth.value) ip.s?.interpretation({ type: 'interpret', language: u.booth.value });
  });
  u.hand.addEventListener('click', () => ip.s?.interpretation({ type: u.hand.dataset.action }));
  return u;
}
