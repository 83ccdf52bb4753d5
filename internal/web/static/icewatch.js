// @ts-check
// ICE restart requests (PROTOCOL.md, "Reconnecting"). When the connection
// goes "disconnected" or "failed" (the network changed, an address went
// away), the client asks the server for an ICE restart, and again every few
// seconds while it stays down. The server always offers, so the browser's
// own restartIce() would wait for an offer the client never makes; the
// server's offer with new ICE credentials restarts both agents instead. The
// session, keys and membership stay. An offer that does not come means the
// signalling socket died too (its TCP connection does not survive an
// address change): then the socket is given up, to be resumed on a new one.

/**
 * How long "disconnected" may last before a restart is asked for: Chromium
 * reports it after a few missed consent checks and often recovers by itself
 * (a busy machine, a burst of loss); "failed" is acted on at once.
 */
const DISCONNECTED_MS = 2000;
/** How often an ICE restart is asked for again while the connection stays down. */
const RETRY_MS = 4000;
/** An ICE restart request that brings no offer within this long means the signalling socket is dead too. */
const ANSWER_MS = 3000;

export class IceWatch {
  /**
   * @param {RTCPeerConnection} pc
   * @param {() => void} ask sends restart_ice
   * @param {() => void} socketDead the request went unanswered
   */
  constructor(pc, ask, socketDead) {
    this.pc = pc;
    this.ask = ask;
    this.socketDead = socketDead;
    /** ICE restarts asked for */
    this.restarts = 0;
    this.last = 0;
    /** when the first request not yet answered by an offer went out (0: none) */
    this.firstAsk = 0;
    this.timer = 0;
    /** when the connection went down (0: it is up) */
    this.downSince = 0;
  }

  /** The connection state changed. */
  changed() {
    if (!this.#down()) {
      this.downSince = 0;
      this.stop();
      return;
    }
    this.downSince ||= Date.now();
    this.#tick();
    if (!this.timer) this.timer = setInterval(() => this.#tick(), 1000);
  }

  /** An offer arrived: it answers any restart request. */
  offered() {
    this.firstAsk = 0;
  }

  stop() {
    clearInterval(this.timer);
    this.timer = 0;
  }

  #down() {
    return this.pc.connectionState === 'disconnected' || this.pc.connectionState === 'failed';
  }

  #tick() {
    if (!this.#down()) return;
    if (this.pc.connectionState === 'disconnected' && Date.now() - this.downSince < DISCONNECTED_MS) return;
    if (this.firstAsk && Date.now() - this.firstAsk > ANSWER_MS) {
      this.firstAsk = 0;
      this.socketDead();
      return;
    }
    if (Date.now() - this.last < RETRY_MS) return;
    this.last = Date.now();
    this.firstAsk ||= this.last;
    this.restarts++;
    this.ask();
  }
}
