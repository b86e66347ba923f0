// A small General MIDI synthesizer in WebAudio, written for this page: no samples, no downloads. Pitched
// notes are oscillators through a low-pass filter and an envelope chosen by the General MIDI program
// family; drums (channel 10) are synthesized from noise and swept sines. Notes are scheduled a fraction
// of a second ahead of the audio clock, so playback keeps time however busy the page is.

const LOOKAHEAD = 0.25;    // seconds of notes scheduled ahead of the audio clock
const TICK_MS = 40;        // how often the scheduler looks
const MAX_VOICES = 96;     // notes sounding at once; more are skipped rather than clipping

// oscillator, attack, decay, sustain level, release, filter cutoff (Hz), second oscillator detune (cents)
const FAMILIES = [
  ["triangle", 0.003, 0.9, 0.2, 0.25, 3500, 0],     // 0 piano
  ["sine", 0.002, 0.5, 0.0, 0.3, 6000, 1200],        // 1 chromatic percussion
  ["square", 0.01, 0.05, 0.85, 0.08, 2500, 0],       // 2 organ
  ["sawtooth", 0.003, 0.6, 0.15, 0.2, 2200, 0],      // 3 guitar
  ["sawtooth", 0.004, 0.35, 0.55, 0.1, 700, 0],      // 4 bass
  ["sawtooth", 0.08, 0.3, 0.8, 0.35, 2600, 7],       // 5 strings
  ["sawtooth", 0.06, 0.3, 0.8, 0.4, 2400, 9],        // 6 ensemble
  ["sawtooth", 0.03, 0.2, 0.75, 0.15, 1800, 0],      // 7 brass
  ["square", 0.02, 0.2, 0.7, 0.12, 2000, 0],         // 8 reed
  ["sine", 0.03, 0.2, 0.75, 0.15, 5000, 1200],       // 9 pipe
  ["sawtooth", 0.005, 0.2, 0.7, 0.12, 3200, 5],      // 10 synth lead
  ["sawtooth", 0.25, 0.5, 0.8, 0.6, 1800, 10],       // 11 synth pad
  ["square", 0.05, 0.6, 0.4, 0.5, 2500, 12],         // 12 synth effects
  ["triangle", 0.003, 0.6, 0.1, 0.2, 3000, 0],       // 13 ethnic
  ["sine", 0.002, 0.2, 0.0, 0.1, 4000, 0],           // 14 percussive
  ["sawtooth", 0.05, 0.4, 0.5, 0.4, 1500, 0],        // 15 sound effects
];

const hz = (pitch) => 440 * 2 ** ((pitch - 69) / 12);

export class Player {
  constructor(onChange) {
    this.onChange = onChange || (() => {});
    this.context = null;
    this.playing = false;
    this.voicesStarted = 0;
    this._timer = null;
  }

  /** The AudioContext, made on the first play (browsers allow sound only after a user's gesture). */
  ensureContext() {
    if (!this.context) {
      this.context = new AudioContext({latencyHint: "interactive"});
      this.master = this.context.createDynamicsCompressor();
      this.master.threshold.value = -14;
      this.master.ratio.value = 6;
      this.master.connect(this.context.destination);
      const length = this.context.sampleRate;  // one second of white noise, for the drums
      this.noise = this.context.createBuffer(1, length, this.context.sampleRate);
      const data = this.noise.getChannelData(0);
      let seed = 22222;  // a fixed sequence: the same hit sounds the same every time
      for (let i = 0; i < length; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        data[i] = (seed / 0x3fffffff) - 1;
      }
    }
    if (this.context.state === "suspended") this.context.resume();
    return this.context;
  }

  /** Play a parsed song from its start (stopping whatever plays). */
  play(song) {
    this.stop();
    const ctx = this.ensureContext();
    this.song = song;
    this.notes = song.notes.slice().sort((a, b) => a.start - b.start);
    this.next = 0;
    this.bus = ctx.createGain();
    this.bus.gain.value = 1;
    this.bus.connect(this.master);
    this.sources = new Set();
    this.startedAt = ctx.currentTime + 0.06;
    this.playing = true;
    this._schedule();
    this._timer = setInterval(() => this._schedule(), TICK_MS);
    this.onChange(true);
  }

  stop() {
    if (!this.playing) return;
    this.playing = false;
    clearInterval(this._timer);
    this._timer = null;
    const ctx = this.context;
    const now = ctx.currentTime;
    const bus = this.bus;
    bus.gain.cancelScheduledValues(now);
    bus.gain.setValueAtTime(bus.gain.value, now);
    bus.gain.linearRampToValueAtTime(0, now + 0.04);
    for (const src of this.sources) {
      try { src.stop(now + 0.05); } catch { /* already stopped */ }
    }
    setTimeout(() => bus.disconnect(), 120);
    this.sources = new Set();
    this.onChange(false);
  }

  /** Seconds into the song (null when stopped). */
  position() {
    if (!this.playing) return null;
    return Math.max(0, this.context.currentTime - this.startedAt);
  }

  _schedule() {
    const ctx = this.context;
    const horizon = ctx.currentTime + LOOKAHEAD - this.startedAt;
    while (this.next < this.notes.length && this.notes[this.next].start < horizon) {
      const n = this.notes[this.next++];
      if (this.sources.size >= MAX_VOICES) continue;
      const when = this.startedAt + n.start;
      if (when < ctx.currentTime - 0.05) continue;  // fell behind (a busy tab): skip rather than pile up
      if (n.drum) this._drum(n, when);
      else this._voice(n, when);
      this.voicesStarted++;
    }
    if (this.next >= this.notes.length && ctx.currentTime > this.startedAt + this.song.duration + 0.5) {
      this.stop();
    }
  }

  _track(src, stopAt) {
    this.sources.add(src);
    src.onended = () => this.sources.delete(src);
    src.start(src._when);
    src.stop(stopAt);
  }

  _voice(n, when) {
    const ctx = this.context;
    const [type, attack, decay, sustain, release, cutoff, detune] = FAMILIES[(n.program >> 3) & 15];
    const level = 0.22 * (n.velocity / 127) ** 1.4;
    const length = Math.min(n.end - n.start, 12);
    const off = when + length;
    const env = ctx.createGain();
    env.gain.setValueAtTime(0, when);
    env.gain.linearRampToValueAtTime(level, when + attack);
    env.gain.setTargetAtTime(level * sustain, when + attack, decay / 3);
    env.gain.setTargetAtTime(0, Math.max(off, when + attack), release / 4);
    const filter = ctx.createBiquadFilter();
    filter.type = "lowpass";
    filter.frequency.value = Math.min(cutoff + hz(n.pitch) * 2, 16000);
    filter.connect(env);
    env.connect(this.bus);
    const oscs = [type, detune ? (detune === 1200 ? "sine" : type) : null].filter(Boolean);
    oscs.forEach((t, i) => {
      const osc = ctx.createOscillator();
      osc.type = t;
      osc.frequency.value = hz(n.pitch);
      if (i === 1) osc.detune.value = detune;
      const g = ctx.createGain();
      g.gain.value = i === 0 ? 1 : 0.5;
      osc.connect(g).connect(filter);
      osc._when = when;
      this._track(osc, off + release * 1.5 + 0.05);
    });
  }

  _noise(when, length, filterType, freq, level, q = 0.8) {
    const ctx = this.context;
    const src = ctx.createBufferSource();
    src.buffer = this.noise;
    src.loop = true;
    const filter = ctx.createBiquadFilter();
    filter.type = filterType;
    filter.frequency.value = freq;
    filter.Q.value = q;
    const env = ctx.createGain();
    env.gain.setValueAtTime(level, when);
    env.gain.exponentialRampToValueAtTime(0.0008, when + length);
    src.connect(filter).connect(env).connect(this.bus);
    src._when = when;
    this._track(src, when + length + 0.02);
  }

  _tone(when, length, type, from, to, level) {
    const ctx = this.context;
    const osc = ctx.createOscillator();
    osc.type = type;
    osc.frequency.setValueAtTime(from, when);
    osc.frequency.exponentialRampToValueAtTime(to, when + length);
    const env = ctx.createGain();
    env.gain.setValueAtTime(level, when);
    env.gain.exponentialRampToValueAtTime(0.0008, when + length);
    osc.connect(env).connect(this.bus);
    osc._when = when;
    this._track(osc, when + length + 0.02);
  }

  _drum(n, when) {
    const v = 0.5 * (n.velocity / 127) ** 1.2;
    const p = n.pitch;
    if (p === 35 || p === 36) {                       // kick
      this._tone(when, 0.35, "sine", 150, 42, v * 1.6);
    } else if (p === 38 || p === 40) {                // snare
      this._noise(when, 0.18, "bandpass", 1900, v * 1.2, 0.6);
      this._tone(when, 0.1, "triangle", 220, 160, v * 0.7);
    } else if (p === 39) {                            // clap
      for (const d of [0, 0.012, 0.024]) this._noise(when + d, 0.12, "bandpass", 1200, v, 1.5);
    } else if (p === 42 || p === 44) {                // closed and pedal hat
      this._noise(when, 0.05, "highpass", 7500, v * 0.6);
    } else if (p === 46) {                            // open hat
      this._noise(when, 0.3, "highpass", 7000, v * 0.5);
    } else if ([49, 52, 55, 57].includes(p)) {        // crashes
      this._noise(when, 1.2, "highpass", 5000, v * 0.45);
    } else if ([51, 53, 59].includes(p)) {            // rides
      this._noise(when, 0.6, "bandpass", 6500, v * 0.4, 2);
    } else if ([41, 43, 45, 47, 48, 50].includes(p)) { // toms, low to high
      const f = 80 + (p - 41) * 18;
      this._tone(when, 0.3, "sine", f * 1.6, f, v * 1.2);
    } else if (p === 56) {                            // cowbell
      this._tone(when, 0.2, "square", 800, 780, v * 0.25);
    } else {                                          // anything else: a short tuned click
      this._noise(when, 0.07, "bandpass", 400 + p * 40, v * 0.7, 3);
    }
  }
}
