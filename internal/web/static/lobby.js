// @ts-check
// The start page: who this browser is (its enrolled credential), call,
// camera preview, device choice, audio-only.
// It opens the devices once and hands the live tracks to the call, so the
// camera does not blink off and on again when the person presses Join.

import { byId, fillDevices } from './dom.js';
import { deviceOf, listDevices, openBoth, openCamera, openMicrophone, captureError } from './media.js';
import { CALL_NAME } from './protocol.js';
import { LevelMeter } from './meter.js';
import { NOT_ENROLLED, prepareJoin } from './prejoin.js';

/**
 * @typedef {{call: string, name: string, camera: MediaStreamTrack|null, mic: MediaStreamTrack|null}} JoinRequest
 */

export class Lobby {
  /**
   * @param {{call: string, name: string}} initial
   * @param {(req: JoinRequest) => void} onJoin
   */
  constructor(initial, onJoin) {
    this.onJoin = onJoin;
    /** @type {MediaStreamTrack|null} */
    this.camera = null;
    /** @type {MediaStreamTrack|null} */
    this.mic = null;
    this.root = byId('lobby');
    this.form = /** @type {HTMLFormElement} */ (byId('join-form'));
    this.nameInput = /** @type {HTMLInputElement} */ (byId('name'));
    this.callInput = /** @type {HTMLInputElement} */ (byId('call'));
    this.cameraSelect = /** @type {HTMLSelectElement} */ (byId('camera'));
    this.micSelect = /** @type {HTMLSelectElement} */ (byId('microphone'));
    this.audioOnly = /** @type {HTMLInputElement} */ (byId('audio-only'));
    this.preview = /** @type {HTMLVideoElement} */ (byId('preview'));
    this.previewOff = byId('preview-off');
    this.previewOffText = byId('preview-off-text');
    this.error = byId('form-error');
    this.who = byId('who-detail');
    this.joinButton = /** @type {HTMLButtonElement} */ (byId('join'));
    /** the credential verified: the name is its name */
    this.enrolled = false;
    /** @type {LevelMeter|null} */
    this.meter = null;

    this.nameInput.value = '';
    this.callInput.value = initial.call;
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.#submit();
    });
    this.audioOnly.addEventListener('change', () => void this.#setCamera(!this.audioOnly.checked));
    this.cameraSelect.addEventListener('change', () => void this.#setCamera(!this.audioOnly.checked));
    this.micSelect.addEventListener('change', () => void this.#switchMic());
  }

  async show() {
    this.root.hidden = false;
    await this.#identify();
    if (!this.callInput.value) this.callInput.focus();
    else this.joinButton.focus();
    const { camera, mic, error } = await openBoth({ video: true });
    this.camera = camera;
    this.mic = mic;
    if (error) this.#showError(error);
    this.#showPreview();
    this.#watchMic();
    await this.#fillDevices();
  }

  /**
   * Who this browser is: the name, side and roles of its enrolled
   * credential, checked against the pins it keeps. A browser that is not
   * enrolled cannot join: it is sent to its officer's enrolment link.
   */
  async #identify() {
    // What the join will need is prepared now, before Join is pressed (prejoin.js).
    const { me } = await prepareJoin();
    this.enrolled = me.ok;
    this.joinButton.disabled = !me.ok;
    this.root.dataset.enrolled = String(me.ok);
    if (me.ok) {
      this.nameInput.value = me.name;
      this.who.textContent = `Side ${me.side} · ${me.roles.join(', ')}`;
      return;
    }
    this.nameInput.value = '';
    this.who.replaceChildren(
      `This browser is ${me.reason === NOT_ENROLLED ? 'not enrolled' : `not usable (${me.reason})`}. Open the enrolment link your side's officer gave you, or `,
      Object.assign(document.createElement('a'), { href: '/enrol', textContent: 'ask to enrol' }),
      '.',
    );
  }

  #submit() {
    const name = this.nameInput.value;
    const call = this.callInput.value.trim();
    if (!this.enrolled) return this.#showError('This browser is not enrolled on a line yet.');
    if (!CALL_NAME.test(call)) return this.#showError('A call name is 1 to 64 letters, digits, dots, dashes or underscores.', this.callInput);
    this.root.hidden = true;
    const camera = this.audioOnly.checked ? null : this.camera;
    this.preview.srcObject = null;
    this.meter?.stop();
    this.onJoin({ call, name, camera, mic: this.mic });
  }

  /** @param {boolean} on */
  async #setCamera(on) {
    this.camera?.stop();
    this.camera = null;
    this.#showPreview();
    this.cameraSelect.disabled = !on;
    if (!on) return;
    try {
      this.camera = await openCamera(this.cameraSelect.value);
      this.#hideError();
    } catch (err) {
      this.#showError(captureError(err));
    }
    this.#showPreview();
  }

  async #switchMic() {
    this.mic?.stop();
    this.mic = null;
    try {
      this.mic = await openMicrophone(this.micSelect.value);
    } catch (err) {
      this.#showError(captureError(err));
    }
    this.#watchMic();
  }

  /** Shows the microphone's state and level in the checks list. */
  #watchMic() {
    this.meter?.stop();
    this.meter = null;
    const meter = byId('mic-meter');
    check('chk-mic', this.mic ? 'ok' : 'error', this.mic ? this.mic.label || 'Ready' : 'Not available');
    if (!this.mic) return;
    try {
      this.meter = new LevelMeter(this.mic, (level) => meter.style.setProperty('--level', level.toFixed(2)));
    } catch {
      // No WebAudio: the meter stays empty, the microphone still works.
    }
  }

  #showPreview() {
    this.preview.srcObject = this.camera ? new MediaStream([this.camera]) : null;
    this.previewOff.hidden = !!this.camera;
    this.previewOffText.textContent = this.audioOnly.checked ? 'Audio only' : 'No camera';
    if (this.camera) {
      const { width, height } = this.camera.getSettings();
      check('chk-camera', 'ok', `${this.camera.label || 'Ready'}${width ? ` · ${width}×${height}` : ''}`);
    } else {
      check('chk-camera', this.audioOnly.checked ? 'off' : 'error', this.audioOnly.checked ? 'Off (audio only)' : 'Not available');
    }
  }

  async #fillDevices() {
    const { cameras, microphones } = await listDevices();
    fillDevices(this.cameraSelect, cameras, deviceOf(this.camera), 'Camera');
    fillDevices(this.micSelect, microphones, deviceOf(this.mic), 'Microphone');
  }

  /** @param {string} text @param {HTMLElement} [focus] */
  #showError(text, focus) {
    this.error.textContent = text;
    this.error.hidden = false;
    focus?.focus();
  }

  #hideError() {
    this.error.hidden = true;
  }
}

/** @param {string} id @param {'ok'|'off'|'error'} state @param {string} detail */
function check(id, state, detail) {
  byId(id).dataset.state = state;
  byId(`${id}-detail`).textContent = detail;
}

