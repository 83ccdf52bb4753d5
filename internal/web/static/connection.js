// @ts-check
// One signalling session's worth of machinery, made afresh for each join:
// the media worker that encrypts and decrypts every frame, and the Session
// whose senders and receivers are piped through it. A call that loses its
// session (the server restarted, the socket broke) throws both away and
// joins again with new ones (PROTOCOL.md, "Reconnecting").

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
 * A fresh media worker and a Session piped through it.
 * @param {(message: string) => void} onWorkerError a message the worker refused (a bug of ours)
 * @returns {{worker: Worker, session: Session}}
 */
export function openConnection(onWorkerError) {
  // Every frame goes through one worker per session: encrypted before it
  // leaves, decrypted (or dropped) as it arrives. Encoded streams, not
  // RTCRtpScriptTransform: Chromium ignores a transform set on a
  // transceiver that a remote offer created once a replaceTrack has
  // completed, and would send those frames in clear. A connection made
  // with encodedInsertableStreams sends nothing that is not piped through
  // the worker (e2ee/worker.js).
  const worker = new Worker('/static/e2ee/worker.js', { type: 'module' });
  /** @param {any} end an RTCRtpSender or RTCRtpReceiver @param {object} options */
  const pipe = (end, options) => {
    const { readable, writable } = end.createEncodedStreams();
    worker.postMessage({ type: 'streams', options, readable, writable }, [readable, writable]);
  };
  /** receivers already piped, by the stream name the worker knows them by @type {WeakMap<RTCRtpReceiver, string>} */
  const piped = new WeakMap();
  let streams = 0;
  worker.addEventListener('message', (ev) => {
    if (ev.data?.type === 'error') onWorkerError(String(ev.data.message));
  });
  const session = new Session({
    frames: {
      attachSender: (sender, kind) => pipe(sender, { direction: 'send', kind }),
      // The publisher's sender tag comes with each roster ('sender-tags').
      // A receiver's streams can be taken once; an m-line reused for
      // another publisher is re-pointed instead.
      attachReceiver: (receiver, entry) => {
        const known = piped.get(receiver);
        if (known) {
          worker.postMessage({ type: 'publisher', stream: known, participant: entry.participant });
          return;
        }
        const stream = `r${++streams}`;
        piped.set(receiver, stream);
        pipe(receiver, { direction: 'recv', kind: entry.kind, participant: entry.participant, stream });
      },
    },
  });
  return { worker, session };
}
