// @ts-check
// The call's segment on the call page (PROTOCOL.md, "Segments"): a badge
// that says whether the call is Public (the press receives it) or Private,
// as this browser verified it from the last marker, and for a principal,
// press officer or operator the button that opens the public segment or
// goes private: the page signs the marker with its own device key and
// posts it through the calls API; every client then checks it.

import { CallsApi } from './api.js';
import { el, toast } from './dom.js';
import { signMarker } from './e2ee/marker.js';

/** The roles that may run the public segment (internal/role's matrix). */
const RUN_SEGMENT = ['principal', 'press_officer', 'operator'];

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
    this.box.append(this.badge, this.button);
    parent.append(this.box);
    this.segment = 'private';
  }

  /** @param {{segment: string, segmentBy: string, segmentError: string, members: Array<{self: boolean, roles: string[]}>}} st */
  render(st) {
    this.segment = st.segment;
    this.box.dataset.segment = st.segment;
    this.badge.textContent = st.segment === 'public' ? 'Public' : 'Private';
    this.badge.title = st.segment === 'public'
      ? `The press receives this part (opened by ${st.segmentBy})`
      : st.segmentError ? `Private (a segment claim was refused: ${st.segmentError})` : 'Private: the press receives nothing';
    const me = st.members.find((m) => m.self);
    this.button.hidden = !me || !me.roles.some((r) => RUN_SEGMENT.includes(r));
    this.button.textContent = st.segment === 'public' ? 'Go private' : 'Go public';
  }

  async #toggle() {
    const next = this.segment === 'public' ? 'private' : 'public';
    this.button.disabled = true;
    try {
      const api = new CallsApi({ credential: this.identity.credential, line: this.line, sigPrivate: this.identity.sigPrivate });
      const cur = await api.segment(this.call);
      const m = await signMarker(this.identity.sigPrivate, this.identity.credential, this.line, this.call, next, Number(cur.seq) + 1, Date.now());
      await api.setSegment(this.call, m);
    } catch (err) {
      toast(`Could not go ${next}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.button.disabled = false;
    }
  }
}
