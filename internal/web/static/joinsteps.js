// @ts-check
// The steps of joining a call, timed in the page (issue 17: "join fast").
// Each step is a performance.mark named `hotline:join:<step>` and a
// performance.measure from the start (`hotline:join:start`, the Join press
// or the kiosk's autojoin) to it; window.hotlineJoinSteps() returns them,
// in milliseconds since the start, for tests and benchmarks:
//
//   start        Join pressed (or autojoin began)
//   join-sent    the join message went out (its proof was signed)
//   welcome      the server admitted us
//   roster       the first roster arrived
//   offer        the first offer was applied (setRemoteDescription done)
//   answer       the first answer was made (it is sent at once)
//   ice-connected  ICE found a working pair
//   dtls-connected the connection is up (ICE and DTLS: connectionState)
//   key:<participant>    the first key of this publisher handed to the media worker
//   frame:<participant>  the first video frame of this publisher decoded
//
// Every step is recorded once per page (a rejoin does not move them).
// Nothing here changes what the call does: it only watches.

const PREFIX = 'hotline:join:';

export class JoinSteps {
  constructor() {
    /** @type {Map<string, number>} step → ms since start */
    this.steps = new Map();
    this.t0 = -1;
    /** @type {Set<string>} video tracks already watched, by participant and track id */
    this.watched = new Set();
    Object.defineProperty(window, 'hotlineJoinSteps', {
      configurable: true,
      value: () => ({ start: this.t0, steps: Object.fromEntries(this.steps) }),
    });
  }

  /** The Join press, or the autojoin; later calls do nothing. */
  start() {
    if (this.t0 >= 0) return;
    this.t0 = performance.mark(PREFIX + 'start').startTime;
    this.steps.set('start', 0);
  }

  /** Marks a step the first time it happens. @param {string} step */
  mark(step) {
    if (this.t0 < 0 || this.steps.has(step)) return;
    const m = performance.mark(PREFIX + step);
    this.steps.set(step, m.startTime - this.t0);
    try {
      performance.measure(PREFIX + step + ':since-start', PREFIX + 'start', PREFIX + step);
    } catch {
      // a cleared mark: the step above is what counts
    }
  }

  /**
   * Watches a connection: the first offer and answer, ICE and DTLS up.
   * @param {RTCPeerConnection} pc
   */
  watch(pc) {
    pc.addEventListener('signalingstatechange', () => {
      if (pc.signalingState === 'have-remote-offer') this.mark('offer');
      else if (pc.signalingState === 'stable' && pc.localDescription?.type === 'answer') this.mark('answer');
    });
    pc.addEventListener('iceconnectionstatechange', () => {
      if (pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed') this.mark('ice-connected');
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected') this.mark('dtls-connected');
    });
  }

  /**
   * A remote track arrived: for video, the moment its first frame comes
   * out of the decoder is the publisher's `frame:` step. Read from a clone
   * of the track (MediaStreamTrackProcessor, where the browser has it;
   * else the receiver's framesDecoded, polled), so the tile's own
   * playback is untouched.
   * @param {{participant: string, track: string, kind: string, mediaTrack: MediaStreamTrack}} t
   * @param {() => RTCRtpReceiver|undefined} receiver
   */
  track(t, receiver) {
    const step = `frame:${t.participant}`;
    const key = `${t.participant}/${t.track}`;
    if (t.kind !== 'video' || this.t0 < 0 || this.steps.has(step) || this.watched.has(key)) return;
    this.watched.add(key);
    const P = /** @type {any} */ (globalThis).MediaStreamTrackProcessor;
    if (typeof P === 'function') {
      const clone = t.mediaTrack.clone();
      const reader = new P({ track: clone }).readable.getReader();
      reader.read().then((/** @type {{value?: {close: () => void}}} */ r) => {
        if (r.value) {
          this.mark(step);
          r.value.close();
        }
      }).catch(() => {}).finally(() => {
        reader.cancel().catch(() => {});
        clone.stop();
      });
      return;
    }
    const poll = async () => {
      if (this.steps.has(step)) return;
      const r = receiver();
      if (!r || t.mediaTrack.readyState === 'ended') return;
      let decoded = 0;
      try {
        for (const s of (await r.getStats()).values()) if (s.type === 'inbound-rtp') decoded += s.framesDecoded ?? 0;
      } catch {
        return;
      }
      if (decoded > 0) this.mark(step);
      else setTimeout(() => void poll(), 20);
    };
    void poll();
  }
}

/** The page's one recorder (app.js starts it, call.js feeds it). */
export const joinSteps = new JoinSteps();
