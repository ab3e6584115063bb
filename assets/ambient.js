/*
 * Sessions' ambient sound mixer: rain, café murmur, fire crackle and brown noise, generated
 * in the browser with the Web Audio API (no audio files).
 *
 * Each sound is an 8-second buffer computed once from seeded noise (filtered noise, random
 * drops, crackles, a murmur of "voices") whose end is cross-faded into its start, played in a
 * loop through its own gain (the room page's range inputs #ambient-rain, #ambient-cafe,
 * #ambient-fire, #ambient-brown, 0–100), then a master gain (the switch #ambient-toggle and
 * the fade in breaks) and an analyser (window.sessionsAmbient.level(): the signal's RMS).
 *
 * Browsers start audio only after a user gesture: the context is created on the first click
 * of the switch. The mixer reads the page, never the server: the inputs' values (the stored
 * mix once the page has loaded it) and #ambient-panel's data-phase / data-fade attributes
 * (the room timer's phase, and whether the student wants the sound to fade in breaks).
 */
(() => {
  if (window.sessionsAmbient) return;

  const SOUNDS = ["rain", "cafe", "fire", "brown"];
  const LOOP_SECONDS = 8;
  const SEAM_SECONDS = 0.25;
  const BREAKS = ["short_break", "long_break"];

  let ctx = null;
  let master = null;
  let analyser = null;
  let gains = {};
  let on = false;
  let timer = null;
  let lastMaster = -1;

  // A small seeded generator: the same sounds on every load, no Math.random bias per sound.
  function random(seed) {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  // One-pole low-pass coefficient for a cut-off frequency.
  const coef = (hz, rate) => 1 - Math.exp((-2 * Math.PI * hz) / rate);

  const generators = {
    brown(data, rate, rnd) {
      let last = 0;
      for (let i = 0; i < data.length; i++) {
        last = (last + 0.02 * (rnd() * 2 - 1)) / 1.02;
        data[i] = last * 3.5;
      }
    },
    rain(data, rate, rnd) {
      // A hiss band (800 Hz – 7 kHz) plus drops: short decaying noise bursts.
      const hi = coef(7000, rate), lo = coef(800, rate);
      let a = 0, b = 0, drop = 0, decay = 0;
      for (let i = 0; i < data.length; i++) {
        const w = rnd() * 2 - 1;
        a += hi * (w - a);
        b += lo * (a - b);
        if (rnd() < 60 / rate) {
          drop = 0.2 + rnd() * 0.6;
          decay = Math.exp(-1 / ((0.002 + rnd() * 0.004) * rate));
        }
        drop *= decay;
        data[i] = (a - b) * 0.6 + drop * (rnd() * 2 - 1);
      }
    },
    cafe(data, rate, rnd) {
      // Five "voices": band-limited noise (200–1500 Hz) with syllable-like swells, and now
      // and then a cup's clink.
      const voices = Array.from({ length: 5 }, () => ({ lp: 0, hp: 0, env: 0, goal: 0, hz: 1.5 + rnd() * 3 }));
      const hi = coef(1500, rate), lo = coef(200, rate), glide = coef(12, rate);
      let clink = 0, phase = 0, pitch = 0, decay = 0;
      for (let i = 0; i < data.length; i++) {
        let sum = 0;
        for (const v of voices) {
          if (rnd() < v.hz / rate) v.goal = rnd() < 0.35 ? 0 : 0.3 + rnd() * 0.7;
          v.env += glide * (v.goal - v.env);
          const w = rnd() * 2 - 1;
          v.lp += hi * (w - v.lp);
          v.hp += lo * (v.lp - v.hp);
          sum += (v.lp - v.hp) * v.env;
        }
        if (rnd() < 0.25 / rate) {
          clink = 0.15 + rnd() * 0.15;
          pitch = (2 * Math.PI * (2200 + rnd() * 1800)) / rate;
          decay = Math.exp(-1 / (0.08 * rate));
        }
        clink *= decay;
        phase += pitch;
        data[i] = sum * 0.7 + clink * Math.sin(phase);
      }
    },
    fire(data, rate, rnd) {
      // A low rumble and crackles: very short bursts, now and then a louder pop.
      const rumble = coef(300, rate);
      let brown = 0, low = 0, crackle = 0, decay = 0;
      for (let i = 0; i < data.length; i++) {
        brown = (brown + 0.02 * (rnd() * 2 - 1)) / 1.02;
        low += rumble * (brown * 3.5 - low);
        const r = rnd();
        if (r < 18 / rate) {
          const pop = rnd() < 0.1;
          crackle = pop ? 0.8 + rnd() * 0.2 : 0.15 + rnd() * 0.5;
          decay = Math.exp(-1 / ((pop ? 0.004 : 0.0006 + rnd() * 0.0015) * rate));
        }
        crackle *= decay;
        data[i] = low * 0.8 + crackle * (rnd() * 2 - 1);
      }
    },
  };

  // A buffer that loops without a click: generate a little more than the loop and cross-fade
  // the continuation into the start; scale to a common loudness (RMS 0.2).
  function loopBuffer(name, seed) {
    const rate = ctx.sampleRate;
    const n = Math.round(LOOP_SECONDS * rate);
    const seam = Math.round(SEAM_SECONDS * rate);
    const data = new Float32Array(n + seam);
    generators[name](data, rate, random(seed));
    for (let i = 0; i < seam; i++) {
      const t = i / seam;
      data[i] = data[i] * t + data[n + i] * (1 - t);
    }
    let sq = 0;
    for (let i = 0; i < n; i++) sq += data[i] * data[i];
    const scale = 0.2 / Math.max(1e-6, Math.sqrt(sq / n));
    const buffer = ctx.createBuffer(1, n, rate);
    const out = buffer.getChannelData(0);
    for (let i = 0; i < n; i++) out[i] = Math.max(-1, Math.min(1, data[i] * scale));
    return buffer;
  }

  function inputVolume(name) {
    const el = document.getElementById("ambient-" + name);
    const v = el ? Number(el.value) : 0;
    return Number.isFinite(v) ? Math.max(0, Math.min(100, v)) / 100 : 0;
  }

  // Perceived loudness grows roughly with the square of the slider.
  const curve = (v) => v * v;

  function build() {
    ctx = new (window.AudioContext || window.webkitAudioContext)();
    master = ctx.createGain();
    master.gain.value = 0;
    analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    master.connect(analyser);
    analyser.connect(ctx.destination);
    SOUNDS.forEach((name, i) => {
      const gain = ctx.createGain();
      gain.gain.value = curve(inputVolume(name));
      const source = ctx.createBufferSource();
      source.buffer = loopBuffer(name, 1234 + i * 977);
      source.loop = true;
      source.connect(gain);
      gain.connect(master);
      source.start(ctx.currentTime + (i * LOOP_SECONDS) / SOUNDS.length);
      gains[name] = gain;
    });
  }

  function inBreak() {
    const panel = document.getElementById("ambient-panel");
    if (!panel) return false;
    return panel.dataset.fade === "true" && BREAKS.includes(panel.dataset.phase);
  }

  // Keep the graph in line with the page: volumes, the master switch, the fade in breaks.
  function sync() {
    if (!ctx) return;
    if (on && !document.getElementById("ambient-toggle")) {
      stop(); // the room page is gone (navigated away): so is its sound
      return;
    }
    const now = ctx.currentTime;
    SOUNDS.forEach((name) => gains[name].gain.setTargetAtTime(curve(inputVolume(name)), now, 0.05));
    const target = on && !inBreak() ? 1 : 0;
    if (target !== lastMaster) {
      // A break fades out over a few seconds (time constant 1.5 s), the next block fades
      // back in; the switch itself is quick.
      const tau = target === 0 ? 1.5 : lastMaster === 0 ? 0.8 : 0.08;
      master.gain.setTargetAtTime(target, now, tau);
      lastMaster = target;
    }
  }

  async function start() {
    if (!ctx) build();
    on = true;
    lastMaster = -1;
    await ctx.resume();
    sync();
    if (!timer) timer = setInterval(sync, 400);
    return ctx.state === "running";
  }

  function stop() {
    on = false;
    if (timer) clearInterval(timer);
    timer = null;
    if (!ctx) return false;
    master.gain.setTargetAtTime(0, ctx.currentTime, 0.05);
    lastMaster = 0;
    const context = ctx;
    setTimeout(() => { if (!on && context.state === "running") context.suspend(); }, 400);
    return false;
  }

  // Dragging a slider is heard at once (the server stores the value when it settles).
  document.addEventListener("input", (event) => {
    const id = event.target && event.target.id;
    if (!ctx || !id || !id.startsWith("ambient-")) return;
    const name = id.slice("ambient-".length);
    if (gains[name]) gains[name].gain.setTargetAtTime(curve(inputVolume(name)), ctx.currentTime, 0.03);
  });

  window.sessionsAmbient = {
    /** The master switch: returns (a promise of) whether the sound is now on. */
    toggle: () => (on ? stop() : start()),
    stop,
    playing: () => on,
    /** The AudioContext's state ("none" before the first start). */
    state: () => (ctx ? ctx.state : "none"),
    /** The RMS of what is playing now (0 when silent). */
    level: () => {
      if (!analyser) return 0;
      const buf = new Float32Array(analyser.fftSize);
      analyser.getFloatTimeDomainData(buf);
      let sq = 0;
      for (const x of buf) sq += x * x;
      return Math.sqrt(sq / buf.length);
    },
  };
})();
