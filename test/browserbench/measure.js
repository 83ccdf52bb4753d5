// The browser benchmark's measuring script (test/browserbench), injected by
// the tool into every call page before the page's own scripts run; it is
// not part of the product. It shows every camera the page opens and every
// video track it receives in a small video of its own, reads the barcode
// of each frame presented there (camera.go writes it) and keeps, per video
// track, [counter, sender, time, capture] of each frame read, the time
// being when the frame was presented (requestVideoFrameCallback's
// presentationTime) on the machine's clock (performance.timeOrigin +
// performance.now), and for the page's own camera also when it was
// captured (the callback's captureTime). The constants COLS, ROWS, DATA
// and CBITS are prepended by the tool from camera.go.
(() => {
  if (window.__gbench) return;
  const origin = performance.timeOrigin;
  const g = {
    tracks: new Map(), // track id → {local, samples: [[counter, sender, t, capture]]}
    pcs: [],
    first: {}, // sender → time of its first frame read in a remote video
    firstRemote: 0, // time of the first remote frame presented, read or not
    joinSent: 0, // time the join message was sent
    unread: 0,
  };
  window.__gbench = g;

  // A small video of its own for every camera the page opens and every
  // video track it receives, in a strip at the top of the page, is where
  // frames are read: the page's own views can be hidden (a narrow window, a
  // tile out of view) or absent, and a video that is not displayed
  // presents no frames. Reading only these keeps the cost of reading one
  // read per frame per track.
  let shown = 0;
  /** @param {MediaStreamTrack} track */
  function show(track) {
    const v = document.createElement('video');
    v.muted = true;
    v.autoplay = true;
    v.playsInline = true;
    v.style.cssText = `position:fixed;left:${32 * (shown++ % 40)}px;top:0;width:32px;height:24px;z-index:2147483647;pointer-events:none`;
    v.srcObject = new MediaStream([track]);
    document.documentElement.append(v);
    track.addEventListener('ended', () => v.remove());
    watch(v);
  }

  // Every PeerConnection the page makes, for getStats and to tell remote
  // tracks (a receiver's) from local ones.
  const PC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends PC {
    constructor(...args) {
      super(...args);
      g.pcs.push(this);
      this.addEventListener('track', (e) => {
        if (e.track.kind === 'video') show(e.track);
      });
    }
  };

  // The join message (docs/PROTOCOL.md) marks the start of the join.
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (!g.joinSent && typeof data === 'string' && data.startsWith('{"type":"join"')) g.joinSent = origin + performance.now();
    return send.call(this, data);
  };

  const W = COLS * 8, H = ROWS * 8;
  const ctx = new OffscreenCanvas(W, H).getContext('2d', { willReadFrequently: true });
  const mask = (1 << DATA) - 1;
  /** @param {HTMLVideoElement} v */
  function read(v) {
    ctx.drawImage(v, 0, 0, W, H);
    const px = ctx.getImageData(0, 0, W, H).data;
    let bits = 0;
    for (let i = 0; i < COLS * ROWS; i++) {
      const x = (i % COLS) * 8 + 4, y = Math.floor(i / COLS) * 8 + 4;
      const o = (y * W + x) * 4;
      if (px[o] + px[o + 1] + px[o + 2] >= 3 * 128) bits |= 1 << i;
    }
    const data = bits & mask, check = (bits >>> DATA) & mask;
    return (data ^ check) === mask ? data : -1;
  }
  function isRemote(track) {
    for (const pc of g.pcs) for (const r of pc.getReceivers()) if (r.track === track) return true;
    return false;
  }
  const watched = new WeakSet();
  /** @param {HTMLVideoElement} v */
  function watch(v) {
    if (watched.has(v)) return;
    watched.add(v);
    const cb = (_now, meta) => {
      v.requestVideoFrameCallback(cb);
      const s = v.srcObject;
      const track = s && s.getVideoTracks ? s.getVideoTracks()[0] : null;
      if (!track) return;
      let tr = g.tracks.get(track.id);
      if (!tr) {
        tr = { local: !isRemote(track), samples: [], last: new Map() };
        g.tracks.set(track.id, tr);
      }
      const t = origin + meta.presentationTime;
      if (!tr.local && !g.firstRemote) g.firstRemote = t;
      const code = read(v);
      if (code < 0) {
        g.unread++;
        return;
      }
      const counter = code & ((1 << CBITS) - 1), sender = code >>> CBITS;
      // The same frame in a second video of this track: the first counts.
      const key = sender * 1024 + counter;
      if (t - (tr.last.get(key) ?? -Infinity) < 1000) return;
      tr.last.set(key, t);
      // A camera frame's capture time, for a local track only (a
      // remote one's is the sender's, estimated; not used).
      const capture = tr.local && meta.captureTime > 0 ? origin + meta.captureTime : 0;
      tr.samples.push([counter, sender, t, capture]);
      if (!tr.local && !(sender in g.first)) g.first[sender] = t;
    };
    v.requestVideoFrameCallback(cb);
  }
  const gum = MediaDevices.prototype.getUserMedia;
  MediaDevices.prototype.getUserMedia = async function (constraints) {
    const stream = await gum.call(this, constraints);
    for (const track of stream.getVideoTracks()) show(track);
    return stream;
  };

  // What the tool reads.
  g.samples = (from, to) => [...g.tracks].map(([id, tr]) => ({ id, local: tr.local, samples: tr.samples.filter((s) => s[2] >= from && s[2] <= to) }));
  g.join = () => ({ navigation: origin, joinSent: g.joinSent, firstRemote: g.firstRemote, first: g.first, unread: g.unread });
  g.stats = async () => {
    const out = [];
    for (const [i, pc] of g.pcs.entries()) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
        let sender = -1;
        const tr = g.tracks.get(s.trackIdentifier);
        if (tr && tr.samples.length) sender = tr.samples[tr.samples.length - 1][1];
        out.push({ id: i + '/' + s.id, sender, frames: s.framesDecoded ?? 0, jbDelay: s.jitterBufferDelay ?? 0, jbCount: s.jitterBufferEmittedCount ?? 0, ts: s.timestamp });
      });
    }
    return out;
  };
})();
