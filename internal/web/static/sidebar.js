// @ts-check
// The side panel of a call: who is in it (with what they send) and how the
// link is doing. Pure rendering from the roster and the quality sample.

import { byId, el, icon, initials } from './dom.js';
import { grade } from './quality.js';

/** @typedef {import('./protocol.js').Participant} Participant */
/** @typedef {import('./quality.js').Sample} Sample */

/** @typedef {'admit'|'call_in'|'send_out'|'remove'} Action */
/**
 * What the panel may offer for each participant, and what runs it.
 * @typedef {{offer: (p: Participant) => Action[], run: (p: Participant, a: Action) => void}} RosterActions
 */

/** Removal is two clicks: "Remove", then "Confirm" within this time. */
const CONFIRM_MS = 4000;

/** @type {Record<Action, string>} */
const LABELS = { admit: 'Admit', call_in: 'Call in', send_out: 'Send out', remove: 'Remove' };

/** How the panel names a participant's place, if not simply in the call. */
/** @type {Record<string, string>} */
const PLACES = { waiting: 'in the lobby', bench: 'on the bench' };

/** @param {Participant[]} roster @param {string} selfId @param {RosterActions} [actions] */
export function renderRoster(roster, selfId, actions) {
  const list = byId('roster');
  // Ourselves first, then everyone else in the server's (join) order.
  const ordered = [...roster].sort((a, b) => Number(b.id === selfId) - Number(a.id === selfId));
  const offers = new Map(ordered.map((p) => [p.id, actions?.offer(p) ?? []]));
  // The panel is rebuilt only when what it shows changed: a button under
  // the pointer stays the same element while keys and rosters come and go.
  const shown = JSON.stringify(ordered.map((p) => [p.id, p.name, p.state, p.tracks.map((t) => t.kind), offers.get(p.id)]));
  if (list.dataset.shown === shown) return;
  list.dataset.shown = shown;
  list.replaceChildren(
    ...ordered.map((p) => {
      const li = el('li', 'roster-entry');
      const who = el('span', 'roster-name', p.name);
      if (p.id === selfId) who.append(el('span', 'roster-you', 'you'));
      const media = el('span', 'roster-media');
      const cams = p.tracks.filter((t) => t.kind === 'video').length;
      const mics = p.tracks.filter((t) => t.kind === 'audio').length;
      if (mics) media.append(icon('mic'));
      for (let i = 0; i < cams; i++) media.append(icon('cam'));
      if (!mics && !cams) media.append(el('span', 'roster-none', 'receiving'));
      li.dataset.id = p.id;
      li.dataset.state = p.state ?? '';
      const place = PLACES[p.state ?? ''];
      if (place) {
        media.replaceChildren(el('span', 'roster-place', place));
      }
      const buttons = el('span', 'roster-actions');
      for (const a of offers.get(p.id) ?? []) {
        buttons.append(a === 'remove' ? removeButton(p, (q) => actions?.run(q, 'remove')) : actionButton(p, a, (q) => actions?.run(q, a)));
      }
      li.append(el('span', 'roster-avatar', initials(p.name)), who, media, buttons);
      return li;
    }),
  );
  byId('roster-count').textContent = String(roster.length);
}

/** @param {Participant} p @param {Action} a @param {(p: Participant) => void} run */
function actionButton(p, a, run) {
  const b = /** @type {HTMLButtonElement} */ (el('button', `roster-act act-${a}`, LABELS[a]));
  b.type = 'button';
  b.dataset.action = a;
  b.title = `${LABELS[a]} ${p.name}`;
  b.addEventListener('click', () => {
    b.disabled = true;
    run(p);
  });
  return b;
}

/** Removals armed by a first click: participant id → until when (ms). */
const armed = new Map();

/** @param {Participant} p @param {(p: Participant) => void} onRemove */
function removeButton(p, onRemove) {
  const b = /** @type {HTMLButtonElement} */ (el('button', 'roster-act roster-remove', 'Remove'));
  b.dataset.action = 'remove';
  b.type = 'button';
  b.title = `Remove ${p.name} from the call`;
  /** @param {boolean} on */
  const show = (on) => {
    b.dataset.armed = String(on);
    b.textContent = on ? 'Confirm' : 'Remove';
  };
  // A panel rebuilt between the two clicks keeps the first one.
  const until = armed.get(p.id) ?? 0;
  show(until > Date.now());
  if (until > Date.now()) window.setTimeout(() => show(false), until - Date.now());
  b.addEventListener('click', () => {
    if ((armed.get(p.id) ?? 0) <= Date.now()) {
      armed.set(p.id, Date.now() + CONFIRM_MS);
      show(true);
      window.setTimeout(() => show(false), CONFIRM_MS);
      return;
    }
    armed.delete(p.id);
    b.disabled = true;
    b.textContent = 'Removing…';
    onRemove(p);
  });
  return b;
}

/** @param {Sample} s */
export function renderLink(s) {
  byId('ls-rtt').textContent = s.rttMs === null ? '–' : `${Math.round(s.rttMs)} ms`;
  byId('ls-up').textContent = rate(s.outboundBitrate);
  byId('ls-down').textContent = rate(s.inboundBitrate);
  byId('ls-loss').textContent = `${s.inboundLossPercent.toFixed(1)} %`;
  byId('link-panel').dataset.grade = grade(s.inboundLossPercent, s.rttMs);
}

/** @param {number} bps */
function rate(bps) {
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(2)} Mbit/s` : `${Math.round(bps / 1e3)} kbit/s`;
}
