// @ts-check
// Connection quality from RTCPeerConnection.getStats(), sampled once a
// second. No DOM here: the UI renders what sample() returns, and the browser
// tests read the same numbers through window.hotline.state().

/**
 * Counters of one incoming mid, plus the loss over the last interval.
 * @typedef {{
 *   mid: string, kind: string,
 *   packetsReceived: number, packetsLost: number, bytesReceived: number,
 *   framesDecoded: number, framesPerSecond: number, frameWidth: number, frameHeight: number,
 *   audioLevel: number, lossPercent: number, intervalReceived: number, intervalLost: number
 * }} InboundSample
 */
/**
 * rttMs is null until ICE has measured one; bitrates are bits per second
 * over the last interval; inboundLossPercent covers every incoming stream.
 * @typedef {{
 *   rttMs: number|null, inbound: Map<string, InboundSample>,
 *   outboundBitrate: number, inboundBitrate: number, inboundLossPercent: number
 * }} Sample
 */

export class QualitySampler {
  /** @param {RTCPeerConnection} pc */
  constructor(pc) {
    this.pc = pc;
    /** @type {Map<string, {received: number, lost: number}>} counters at the previous sample */
    this.previous = new Map();
    /** @type {Map<string, {received: number, lost: number, frames: number}>} counters when the mid's owner changed */
    this.base = new Map();
    /** @type {Set<string>} mids whose owner changed since the last sample */
    this.restarted = new Set();
    this.prevBytesSent = 0;
    this.prevBytesReceived = 0;
    this.prevTime = 0;
  }

  /** @returns {Promise<Sample>} */
  async sample() {
    const report = await this.pc.getStats();
    /** @type {Map<string, InboundSample>} */
    const inbound = new Map();
    let rttMs = null;
    let selectedPair = '';
    let bytesSent = 0;
    /** @type {any[]} */
    const pairs = [];
    report.forEach((/** @type {any} */ s) => {
      switch (s.type) {
        case 'inbound-rtp':
          if (s.mid !== undefined) inbound.set(s.mid, this.#inbound(s));
          break;
        case 'outbound-rtp':
          bytesSent += s.bytesSent ?? 0;
          break;
        case 'transport':
          selectedPair = s.selectedCandidatePairId ?? selectedPair;
          break;
        case 'candidate-pair':
          pairs.push(s);
          break;
      }
    });
    // The round trip is the ICE consent check's, on the one bundled pair:
    // every tile shares it, since all media go through the server.
    const pair = pairs.find((p) => p.id === selectedPair) ?? pairs.find((p) => p.nominated && p.state === 'succeeded');
    if (pair && typeof pair.currentRoundTripTime === 'number') rttMs = pair.currentRoundTripTime * 1000;

    let bytesReceived = 0;
    let dReceived = 0;
    let dLost = 0;
    for (const s of inbound.values()) {
      bytesReceived += s.bytesReceived;
      dReceived += s.intervalReceived;
      dLost += s.intervalLost;
    }
    const now = performance.now();
    const seconds = this.prevTime ? (now - this.prevTime) / 1000 : 0;
    /** @param {number} bytes @param {number} prev */
    const bps = (bytes, prev) => (seconds > 0 ? Math.max(0, ((bytes - prev) * 8) / seconds) : 0);
    const sample = {
      rttMs,
      inbound,
      outboundBitrate: bps(bytesSent, this.prevBytesSent),
      inboundBitrate: bps(bytesReceived, this.prevBytesReceived),
      inboundLossPercent: dReceived + dLost > 0 ? (100 * dLost) / (dReceived + dLost) : 0,
    };
    this.prevTime = now;
    this.prevBytesSent = bytesSent;
    this.prevBytesReceived = bytesReceived;
    return sample;
  }

  /**
   * The mid now carries another participant's track (a reused m-line,
   * PROTOCOL.md): its counters start again from zero at the next sample.
   * @param {string} mid
   */
  restart(mid) {
    this.restarted.add(mid);
  }

  /** @param {any} s an inbound-rtp stats object */
  #inbound(s) {
    if (this.restarted.delete(s.mid)) {
      this.base.set(s.mid, { received: s.packetsReceived ?? 0, lost: Math.max(0, s.packetsLost ?? 0), frames: s.framesDecoded ?? 0 });
      this.previous.set(s.mid, { received: 0, lost: 0 });
    }
    const b = this.base.get(s.mid) ?? { received: 0, lost: 0, frames: 0 };
    const received = (s.packetsReceived ?? 0) - b.received;
    // packetsLost may go negative with duplicates (RFC 3550 §6.4.1).
    const lost = Math.max(0, (s.packetsLost ?? 0) - b.lost);
    const prev = this.previous.get(s.mid) ?? { received: 0, lost: 0 };
    const dReceived = Math.max(0, received - prev.received);
    const dLost = Math.max(0, lost - prev.lost);
    this.previous.set(s.mid, { received, lost });
    return {
      mid: s.mid,
      kind: s.kind,
      packetsReceived: received,
      packetsLost: lost,
      bytesReceived: s.bytesReceived ?? 0,
      framesDecoded: (s.framesDecoded ?? 0) - b.frames,
      framesPerSecond: s.framesPerSecond ?? 0,
      frameWidth: s.frameWidth ?? 0,
      frameHeight: s.frameHeight ?? 0,
      audioLevel: s.audioLevel ?? 0,
      lossPercent: dReceived + dLost > 0 ? (100 * dLost) / (dReceived + dLost) : 0,
      intervalReceived: dReceived,
      intervalLost: dLost,
    };
  }
}

/**
 * Grades a link for the tile badge. Thresholds follow common VoIP guidance
 * (ITU-T G.114: one-way delay under 150 ms is good; a few percent of loss is
 * where video starts to break up).
 * @param {number} lossPercent
 * @param {number|null} rttMs
 * @returns {'good'|'fair'|'poor'|'unknown'}
 */
export function grade(lossPercent, rttMs) {
  if (rttMs === null) return 'unknown';
  if (lossPercent >= 5 || rttMs >= 400) return 'poor';
  if (lossPercent >= 1 || rttMs >= 200) return 'fair';
  return 'good';
}
