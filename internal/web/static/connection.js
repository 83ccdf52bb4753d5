// @ts-check
// One signalling session's worth of machinery, made afresh for each join:
// the media worker that encrypts and decrypts every frame, and the Session
// whose senders and receivers are piped through it. A call that loses its
// session (the server restarted, the socket broke) throws both away and
// joins again with new ones (PROTOCOL.md, "Reconnecting").

import { BYPASS_BUILD } from './e2ee/build.js';
import { FramePipe, framesPath } from './e2ee/frames.js';
import { Session } from './protocol.js';

/**
 * Error codes after which the client does not rejoin on its own: the server
 * refuses this device or this call, or someone removed us.
 */
export const FINAL_CODES = new Set(['unauthorized', 'forbidden', 'version', 'removed']);

/**
 * The pause before rejoin attempt n (0-based): 250 ms doubling to at most
 * 2 s, drawn at random between half and all of it, so that the members of
 * a call dropped together by a server restart do not knock in step.
 * @param {number} n
 */
export function backoffMs(n) {
  const d = Math.min(250 * 2 ** Math.min(n, 8), 2000);
  return d / 2 + Math.random() * (d / 2);
}

/**
 * A fresh media worker, the frame pipe that feeds it every sender's and
 * receiver's encoded frames (e2ee/frames.js: Chromium's encoded streams, or
 * else the standard RTCRtpScriptTransform) and a Session piped through it.
 * @param {(message: string) => void} onerror a message the worker refused, or a sender that cannot be encrypted
 * @returns {{worker: Worker, frames: FramePipe, session: Session}}
 */
export function openConnection(onerror) {
  const worker = new Worker('/static/e2ee/worker.js', { type: 'module' });
  // A message the worker refused is a bug of ours: show it.
  worker.addEventListener('message', (ev) => {
    if (ev.data?.type === 'error') onerror(`media worker: ${ev.data.message}`);
  });
  // Only a binary built with -tags e2eebypass, on a page opened with
  // ?e2ee=bypass: frames pass the worker unencrypted, for A/B measurement
  // (docs/PERFORMANCE.md). Any other build ignores the parameter.
  if (BYPASS_BUILD && new URLSearchParams(location.search).get('e2ee') === 'bypass') {
    worker.postMessage({ type: 'bypass' });
  }
  const frames = new FramePipe(worker, framesPath(), onerror);
  const session = new Session({ frames });
  return { worker, frames, session };
}
