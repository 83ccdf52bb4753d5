// @ts-check
// The record of a past call, on the schedule page: its time line, from the
// line's hash-chained call record (docs/PROTOCOL.md, "Call record"), and
// each side's readouts side by side (docs/API.md, "Readouts").
//
// The page shows; it does not verify: `hotline audit verify` and `hotline
// readout verify` check the chain and the signatures against the pins. Every
// text, a readout's included, goes in through textContent only (dom.js):
// one side's readout never becomes markup in the other side's browser.

import { byId, el } from './dom.js';
import { readoutForm } from './readout-form.js';

/** What each kind of entry is called on the time line. */
const LABEL = /** @type {Record<string, string>} */ ({
  requested: 'Requested', accepted: 'Accepted', declined: 'Declined', cancelled: 'Called off',
  started: 'Started', ended: 'Ended', opened: 'Live call opened', joined: 'Joined',
  admitted: 'Admitted from the lobby', called_in: 'Called in', sent_out: 'Sent out to the bench',
  moved: 'Moved', left: 'Left', removed: 'Removed', closed: 'Live call closed',
  key: 'New sender key', witness: 'Witness statement', head: 'Record head signed', readout: 'Readout published',
  segment: 'Segment changed (signed marker)', probe: 'Probe result (signed)', alert: 'Readiness changed',
});

/**
 * @typedef {{seq: number, at: number, kind: string, call?: string, name?: string, side?: string,
 *   from?: string, to?: string, by?: string, reason?: string, kid?: number, ref?: string}} Entry
 * @typedef {{id: string, call: string, side: string, name: string, published: number, corrects?: string, text: string}} Readout
 */

/**
 * Shows call id's time line and readouts in #sched-record, and to a writer
 * (a press officer or operator) the form for its side's readout.
 * @param {{record(): Promise<any>, readouts(): Promise<any>, publishReadout(s: unknown): Promise<any>}} api
 * @param {string} id the booked call
 * @param {string[]} sides the line's two sides, in the line's order
 * @param {import('./readout-form.js').Writer|null} [writer]
 */
export async function showRecord(api, id, sides, writer = null) {
  const box = byId('sched-record');
  box.hidden = false;
  box.dataset.call = id;
  box.dataset.state = 'loading';
  const title = el('h2', '', `Record of call ${id}`);
  box.replaceChildren(title);
  try {
    const [rec, ro] = await Promise.all([api.record(), api.readouts()]);
    /** @type {Entry[]} */
    const entries = (Array.isArray(rec?.entries) ? rec.entries : []).map((/** @type {string} */ s) => JSON.parse(s)).filter((/** @type {Entry} */ e) => e.call === id);
    /** @type {Readout[]} */
    const readouts = (Array.isArray(ro?.readouts) ? ro.readouts : []).filter((/** @type {Readout} */ r) => r.call === id);
    box.append(timeline(entries), readoutColumns(readouts, sides));
    if (writer) {
      const own = readouts.filter((r) => r.side === writer.side);
      box.append(readoutForm(api, writer, id, own, () => void showRecord(api, id, sides, writer)));
    }
    box.dataset.entries = String(entries.length);
    box.dataset.state = 'ready';
  } catch (err) {
    box.append(el('p', 'form-error', `The record could not be read: ${err instanceof Error ? err.message : err}`));
    box.dataset.state = 'error';
  }
  box.scrollIntoView({ block: 'nearest' });
}

/** @param {Entry[]} entries */
function timeline(entries) {
  const ol = el('ol', 'record-timeline');
  ol.id = 'record-timeline';
  for (const e of entries) {
    const li = el('li', 'record-entry');
    li.dataset.kind = e.kind;
    li.dataset.seq = String(e.seq);
    const when = new Date(e.at).toISOString().slice(11, 19) + ' UTC';
    li.append(el('span', 'record-time', when), el('span', 'record-kind', LABEL[e.kind] ?? e.kind));
    const who = e.name ? `${e.name}${e.side ? ` (${e.side})` : ''}` : '';
    const more = [who, e.by ? `by ${e.by}` : '', e.kind === 'key' && e.kid !== undefined ? `epoch ${e.kid % 65536}` : '',
      e.kind === 'left' && e.reason ? e.reason : '', e.kind === 'closed' && e.reason ? e.reason : '',
      e.kind === 'segment' && e.to ? `now ${e.to}` : ''].filter(Boolean).join(', ');
    if (more) li.append(el('span', 'record-who', more));
    ol.append(li);
  }
  if (entries.length === 0) ol.append(el('li', 'muted', 'Nothing recorded for this call.'));
  return ol;
}

/** @param {Readout[]} readouts @param {string[]} sides */
function readoutColumns(readouts, sides) {
  const wrap = el('div', 'record-readouts');
  wrap.id = 'record-readouts';
  for (const side of sides) {
    const col = el('div', 'record-side');
    col.dataset.side = side;
    col.append(el('h3', '', `Readout of ${side}`));
    const own = readouts.filter((r) => r.side === side);
    for (const r of own) {
      const art = el('article', 'record-readout');
      art.dataset.id = r.id;
      const meta = `${r.name}, ${new Date(r.published * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC${r.corrects ? ` — corrects ${r.corrects}` : ''}`;
      art.append(el('p', 'muted', meta), el('div', 'record-text', r.text));
      col.append(art);
    }
    if (own.length === 0) col.append(el('p', 'muted', 'No readout.'));
    wrap.append(col);
  }
  return wrap;
}
