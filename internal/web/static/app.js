// @ts-check
// Entry point. Decides between the start page and an immediate join, and
// exposes window.hotline for automation (the browser tests, kiosk checks).
//
//   /                               start page
//   /call/<call>                    start page with the call filled in
//   /call/<call>?name=N&autojoin=1  join at once with camera and microphone
//                                   (a wall monitor or kiosk: nobody clicks);
//                                   &epochs=N (tests) ends each stay after N
//                                   epochs instead of 65,536 (it can only
//                                   make the page rejoin sooner)
//   /enrol                          enrol this browser as a device (enrol.js)
//   /officer                        approve devices with an authority (officer.js)
//   /schedule                       the line's calls: request, answer, history (schedule.js)

import { Call } from './call.js';
import { byId, toast } from './dom.js';
import { showCodeSource } from './endpoint.js';
import { Lobby } from './lobby.js';
import { openBoth } from './media.js';
import { CALL_NAME } from './protocol.js';

/** @type {Call|null} */
let current = null;

// Read-only view for automation. state() is synchronous: its media numbers
// come from the once-a-second getStats sample that also drives the tiles.
Object.defineProperty(window, 'hotline', {
  value: Object.freeze({
    version: 1,
    state: () => current?.state() ?? { joined: false, id: '', roster: [], tiles: [], audio: [], errors: [] },
    leave: () => current?.leave(),
    // Raw material for diagnosing a failed run: every getStats entry and
    // both session descriptions.
    stats: async () => {
      const pc = current?.session.pc;
      return pc ? [...(await pc.getStats()).values()] : [];
    },
    // The media worker's frame counters (sent, dropped, decrypted per
    // participant, failures by reason); null once the call is over.
    frames: () => current?.frameStats() ?? Promise.resolve(null),
    // The interpretation mix's spectrum at these frequencies, in dB (interpretation.js).
    levels: (/** @type {number[]} */ freqs) => current?.interp.levels(freqs) ?? freqs.map(() => -Infinity),
    sdp: () => ({ local: current?.session.pc.localDescription?.sdp ?? '', remote: current?.session.pc.remoteDescription?.sdp ?? '' }),
  }),
});

function main() {
  showCodeSource();
  if (location.pathname === '/enrol' || location.pathname === '/officer' || location.pathname === '/schedule') {
    void openPage(location.pathname);
    return;
  }
  const m = /^\/call\/([^/]+)$/.exec(location.pathname);
  const call = m ? decodePath(m[1]) : '';
  const params = new URLSearchParams(location.search);
  const name = (params.get('name') ?? '').trim();

  // A kiosk joins at once; its name is its credential's (a name in the
  // address is only a fallback label until the credential is read).
  if (call && CALL_NAME.test(call) && params.get('autojoin') === '1') {
    const epochs = Number(params.get('epochs'));
    void kiosk(call, name, Number.isInteger(epochs) && epochs >= 1 && epochs <= 65536 ? epochs - 1 : undefined);
    return;
  }
  const lobby = new Lobby({ call, name }, (req) => {
    // Make the address shareable without the person's name in it.
    history.replaceState(null, '', `/call/${encodeURIComponent(req.call)}`);
    start({ ...req, kiosk: false });
  });
  void lobby.show();
}

/** @param {string} call @param {string} name @param {number} [maxEpoch] */
async function kiosk(call, name, maxEpoch) {
  const { camera, mic, error } = await openBoth({ video: true });
  if (error) toast(error, 'error');
  start({ call, name, camera, mic, kiosk: true, maxEpoch });
}

/** @param {ConstructorParameters<typeof Call>[0]} opts */
function start(opts) {
  byId('lobby').hidden = true;
  current = new Call(opts);
  void current.start();
}

/**
 * The enrolment and officer pages. Their modules (and the crypto they pull
 * in) load only when one of them is opened.
 * @param {string} path
 */
async function openPage(path) {
  try {
    if (path === '/enrol') await (await import('./enrol.js')).showEnrol();
    else if (path === '/schedule') await (await import('./schedule.js')).showSchedule();
    else await (await import('./officer.js')).showOfficer();
  } catch (err) {
    toast(`This page could not start: ${err instanceof Error ? err.message : String(err)}`, 'error');
  }
}

/** @param {string} s */
function decodePath(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return ''; // malformed escapes: not a call name
  }
}

main();
