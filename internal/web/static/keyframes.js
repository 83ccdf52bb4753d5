// @ts-check
// Key frames on demand (docs/PROTOCOL.md, "keyframe"). A receiver decodes
// nothing of a publisher's video until a key frame it can decrypt arrives;
// waiting for a natural one can take seconds. A page cannot send RTCP, so
// it asks the server by message: when it installs a publisher's new key
// (e2ee/session.js onkey), and when its connection comes up (again) for
// every publisher whose key it holds, since a key frame that reached it
// before its DTLS was up was lost. The server rate-limits per track.

import { joinSteps } from './joinsteps.js';

export class KeyframeAsker {
  /**
   * @param {import('./protocol.js').Session} session
   * @param {() => string[]} keyed the members whose key we hold
   */
  constructor(session, keyed) {
    this.session = session;
    this.keyed = keyed;
    session.pc.addEventListener('connectionstatechange', () => {
      if (session.pc.connectionState !== 'connected') return;
      for (const id of this.keyed()) session.keyframe(id);
    });
  }

  /** A new key of member `from` went to the media worker. @param {string} from */
  keyInstalled(from) {
    joinSteps.mark(`key:${from}`);
    if (this.session.pc.connectionState === 'connected') this.session.keyframe(from);
  }
}
