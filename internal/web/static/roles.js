// @ts-check
// What each role may send and receive (internal/role's permission matrix,
// the columns a client needs before it joins). The server enforces the
// matrix; these lists only keep a client from asking for what it will be
// refused. internal/web's TestRoleListsMatch pins them to the Go matrix.

/** Roles that receive media (receive_media): whom keys are sent to. */
export const MEDIA_ROLES = new Set(['principal', 'adviser', 'interpreter', 'press_officer', 'monitor', 'probe']);

/** Roles that may publish audio (publish_audio or publish_interpretation). */
export const AUDIO_ROLES = new Set(['principal', 'adviser', 'interpreter', 'press_officer', 'probe']);

/** Roles that may publish video (publish_video). */
export const VIDEO_ROLES = new Set(['principal', 'adviser', 'press_officer', 'probe']);

/** Roles that see the line's schedule (view_schedule). */
export const SCHEDULE_ROLES = new Set(['principal', 'adviser', 'interpreter', 'operator', 'press_officer']);

/** Roles that request, answer, call off and end calls (request_call and the rest). */
export const WORKFLOW_ROLES = new Set(['principal', 'operator']);

/** Roles that see past calls (view_history). */
export const HISTORY_ROLES = new Set(['principal', 'operator', 'press_officer']);

/** Roles that publish a side's readout of a call (audit.ReadoutRoles). */
export const READOUT_ROLES = new Set(['press_officer', 'operator']);

/**
 * Whether any of roles is in set.
 * @param {Set<string>} set
 * @param {string[]} roles
 */
export function anyIn(set, roles) {
  return roles.some((r) => set.has(r));
}
