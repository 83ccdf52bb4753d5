// @ts-check
// Who receives whose media in a live call (docs/PROTOCOL.md, "Routing"):
// the browser's copy of internal/route. The server forwards by this rule and
// every client sends its keys by it (keys follow the media), so both read it
// from what the roster carries: the call's segment and interpretation mode,
// each member's state, roles (from its verified credential), listening
// choice and booth. testdata/routing.json holds the cases both copies check.

import { MEDIA_ROLES } from './roles.js';

/** @typedef {{state: string, roles: string[], listening: string, interprets?: string, live?: boolean}} RouteMember */

/** The floor: what a member listens to unless it picks a language. */
export const LISTEN_FLOOR = 'floor';

/**
 * Whether a publication (its publisher and source label) goes to m in a
 * call in segment. The publisher itself is excluded by the caller.
 * @param {string} segment 'private' or 'public'
 * @param {RouteMember} m
 * @param {{publisher: RouteMember, source: string, mode?: string}} pub
 */
export function routes(segment, m, pub) {
  // Only members in the call take part in the media, at both ends.
  if (m.state !== 'in' || pub.publisher.state !== 'in') return false;
  // The private segment reaches the roles that receive media; the public
  // segment also reaches the press, the floor only.
  if (!m.roles.some((r) => MEDIA_ROLES.has(r))) {
    return segment === 'public' && pub.source !== 'interpretation' && m.roles.includes('press');
  }
  if (pub.source === 'interpretation') {
    // A channel: only the booth's live microphone, to the listeners of its
    // language, or to everyone in consecutive mode.
    const lang = pub.publisher.interprets || '';
    if (lang === '' || !pub.publisher.live) return false;
    return pub.mode === 'consecutive' || m.listening === lang;
  }
  // The floor: to everyone but an interpreter who relays a channel.
  return !m.interprets || m.listening === LISTEN_FLOOR;
}

/** The kinds of publication keyed() considers: the floor and an interpretation channel. */
const SOURCES = ['', 'interpretation'];

/**
 * Whether from's keys go to m: whether any publication from could make is
 * routed to m, under any listening choice, booth turn or mode (keys are sent
 * before anything is published, and picking a language must not wait for keys).
 * @param {string} segment @param {RouteMember} m @param {RouteMember} from
 */
export function keyed(segment, m, from) {
  const mm = { ...m, listening: LISTEN_FLOOR };
  const f = { ...from, live: true, interprets: from.interprets || 'und' };
  return SOURCES.some((source) => routes(segment, mm, { publisher: f, source, mode: 'consecutive' }));
}
