// @ts-check
// Puts every sender's and receiver's encoded frames of a call through the
// media worker (worker.js, docs/PROTOCOL.md "Frame encryption"), by
// whichever API this browser has; protocol.js's Session calls the hooks.
//
// - 'streams': createEncodedStreams on a connection made with
//   encodedInsertableStreams (Chromium). It fails closed: such a connection
//   sends no frame of a sender whose streams are not piped. Chromium keeps
//   this path whenever it has it.
// - 'script': the standard RTCRtpScriptTransform (Firefox, Safari), where
//   createEncodedStreams is missing. It does not fail closed: a browser
//   that ignores a transform sends the frames in clear (Chromium 156 does so
//   for a transceiver that a remote offer created once a replaceTrack has
//   completed on the connection; BROWSER_TESTS.md). So the Session sets the
//   transforms of an offer's new senders before any of their tracks, and
//   each sender first carries a disabled copy of its track (black or silent
//   frames, nothing of the camera or microphone) until the worker has seen
//   its frames; only then does the real track go out. A sender whose frames
//   leave without reaching the worker is stopped and the page told.
//
// A browser with neither has no way to encrypt media: framesPath() is null
// and the call must refuse to join (call.js does).

/** @typedef {'streams'|'script'} FramesPath */

/** How often, and how long at most, a new sender's transform is checked. */
const CHECK_EVERY_MS = 100;
const CHECK_FOR_MS = 60_000;

/**
 * The frame API this browser offers, Chromium's first.
 * @returns {FramesPath|null}
 */
export function framesPath() {
  const g = /** @type {any} */ (globalThis);
  if (typeof g.RTCRtpSender?.prototype?.createEncodedStreams === 'function' &&
      typeof g.RTCRtpReceiver?.prototype?.createEncodedStreams === 'function') return 'streams';
  if (typeof g.RTCRtpScriptTransform === 'function') return 'script';
  return null;
}

export class FramePipe {
  /**
   * @param {Worker} worker the call's media worker
   * @param {FramesPath|null} path
   * @param {(message: string) => void} onerror a sender that cannot be encrypted, told once
   */
  constructor(worker, path, onerror) {
    this.worker = worker;
    this.path = path;
    this.onerror = onerror;
    /** the Session's connection needs encodedInsertableStreams */
    this.insertable = path === 'streams';
    /** receivers already attached, by the stream name the worker knows them by @type {WeakMap<RTCRtpReceiver, string>} */
    this.receivers = new WeakMap();
    /** senders' stream names @type {WeakMap<RTCRtpSender, string>} */
    this.senders = new WeakMap();
    /** senders whose transform the worker has seen frames from @type {WeakSet<RTCRtpSender>} */
    this.live = new WeakSet();
    /** senders that failed the check: they send nothing from now on @type {WeakSet<RTCRtpSender>} */
    this.refused = new WeakSet();
    /** senders being checked → the track to send once they pass @type {Map<RTCRtpSender, MediaStreamTrack|null>} */
    this.wanted = new Map();
    this.streams = 0;
    this.asked = 0;
    this.closed = false;
  }

  /** @param {any} end an RTCRtpSender or RTCRtpReceiver @param {object} options */
  #pipe(end, options) {
    if (this.path === 'streams') {
      const { readable, writable } = end.createEncodedStreams();
      this.worker.postMessage({ type: 'streams', options, readable, writable }, [readable, writable]);
    } else if (this.path === 'script') {
      end.transform = new RTCRtpScriptTransform(this.worker, options);
    } else {
      throw new Error('this browser cannot encrypt media end to end');
    }
  }

  /** @param {RTCRtpSender} sender @param {'audio'|'video'} kind */
  attachSender(sender, kind) {
    const stream = `s${++this.streams}`;
    this.senders.set(sender, stream);
    this.#pipe(sender, { direction: 'send', kind, stream });
  }

  /**
   * The publisher's sender tag comes with each roster ('sender-tags'). A
   * receiver is attached once; an m-line reused for another publisher is
   * re-pointed instead.
   * @param {RTCRtpReceiver} receiver
   * @param {{participant: string, kind: 'audio'|'video'}} entry
   */
  attachReceiver(receiver, entry) {
    const known = this.receivers.get(receiver);
    if (known) {
      this.worker.postMessage({ type: 'publisher', stream: known, participant: entry.participant });
      return;
    }
    const stream = `r${++this.streams}`;
    this.receivers.set(receiver, stream);
    this.#pipe(receiver, { direction: 'recv', kind: entry.kind, participant: entry.participant, stream });
  }

  /**
   * Puts track on sender. On the script path a sender's first track waits
   * until the worker has seen the sender's frames (see above); it returns
   * without waiting, since those frames flow only once the answer is sent.
   * @param {RTCRtpSender} sender
   * @param {MediaStreamTrack|null} track
   */
  async setTrack(sender, track) {
    if (this.path !== 'script' || this.live.has(sender)) return sender.replaceTrack(track);
    if (this.refused.has(sender)) return sender.replaceTrack(null);
    if (this.wanted.has(sender)) {
      this.wanted.set(sender, track); // the check under way sends the latest
      if (!track) await sender.replaceTrack(null);
      return;
    }
    if (!track) return sender.replaceTrack(null);
    const stand = track.clone();
    stand.enabled = false; // black or silent frames
    this.wanted.set(sender, track);
    await sender.replaceTrack(stand);
    void this.#check(sender, stand);
  }

  /** @param {RTCRtpSender} sender @param {MediaStreamTrack} stand */
  async #check(sender, stand) {
    const stream = this.senders.get(sender) ?? '';
    const until = Date.now() + CHECK_FOR_MS;
    /** @type {'live'|'bypassed'|'silent'} */
    let verdict = 'silent';
    let bypassed = 0; // polls in a row that saw packets leave and no frame in the worker
    while (!this.closed && Date.now() < until && sender.track === stand) {
      // The sender's packets first: if any left while its transform had
      // seen no frame, the browser bypassed the transform.
      const sent = await packetsSent(sender);
      const seen = (await this.#stats())?.seen?.[stream] ?? 0;
      if (seen > 0) {
        verdict = 'live';
        break;
      }
      bypassed = sent > 0 ? bypassed + 1 : 0;
      if (bypassed >= 3) { // not a padding packet or two: media left unencrypted
        verdict = 'bypassed';
        break;
      }
      await new Promise((r) => setTimeout(r, CHECK_EVERY_MS));
    }
    const want = this.wanted.get(sender) ?? null;
    this.wanted.delete(sender);
    try {
      if (sender.track !== stand || this.closed) return; // unpublished or closed meanwhile
      if (verdict === 'live') {
        this.live.add(sender);
        await sender.replaceTrack(want);
        return;
      }
      this.refused.add(sender);
      await sender.replaceTrack(null);
      if (verdict === 'bypassed') {
        this.onerror(`this browser sent a ${stand.kind} track without running the end-to-end encryption on it; that track is not sent`);
      } else if (!this.closed) {
        this.onerror(`the end-to-end encryption of a ${stand.kind} track never started; that track is not sent`);
      }
    } catch {
      // The connection closed under us: nothing is sent any more anyway.
    } finally {
      stand.stop();
    }
  }

  /** The worker's counters, or null if it does not answer. */
  #stats() {
    const id = `pipe${++this.asked}`;
    return new Promise((resolve) => {
      const done = (/** @type {any} */ v) => {
        clearTimeout(timer);
        this.worker.removeEventListener('message', on);
        resolve(v);
      };
      const on = (/** @type {MessageEvent} */ ev) => {
        if (ev.data?.type === 'stats' && ev.data.id === id) done(ev.data);
      };
      const timer = setTimeout(() => done(null), 2000);
      this.worker.addEventListener('message', on);
      this.worker.postMessage({ type: 'stats', id });
    });
  }

  close() {
    this.closed = true;
  }
}

/** @param {RTCRtpSender} sender @returns {Promise<number>} */
async function packetsSent(sender) {
  let n = 0;
  try {
    for (const r of (await sender.getStats()).values()) if (r.type === 'outbound-rtp') n += r.packetsSent ?? 0;
  } catch {
    // no stats yet
  }
  return n;
}
