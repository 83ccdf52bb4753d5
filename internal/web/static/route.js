// @ts-check
// Who receives whose media in a live call (docs/PROTOCOL.md, "Routing"):
// the browser's copy of internal/route. The server forwards by this rule and
// every client sends its keys by it (keys follow the media), so both read it
// from what the roster carries: the call's segment, each member's state,
// roles (from its verified credential) and listening choice.
// testdata/routing.json holds the cases both copies check.

import { MEDIA_ROLES } from './roles.js';

/** @typedef {{state: string, roles: string[], listening: string}} RouteMember */

/** The floor: what a member listens to unless it picks a language. */
export const LISTEN_FLOOR = 'floor';

/**
 * Whether a publication (its publisher and source label) goes to m in a
 * call in segment. The publisher itself is excluded by the caller.
 * @param {string} segment 'private' or 'public'
 * @param {RouteMember} m
 * @param {{publisher: RouteMember, source: string}} pub
 */
export function routes(segment, m, pub) {
  // Only members in the call take part in the media, at both ends.
  if (m.state !== 'in' || pub.publisher.state !== 'in') return false;
  // The private segment reaches the roles that receive media; every
  // listening choice hears every publication for now.
  if (m.roles.some((r) => MEDIA_ROLES.has(r))) return true;
  // The public segment also reaches the press: the floor only.
  return segment === 'public' && pub.source !== 'interpretation' && m.roles.includes('press');
}

/** The kinds of publication keyed() considers: the floor and an interpretation channel. */
const SOURCES = ['', 'interpretation'];

/**
 * Whether from's keys go to m: whether any publication from could make is
 * routed to m (keys are sent before anything is published).
 * @param {string} segment @param {RouteMember} m @param {RouteMember} from
 */
export function keyed(segment, m, from) {
  return SOURCES.some((source) => routes(segment, m, { publisher: from, source }));
}
