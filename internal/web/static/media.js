// @ts-check
// Local capture: cameras and microphones. No DOM beyond navigator.

/** Capture constraints: 720p is plenty for a talking head on a wall monitor. */
const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/**
 * Opens a camera. An empty deviceId means the default one.
 * @param {string} [deviceId]
 * @returns {Promise<MediaStreamTrack>}
 */
export async function openCamera(deviceId) {
  const video = deviceId ? { ...VIDEO, deviceId: { exact: deviceId } } : VIDEO;
  const stream = await navigator.mediaDevices.getUserMedia({ video });
  return stream.getVideoTracks()[0];
}

/**
 * Opens a microphone. An empty deviceId means the default one.
 * @param {string} [deviceId]
 * @returns {Promise<MediaStreamTrack>}
 */
export async function openMicrophone(deviceId) {
  const audio = deviceId ? { ...AUDIO, deviceId: { exact: deviceId } } : AUDIO;
  const stream = await navigator.mediaDevices.getUserMedia({ audio });
  return stream.getAudioTracks()[0];
}

/**
 * Opens camera and microphone with one permission prompt, falling back to
 * each alone so that a broken camera still leaves a voice call possible.
 * @param {{video: boolean, cameraId?: string, micId?: string}} want
 * @returns {Promise<{camera: MediaStreamTrack|null, mic: MediaStreamTrack|null, error: string}>}
 */
export async function openBoth(want) {
  const video = want.cameraId ? { ...VIDEO, deviceId: { exact: want.cameraId } } : VIDEO;
  const audio = want.micId ? { ...AUDIO, deviceId: { exact: want.micId } } : AUDIO;
  try {
    const s = await navigator.mediaDevices.getUserMedia(want.video ? { video, audio } : { audio });
    return { camera: s.getVideoTracks()[0] ?? null, mic: s.getAudioTracks()[0] ?? null, error: '' };
  } catch (err) {
    if (!want.video) return { camera: null, mic: null, error: captureError(err) };
    const camera = await openCamera(want.cameraId).catch(() => null);
    const mic = await openMicrophone(want.micId).catch(() => null);
    return { camera, mic, error: camera && mic ? '' : captureError(err) };
  }
}

/**
 * Lists capture devices. Labels are empty until the page has been granted
 * access once, so call this after a successful open.
 * @returns {Promise<{cameras: MediaDeviceInfo[], microphones: MediaDeviceInfo[]}>}
 */
export async function listDevices() {
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: all.filter((d) => d.kind === 'videoinput' && d.deviceId),
    microphones: all.filter((d) => d.kind === 'audioinput' && d.deviceId),
  };
}

/** @param {MediaStreamTrack|null|undefined} track */
export function deviceOf(track) {
  return track?.getSettings().deviceId ?? '';
}

/** Why capture failed, in words for the person in front of the screen. @param {unknown} err */
export function captureError(err) {
  const name = err instanceof Error ? err.name : '';
  switch (name) {
    case 'NotAllowedError':
      return 'Access to the camera or microphone was refused. Allow it in the browser and reload.';
    case 'NotFoundError':
      return 'No camera or microphone was found.';
    case 'NotReadableError':
      return 'The camera or microphone is in use by another application.';
    case 'OverconstrainedError':
      return 'The chosen device is no longer available.';
    default:
      return `Cannot open the camera or microphone${err instanceof Error ? `: ${err.message}` : ''}.`;
  }
}
