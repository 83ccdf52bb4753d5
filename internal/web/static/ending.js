// @ts-check
// The end screen of a call (call.js): what it says after one left, the call
// was ended for everyone, one was removed, the join was refused, or the
// connection was lost; and whether it offers Rejoin.

import { byId, sentence } from './dom.js';

/**
 * @param {{left: boolean, refused?: string, ended: {by: string, reason: string}|null, removed: string,
 *   kiosk: boolean, call: string}} o
 */
export function showEnded({ left, refused, ended, removed, kiosk, call }) {
  const retry = kiosk ? 'Trying again in a few seconds…' : 'Check the network, then rejoin.';
  byId('overlay-title').textContent = left ? 'You left the call'
    : ended ? 'The call has ended'
      : removed ? 'You were removed from the call'
        : refused ? 'Could not join the call' : 'The connection to the line was lost';
  byId('overlay-text').textContent = left ? `Call ${call}.`
    : ended ? `${sentence(ended.reason || 'the call was ended')}, by ${ended.by || 'the other side'}.`
      : removed ? `${sentence(removed)}.`
        : refused ? `${refused} ${kiosk ? retry : ''}` : retry;
  byId('overlay').dataset.reason = left ? 'left' : ended ? 'ended' : removed ? 'removed' : refused ? 'refused' : 'lost';
  byId('rejoin').setAttribute('href', `/call/${encodeURIComponent(call)}`);
  // An ended call cannot be joined again: no Rejoin.
  byId('rejoin').hidden = !!ended;
}
