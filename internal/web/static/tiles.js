// @ts-check
// The grid of remote participants. One tile per remote camera; a participant
// who sends no video gets one name tile with an audio indicator. Tiles are
// derived from two sources that arrive independently: the roster (who is in
// the call and what they publish) and the offer's receive table (what media
// actually reaches us), and reconciled on every change.

import { el, initials } from './dom.js';
import { grade } from './quality.js';

/** @typedef {import('./protocol.js').Participant} Participant */
/** @typedef {import('./protocol.js').RemoteTrack} RemoteTrack */
/** @typedef {import('./quality.js').Sample} Sample */
/** @typedef {import('./quality.js').InboundSample} InboundSample */

/**
 * What one tile shows. `track` is the publisher's video track id, or '' for
 * a name tile.
 * @typedef {{key: string, participant: string, name: string, track: string, source: string, showSource: boolean}} TileSpec
 */

/** Seconds without a new decoded frame before a tile shows the name instead. */
const STALL_SAMPLES = 2;

class Tile {
  /** @param {TileSpec} spec */
  constructor(spec) {
    this.spec = spec;
    /** @type {RemoteTrack|null} */
    this.media = null;
    /** @type {InboundSample|null} */
    this.stats = null;
    /** @type {InboundSample|null} the participant's audio */
    this.audio = null;
    this.unchanged = 0;

    this.root = el('div', spec.track ? 'tile' : 'tile voice');
    this.root.dataset.key = spec.key;
    this.video = /** @type {HTMLVideoElement} */ (el('video'));
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.video.muted = true; // sound goes through the participant's <audio>
    this.avatar = el('div', 'avatar');
    this.initials = el('span', 'initials');
    this.status = el('span', 'avatar-status');
    this.avatar.append(this.initials, this.status);

    const footer = el('div', 'tile-footer');
    this.label = el('span', 'label');
    this.level = el('span', 'level');
    this.level.append(el('i'), el('i'), el('i'));
    this.nameEl = el('span', 'name');
    this.sourceEl = el('span', 'source');
    this.label.append(this.level, this.nameEl, this.sourceEl);
    this.quality = el('span', 'quality');
    this.quality.dataset.grade = 'unknown';
    footer.append(this.label, this.quality);

    this.root.append(this.video, this.avatar, footer);
    this.update(spec);
  }

  /** @param {TileSpec} spec */
  update(spec) {
    this.spec = spec;
    this.nameEl.textContent = spec.name;
    this.initials.textContent = initials(spec.name);
    this.sourceEl.textContent = spec.showSource ? spec.source || spec.track : '';
    this.sourceEl.hidden = !spec.showSource;
    this.root.title = spec.showSource ? `${spec.name} · ${spec.source || spec.track}` : spec.name;
  }

  /** @param {RemoteTrack|null} media */
  attach(media) {
    if (this.media === media) return;
    this.media = media;
    this.unchanged = 0;
    this.stats = null; // counters of another mid mean nothing here
    this.video.srcObject = media ? media.stream : null;
    this.#showVideo();
  }

  /**
   * @param {InboundSample|undefined} video this tile's video mid
   * @param {InboundSample|undefined} audio the participant's first audio mid
   * @param {number|null} rttMs
   * @param {boolean} fresh a new sample, not the last one shown again
   */
  setStats(video, audio, rttMs, fresh) {
    if (fresh) {
      // Stall detection counts samples, so only a new sample may count.
      const prevFrames = this.stats?.framesDecoded ?? 0;
      if (video && video.framesDecoded > prevFrames) this.unchanged = 0;
      else this.unchanged++;
    }
    this.stats = video ?? null;
    this.audio = audio ?? null;
    this.#showVideo();

    const basis = video ?? audio;
    const loss = basis ? basis.lossPercent : 0;
    this.quality.dataset.grade = basis ? grade(loss, rttMs) : 'unknown';
    this.quality.textContent = basis
      ? `${loss.toFixed(1)}% loss · ${rttMs === null ? '–' : Math.round(rttMs)} ms`
      : 'no media yet';
    // audioLevel is 0..1 (RFC 6464 scale, linearised); three bars light up.
    const lvl = audio ? audio.audioLevel : 0;
    this.level.dataset.on = String(lvl > 0.3 ? 3 : lvl > 0.1 ? 2 : lvl > 0.01 ? 1 : 0);
    this.root.classList.toggle('speaking', lvl > 0.05);
  }

  #showVideo() {
    const frames = this.stats?.framesDecoded ?? 0;
    const live = !!this.media && frames > 0 && this.unchanged < STALL_SAMPLES;
    this.root.classList.toggle('has-video', live);
    if (!this.spec.track) this.status.textContent = this.audio?.packetsReceived ? 'Voice only' : 'Connecting…';
    else if (!this.media || frames === 0) this.status.textContent = 'Connecting…';
    else this.status.textContent = 'Video paused';
  }
}

export class TileGrid {
  /**
   * @param {HTMLElement} grid where tiles go
   * @param {HTMLElement} audioSink where the (invisible) <audio> elements go
   * @param {(blocked: boolean) => void} onAutoplay told when the browser blocks or allows playing sound
   */
  constructor(grid, audioSink, onAutoplay) {
    this.grid = grid;
    this.audioSink = audioSink;
    this.onAutoplay = onAutoplay;
    /** @type {Participant[]} */
    this.roster = [];
    this.selfId = '';
    /** @type {Map<string, RemoteTrack>} by mid */
    this.remote = new Map();
    /** @type {Map<string, Tile>} by key */
    this.tiles = new Map();
    /** @type {Map<string, HTMLAudioElement>} by mid */
    this.audios = new Map();
    /** @type {Sample|null} */
    this.lastSample = null;
    /** @type {ResizeObserver|null} */
    this.resizeObserver = null;
  }

  /** @param {Participant[]} roster @param {string} selfId */
  setRoster(roster, selfId) {
    this.roster = roster;
    this.selfId = selfId;
    this.#render();
  }

  /** @param {RemoteTrack} t */
  addTrack(t) {
    this.remote.set(t.mid, t);
    if (t.kind === 'audio') this.#addAudio(t);
    this.#render();
  }

  /** @param {RemoteTrack} t */
  removeTrack(t) {
    if (this.remote.get(t.mid) === t) this.remote.delete(t.mid);
    const a = this.audios.get(t.mid);
    if (a) {
      a.srcObject = null;
      a.remove();
      this.audios.delete(t.mid);
    }
    this.#render();
  }

  /** Retries playing sound after a click, when autoplay was refused. */
  resumeAudio() {
    for (const a of this.audios.values()) this.#play(a);
  }

  /** @param {Sample} sample */
  setStats(sample) {
    const fresh = sample !== this.lastSample;
    this.lastSample = sample;
    for (const tile of this.tiles.values()) {
      const video = this.#midOf(tile.spec.participant, tile.spec.track, 'video');
      const audio = this.#midOf(tile.spec.participant, '', 'audio');
      tile.setStats(video ? sample.inbound.get(video) : undefined, audio ? sample.inbound.get(audio) : undefined, sample.rttMs, fresh);
    }
  }

  /** What the tests and the status bar read. */
  state() {
    const inbound = this.lastSample?.inbound;
    return {
      tiles: [...this.tiles.values()].map((t) => ({
        key: t.spec.key,
        participant: t.spec.participant,
        name: t.spec.name,
        source: t.spec.source,
        label: t.label.textContent,
        kind: t.spec.track ? 'video' : 'voice',
        mid: t.media?.mid ?? '',
        hasVideo: t.root.classList.contains('has-video'),
        framesDecoded: t.stats?.framesDecoded ?? 0,
        packetsReceived: t.stats?.packetsReceived ?? 0,
        frameWidth: t.stats?.frameWidth ?? 0,
        frameHeight: t.stats?.frameHeight ?? 0,
        lossPercent: t.stats?.lossPercent ?? 0,
        quality: t.quality.textContent,
      })),
      audio: [...this.audios].map(([mid, a]) => {
        const rt = this.remote.get(mid);
        const s = inbound?.get(mid);
        return {
          mid,
          participant: rt?.participant ?? '',
          name: rt?.name ?? '',
          packetsReceived: s?.packetsReceived ?? 0,
          audioLevel: s?.audioLevel ?? 0,
          playing: !a.paused,
        };
      }),
    };
  }

  // Which tiles should exist: the roster's view, plus any media that
  // arrived before the roster mentioning it (the two are not ordered).
  /** @returns {Map<string, TileSpec>} */
  #wanted() {
    /** @type {Map<string, TileSpec>} */
    const want = new Map();
    /** @type {Map<string, string>} */
    const names = new Map();
    for (const p of this.roster) {
      if (p.id === this.selfId) continue;
      names.set(p.id, p.name);
      const videos = p.tracks.filter((t) => t.kind === 'video');
      for (const v of videos) {
        const key = `v:${p.id}:${v.id}`;
        want.set(key, { key, participant: p.id, name: p.name, track: v.id, source: v.source, showSource: videos.length > 1 });
      }
    }
    for (const t of this.remote.values()) {
      if (t.kind !== 'video' || t.participant === this.selfId) continue;
      const key = `v:${t.participant}:${t.track}`;
      if (!want.has(key)) {
        want.set(key, { key, participant: t.participant, name: names.get(t.participant) ?? t.name, track: t.track, source: t.source, showSource: false });
      }
      names.set(t.participant, names.get(t.participant) ?? t.name);
    }
    for (const t of this.remote.values()) {
      if (t.participant !== this.selfId && !names.has(t.participant)) names.set(t.participant, t.name);
    }
    // Everyone without a video tile gets a name tile.
    const withVideo = new Set([...want.values()].map((s) => s.participant));
    for (const [id, name] of names) {
      if (withVideo.has(id)) continue;
      const key = `a:${id}`;
      want.set(key, { key, participant: id, name, track: '', source: '', showSource: false });
    }
    return want;
  }

  #render() {
    const want = this.#wanted();
    for (const [key, tile] of this.tiles) {
      if (want.has(key)) continue;
      tile.attach(null);
      tile.root.remove();
      this.tiles.delete(key);
    }
    for (const [key, spec] of want) {
      let tile = this.tiles.get(key);
      if (!tile) {
        tile = new Tile(spec);
        this.tiles.set(key, tile);
        this.grid.append(tile.root);
      } else {
        tile.update(spec);
      }
      tile.attach(this.#mediaFor(spec));
    }
    this.grid.dataset.count = String(this.tiles.size);
    this.#layout();
    if (this.lastSample) this.setStats(this.lastSample);
  }

  /** Removes every tile and sound: the call is over. */
  clear() {
    this.roster = [];
    this.remote.clear();
    for (const a of this.audios.values()) a.srcObject = null;
    this.audios.clear();
    this.audioSink.replaceChildren();
    this.#render();
  }

  // Picks the column count that gives the largest 16:9 tiles in the space
  // the grid has, then sets it through CSSOM (which CSP allows).
  #layout() {
    if (!this.resizeObserver) {
      this.resizeObserver = new ResizeObserver(() => this.#layout());
      this.resizeObserver.observe(this.grid);
    }
    const n = Math.max(1, this.tiles.size);
    const gap = 12;
    const width = Math.max(1, this.grid.clientWidth - 32);
    const height = Math.max(1, this.grid.clientHeight - 32);
    let best = { cols: 1, size: 0 };
    for (let cols = 1; cols <= n; cols++) {
      const rows = Math.ceil(n / cols);
      const w = (width - gap * (cols - 1)) / cols;
      const h = (height - gap * (rows - 1)) / rows;
      const size = Math.min(w, (h * 16) / 9); // width of the largest 16:9 box in a cell
      if (size > best.size) best = { cols, size };
    }
    const rows = Math.ceil(n / best.cols);
    if (this.grid.style.getPropertyValue('--cols') !== String(best.cols)) this.grid.style.setProperty('--cols', String(best.cols));
    if (this.grid.style.getPropertyValue('--rows') !== String(rows)) this.grid.style.setProperty('--rows', String(rows));
  }

  /** @param {TileSpec} spec @returns {RemoteTrack|null} */
  #mediaFor(spec) {
    if (!spec.track) return null;
    for (const t of this.remote.values()) {
      if (t.kind === 'video' && t.participant === spec.participant && t.track === spec.track) return t;
    }
    return null;
  }

  /** @param {string} participant @param {string} track '' for any @param {string} kind */
  #midOf(participant, track, kind) {
    for (const t of this.remote.values()) {
      if (t.participant === participant && t.kind === kind && (!track || t.track === track)) return t.mid;
    }
    return '';
  }

  /** @param {RemoteTrack} t */
  #addAudio(t) {
    const a = /** @type {HTMLAudioElement} */ (el('audio'));
    a.autoplay = true;
    a.srcObject = t.stream;
    this.audios.set(t.mid, a);
    this.audioSink.append(a);
    this.#play(a);
  }

  /** @param {HTMLAudioElement} a */
  #play(a) {
    // Browsers may refuse sound before the person has interacted with the
    // page; the UI then offers a button. A refusal is not an error.
    a.play().then(
      () => this.onAutoplay(false),
      (err) => {
        if (err instanceof DOMException && err.name === 'NotAllowedError') this.onAutoplay(true);
      },
    );
  }
}
