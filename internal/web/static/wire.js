// @ts-check
// Small pieces of the signalling wire format (PROTOCOL.md) that protocol.js
// uses: decoding a server message, base64url, a track's announcement, the
// relay of a welcome; and the shapes of what a caller hands a Session.

/**
 * How this device authenticates its join (PROTOCOL.md, "Join"): the line,
 * its credential, and a function that signs the server's challenge.
 * @typedef {{line: string, credential: {body: string, sig: string}, prove: (nonce: Uint8Array, server: string) => Promise<string>}} JoinAuth
 */
/**
 * End-to-end encryption hooks: attach a transform to each sender and
 * receiver as the session creates them (before any frame flows).
 * insertable (default true): the connection is made with encodedInsertableStreams.
 * setTrack, if given, puts a track on a sender instead of replaceTrack.
 * @typedef {{attachSender: (sender: RTCRtpSender, kind: import('./protocol.js').Kind) => void, attachReceiver: (receiver: RTCRtpReceiver, entry: import('./protocol.js').ReceiveEntry) => void,
 *   insertable?: boolean, setTrack?: (sender: RTCRtpSender, track: MediaStreamTrack|null) => Promise<void>}} FrameHooks
 */

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

/**
 * The TURN relay entries of a welcome's ice_servers (PROTOCOL.md, "Media
 * through firewalls") that are well formed; anything else is dropped.
 * @param {unknown} servers
 * @returns {RTCIceServer[]}
 */
export function relayServers(servers) {
  if (!Array.isArray(servers)) return [];
  const str = (/** @type {unknown} */ v) => typeof v === 'string';
  return servers.filter((s) => s && Array.isArray(s.urls) && s.urls.every(
    (/** @type {unknown} */ u) => str(u) && /^turns?:/.test(/** @type {string} */ (u))) && str(s.username) && str(s.credential))
    .map((s) => ({ urls: s.urls, username: s.username, credential: s.credential }));
}
