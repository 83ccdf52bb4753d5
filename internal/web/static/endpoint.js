// @ts-check
// Where the line server is, and where this page's code came from.
//
// Served by the line server, the page talks to its own origin. In local
// client mode (`hotline open`, docs/ARCHITECTURE.md) the participant's own
// binary served it from a loopback origin and wrote the line server's
// origin into <meta name="hotline-server">: every API call and the
// signalling WebSocket then go there, across origins, and the code that
// holds the keys is the binary's, not the server's.

// globalThis.document: a worker that imports this module has none.
const meta = /** @type {HTMLMetaElement|null} */ (globalThis.document?.querySelector('meta[name="hotline-server"]') ?? null);

/** The remote line server's origin in local client mode, else ''. */
export const remote = meta?.content ? new URL(meta.content).origin : '';

/** @returns {boolean} whether this page came from the participant's own binary. */
export function isLocal() {
  return remote !== '';
}

/**
 * The URL of a server path ("/api/…"): the page's own origin, or the remote
 * server's in local client mode.
 * @param {string} path
 */
export function serverURL(path) {
  return remote ? new URL(path, remote).href : path;
}

/** @returns {string} the signalling WebSocket's URL. */
export function signallingURL() {
  const base = new URL(remote || location.origin);
  const scheme = base.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${base.host}/ws`;
}

/** @returns {string} where this page's code came from, for the page to show. */
export function codeSource() {
  return remote ? 'code from your own hotline binary' : `code served by ${location.host}`;
}

/** Fills in the page's code-source badge. */
export function showCodeSource() {
  const el = document.getElementById('code-source');
  if (!el) return;
  el.textContent = codeSource();
  el.dataset.source = remote ? 'local' : 'server';
}
