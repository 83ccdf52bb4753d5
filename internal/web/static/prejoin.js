// @ts-check
// What a join needs before its first message, prepared ahead of the Join
// press (issue 17, "join fast"): this device's identity, its credential
// checked against its pins, and the line's upcoming calls (is the call a
// booked phone call?). The start page begins it as it opens, a kiosk
// while its camera opens; Call.start takes the result. A preparation older
// than a minute is made again (a credential may expire, a booking change).

import { CallsApi } from './api.js';
import { SCHEDULE_ROLES, anyIn } from './roles.js';
import { loadIdentity } from './e2ee/identity.js';
import { verifyCredential } from './e2ee/trust.js';

const FRESH_MS = 60_000;

/** The reason of `me` when this browser holds no credential. */
export const NOT_ENROLLED = 'this browser is not enrolled';

/**
 * @typedef {object} Prepared
 * @property {any} identity this device (identity.js), null if not enrolled
 * @property {{ok: true, name: string, side: string, roles: string[]}|{ok: false, reason: string}} me what its credential says, verified
 * @property {string} line the line to join: the address's, else the identity's
 * @property {Promise<{calls?: {id: string, kind?: string}[]}|null>} upcoming the line's upcoming calls, null if this device may not see them or the request failed
 */

/** @type {{at: number, prepared: Promise<Prepared>}|null} */
let held = null;

/**
 * Starts (or returns) the preparation.
 * @returns {Promise<Prepared>}
 */
export function prepareJoin() {
  if (!held || Date.now() - held.at > FRESH_MS) held = { at: Date.now(), prepared: prepare() };
  return held.prepared;
}

/** @returns {Promise<Prepared>} */
async function prepare() {
  const identity = await loadIdentity().catch(() => null);
  const me = identity?.credential && identity.pins
    ? await verifyCredential(identity.credential, identity.pins, Math.floor(Date.now() / 1000))
    : { ok: false, reason: NOT_ENROLLED };
  const line = new URLSearchParams(location.search).get('line') || identity?.line || '';
  // Only a role that may see the schedule asks; an ad hoc call name is not
  // an error, and a failed request means an ad hoc video call.
  const upcoming = identity && me.ok && anyIn(SCHEDULE_ROLES, me.roles)
    ? new CallsApi({ credential: identity.credential, line, sigPrivate: identity.sigPrivate }).listCalls().catch(() => null)
    : Promise.resolve(null);
  upcoming.catch(() => {});
  return { identity, me, line, upcoming };
}
