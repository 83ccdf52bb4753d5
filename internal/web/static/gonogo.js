// @ts-check
// The go/no-go badge of a booked call on the schedule (docs/API.md,
// "Readiness"): the server judges it from the readiness probes' test calls
// in the hour before the call; the page only shows it.
import { el } from './dom.js';

/** @typedef {{badge: string, state?: string, reason: string, run?: string}} Readiness */

/** @type {Record<string, string>} */
const LABEL = { go: 'Line: GO', 'no-go': 'Line: NO-GO', unknown: 'Line: not probed' };

/**
 * The badge of a call's readiness.
 * @param {Readiness} r
 */
export function goBadge(r) {
  const b = el('span', 'sched-go', LABEL[r.badge] ?? r.badge);
  b.dataset.go = r.badge;
  b.title = r.reason + (r.run ? ` (test call ${r.run})` : '');
  return b;
}
