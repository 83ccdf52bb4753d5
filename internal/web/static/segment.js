// @ts-check
// The call's segment on the call page (PROTOCOL.md, "Segments"): a badge
// that says whether the call is Public (the press receives it) or Private,
// as this browser verified it from the last marker, and for a principal,
// press officer or operator the button that opens the public segment or
// goes private: the page signs the marker with its own device key and
// posts it through the calls API; every client then checks it.
//
// A booked opening (the roster's `opening`, PROTOCOL.md "A booked
// opening"): while the call was never opened, such a member's page asks
// "Open to the press now?"; one press signs the opening marker. Everyone's
// page then counts down from that marker's time plus the booked length,
// and at zero the page of every member who may run the segment signs the
// marker that goes private (the first one the server takes wins). The
// server states the booking; it cannot open the segment.

import { CallsApi } from './api.js';
import { el, toast } from './dom.js';
import { signMarker } from './e2ee/marker.js';

/** The roles that may run the public segment (internal/role's matrix). */
const RUN_SEGMENT = ['principal', 'press_officer', 'operator'];

/** @param {number} ms @returns {string} "m:ss" */
function clock(ms) {
  const s = Math.ceil(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** @param {number} ms @returns {string} the booked length, "10 min" or "45 s" */
function length(ms) {
  return ms >= 60000 && ms % 60000 === 0 ? `${ms / 60000} min` : `${Math.round(ms / 1000)} s`;
}

export class SegmentUI {
  /**
   * @param {HTMLElement} parent where the badge goes (the call's info line)
   * @param {{identity: any, line: string}} auth @param {string} call
   */
  constructor(parent, auth, call) {
    this.identity = auth.identity;
    this.line = auth.line;
    this.call = call;
    this.box = el('span', 'meta segment');
    this.box.id = 'segment';
    this.badge = el('span', 'segment-badge');
    this.button = /** @type {HTMLButtonElement} */ (el('button', 'segment-action'));
    this.button.id = 'segment-action';
    this.button.hidden = true;
    this.button.onclick = () => void this.#toggle();
    this.countdown = el('span', 'segment-countdown');
    this.countdown.id = 'segment-countdown';
    this.countdown.hidden = true;
    this.offer = el('span', 'segment-offer');
    this.offer.id = 'segment-offer';
    this.offer.hidden = true;
    this.offerText = el('span');
    const open = el('button', '', 'Open');
    open.id = 'segment-open';
    open.onclick = () => { this.offer.hidden = true; this.dismissed = true; this.shown = this.opening; void this.#post('public', 1); };
    const notNow = el('button', '', 'Not now');
    notNow.onclick = () => { this.offer.hidden = true; this.dismissed = true; };
    this.offer.append(this.offerText, open, notNow);
    this.box.append(this.badge, this.button, this.countdown, this.offer);
    parent.append(this.box);
    this.segment = 'private';
    this.seq = 0;
    this.at = 0;
    this.opening = 0;
    this.mayRun = false;
    this.dismissed = false;
    /** the booked length shown when this page opened the segment (0: it did not) */
    this.shown = 0;
    /** the seq of the opening this page has closed */
    this.closed = 0;
    setInterval(() => this.#tick(), 250);
  }

  /**
   * @param {{segment: string, segmentBy: string, segmentError: string, segmentSeq: number, segmentAt: number, members: Array<{self: boolean, roles: string[]}>}} st
   * @param {number} opening the booked public opening (ms; 0: none), the roster's
   */
  render(st, opening) {
    this.segment = st.segment;
    this.seq = Number(st.segmentSeq) || 0;
    this.at = Number(st.segmentAt) || 0;
    // The end is never later than the length this page's person confirmed.
    this.opening = this.shown > 0 && !(opening > 0 && opening < this.shown) ? this.shown : opening;
    this.box.dataset.segment = st.segment;
    this.badge.textContent = st.segment === 'public' ? 'Public' : 'Private';
    this.badge.title = st.segment === 'public'
      ? `The press receives this part (opened by ${st.segmentBy})`
      : st.segmentError ? `Private (a segment claim was refused: ${st.segmentError})` : 'Private: the press receives nothing';
    const me = st.members.find((m) => m.self);
    this.mayRun = !!me && me.roles.some((r) => RUN_SEGMENT.includes(r));
    this.button.hidden = !this.mayRun;
    this.button.textContent = st.segment === 'public' ? 'Go private' : 'Go public';
    this.offer.hidden = !(this.mayRun && opening > 0 && this.seq === 0 && !this.dismissed);
    this.offerText.textContent = `Open to the press now (booked: ${length(opening)})?`;
    this.#tick();
  }

  /** The booked opening's countdown, and its automatic close at zero. */
  #tick() {
    const end = this.opening > 0 && this.segment === 'public' && this.seq === 1 ? this.at + this.opening : 0;
    this.countdown.hidden = !end;
    if (!end) return;
    const left = Math.max(0, end - Date.now());
    this.countdown.textContent = left > 0 ? `Private in ${clock(left)}` : 'Going private';
    if (left === 0 && this.mayRun && this.closed !== this.seq) {
      this.closed = this.seq;
      void this.#post('private', this.seq + 1);
    }
  }

  async #toggle() {
    const next = this.segment === 'public' ? 'private' : 'public';
    this.button.disabled = true;
    try {
      const cur = await this.#api().segment(this.call);
      // Above the server's last marker and above the one this page holds
      // (verified): a server that states a lower seq cannot have our
      // marker signed below an opening we held, to replay that opening to
      // another member after it (docs/MODEL.md, P6).
      await this.#post(next, Math.max(Number(cur.seq) || 0, this.seq) + 1);
    } catch (err) {
      toast(`Could not go ${next}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.button.disabled = false;
    }
  }

  #api() {
    return new CallsApi({ credential: this.identity.credential, line: this.line, sigPrivate: this.identity.sigPrivate });
  }

  /**
   * Signs and posts the marker that moves the call into next as its seq-th
   * change. A conflict (409: another member's marker came first) is no
   * failure: the call is already where it was going.
   * @param {string} next @param {number} seq
   */
  async #post(next, seq) {
    try {
      const m = await signMarker(this.identity.sigPrivate, this.identity.credential, this.line, this.call, next, seq, Date.now());
      await this.#api().setSegment(this.call, m);
    } catch (err) {
      if (/** @type {any} */ (err)?.status === 409) return;
      toast(`Could not go ${next}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
