// @ts-check
// The control bar, the self view and the hold screen of a call (call.js),
// drawn from the call's state: which local tracks exist and are on, whether
// a device operation is under way, and where we are in the call.

import { byId, el, setIcon, toast } from './dom.js';

/** @typedef {import('./protocol.js').LocalTrack} LocalTrack */
/** @typedef {{mic: LocalTrack|null, cam: LocalTrack|null, cam2: LocalTrack|null, busy: boolean, joined: boolean, selfview: HTMLElement}} CallView */

/** @param {CallView} c */
export function renderControls(c) {
  const micOn = !!c.mic?.track?.enabled;
  const mic = byId('btn-mic');
  mic.disabled = !c.mic;
  mic.setAttribute('aria-pressed', String(micOn));
  mic.classList.toggle('off', !micOn);
  mic.title = micOn ? 'Mute microphone' : 'Unmute microphone';
  mic.querySelector('.btn-label').textContent = micOn ? 'Mute' : 'Unmute';
  setIcon(mic, micOn ? 'mic' : 'mic-off');

  const camOn = !!c.cam?.track;
  const cam = byId('btn-cam');
  cam.disabled = c.busy;
  cam.setAttribute('aria-pressed', String(camOn));
  cam.classList.toggle('off', !camOn);
  cam.title = camOn ? 'Turn camera off' : 'Turn camera on';
  cam.querySelector('.btn-label').textContent = camOn ? 'Camera off' : 'Camera on';
  setIcon(cam, camOn ? 'cam' : 'cam-off');

  const cam2 = byId('btn-cam2');
  cam2.disabled = c.busy || (!c.cam2 && !c.joined);
  cam2.setAttribute('aria-pressed', String(!!c.cam2));
  cam2.classList.toggle('active', !!c.cam2);
  cam2.title = c.cam2 ? 'Remove the second camera' : 'Add a second camera';
  cam2.querySelector('.btn-label').textContent = c.cam2 ? 'Remove camera 2' : 'Add camera';
  byId('call-camera').disabled = c.busy;
}

/** @param {CallView} c */
export function renderSelf(c) {
  const views = [];
  for (const t of [c.cam, c.cam2]) {
    if (!t?.track) continue;
    const box = el('div', 'self-tile');
    const v = /** @type {HTMLVideoElement} */ (el('video'));
    v.autoplay = true;
    v.playsInline = true;
    v.muted = true;
    v.srcObject = new MediaStream([t.track]);
    box.append(v, el('span', 'self-label', t === c.cam2 ? 'You · camera 2' : 'You'));
    views.push(box);
  }
  if (views.length === 0) {
    const box = el('div', 'self-tile voice');
    box.append(el('span', 'self-label', c.cam ? 'You · camera off' : 'You · voice only'));
    views.push(box);
  }
  c.selfview.replaceChildren(...views);
}

/**
 * Where we are: in the lobby or on the bench, the stage says so instead of
 * showing tiles; an operator, who receives no media, sees a note. A move
 * into or out of the call is told once.
 * @param {string} state our roster state ('' before the first roster)
 * @param {boolean} receives our roles receive media
 * @param {string} previous the state shown before
 * @returns {string} the state shown now
 */
export function renderPlace(state, receives, previous) {
  const hold = byId('hold');
  const texts = {
    waiting: ['Waiting to be admitted', "An operator or the principal of your side will let you in. Nothing is sent or received until then."],
    bench: ['On the bench', 'Your principal will call you in. Nothing is sent or received until then.'],
  };
  let text = /** @type {Record<string, string[]>} */ (texts)[state];
  if (!text && state === 'in' && !receives) {
    text = ['Operator view', "You see the call's participants and its lobby; operators receive no media."];
  }
  hold.hidden = !text;
  hold.dataset.state = state;
  if (text) {
    byId('hold-title').textContent = text[0];
    byId('hold-text').textContent = text[1];
  }
  if (previous && previous !== 'in' && state === 'in') toast(previous === 'bench' ? 'You have been called in.' : 'You have been admitted.');
  if (previous === 'in' && state === 'bench') toast('You have been sent out to the bench.');
  return state;
}
