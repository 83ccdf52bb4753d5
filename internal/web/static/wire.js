// @ts-check
// Small pieces of the signalling wire format (PROTOCOL.md) that protocol.js
// uses: decoding a server message, base64url, a track's announcement.

/** @param {import('./protocol.js').LocalTrack} t @returns {import('./protocol.js').TrackInfo} */
export function info(t) {
  return { id: t.id, kind: t.kind, source: t.source };
}

/**
 * Decodes base64url without padding.
 * @param {string} s
 */
export function fromB64u(s) {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

/** @param {unknown} data */
export function parse(data) {
  if (typeof data !== 'string') return null; // the protocol has text frames only
  try {
    const msg = JSON.parse(data);
    return msg && typeof msg === 'object' && typeof msg.type === 'string' ? msg : null;
  } catch {
    return null;
  }
}

/** @param {unknown} err */
export function errorText(err) {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
