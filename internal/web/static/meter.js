// @ts-check
// A microphone level meter for the start page, so a person can see that the
// right microphone hears them before joining. WebAudio only reads the local
// track; nothing is played or sent.

export class LevelMeter {
  /**
   * @param {MediaStreamTrack} track an audio track
   * @param {(level: number) => void} onLevel called ~10 times a second with 0..1
   */
  constructor(track, onLevel) {
    this.ctx = new AudioContext();
    this.source = this.ctx.createMediaStreamSource(new MediaStream([track]));
    this.analyser = this.ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.source.connect(this.analyser);
    const buf = new Float32Array(this.analyser.fftSize);
    this.timer = window.setInterval(() => {
      this.analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const x of buf) sum += x * x;
      // RMS to a 0..1 scale that moves visibly for speech (about -50..0 dBFS).
      const db = 10 * Math.log10(sum / buf.length + 1e-12);
      onLevel(Math.min(1, Math.max(0, (db + 50) / 50)));
    }, 100);
    // Some browsers start an AudioContext suspended until a gesture.
    this.resume = () => void this.ctx.resume().catch(() => {});
    document.addEventListener('click', this.resume, { once: true });
  }

  stop() {
    window.clearInterval(this.timer);
    document.removeEventListener('click', this.resume);
    this.source.disconnect();
    void this.ctx.close().catch(() => {});
  }
}
