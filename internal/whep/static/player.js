// @ts-check
// The live feed's player: a plain WHEP client (RFC 9725). It asks the
// recorder which tracks the feed has, offers one receive-only m-line per
// track, POSTs the offer to /whep and plays what comes. When the feed ends
// (the call went private) it shows the slate.

const state = /** @type {HTMLElement} */ (document.getElementById('state'));
const videos = /** @type {HTMLElement} */ (document.getElementById('videos'));

/** @param {string} text */
function show(text) { state.textContent = text; }

function slate() {
  videos.replaceChildren();
  show('Private: the public segment has ended.');
  document.body.dataset.slate = 'private';
}

async function sources() {
  for (;;) {
    const r = await fetch('/whep/sources');
    const s = await r.json();
    if (s.ended) return null;
    if (s.sources.length > 0) return s.sources;
    await new Promise((res) => setTimeout(res, 1000));
  }
}

async function play() {
  const list = await sources();
  if (!list) { slate(); return; }
  const pc = new RTCPeerConnection();
  for (const s of list) pc.addTransceiver(s.kind, { direction: 'recvonly' });
  pc.ontrack = (ev) => {
    if (ev.track.kind !== 'video') {
      const a = document.createElement('audio');
      a.autoplay = true;
      a.srcObject = new MediaStream([ev.track]);
      videos.append(a);
      return;
    }
    const v = document.createElement('video');
    v.autoplay = true; v.muted = true; v.playsInline = true;
    v.srcObject = new MediaStream([ev.track]);
    videos.append(v);
  };
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === 'connected') show('Live: the public segment.');
    if (pc.connectionState === 'failed' || pc.connectionState === 'closed' || pc.connectionState === 'disconnected') slate();
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((res) => {
    if (pc.iceGatheringState === 'complete') { res(undefined); return; }
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') res(undefined); };
  });
  const r = await fetch('/whep', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription?.sdp });
  if (r.status === 410) { pc.close(); slate(); return; }
  if (r.status !== 201) { show('The feed refused: ' + (await r.text())); return; }
  const location = r.headers.get('Location');
  await pc.setRemoteDescription({ type: 'answer', sdp: await r.text() });
  addEventListener('pagehide', () => { if (location) fetch(location, { method: 'DELETE', keepalive: true }); });
}

play().catch((e) => show('Error: ' + e));
