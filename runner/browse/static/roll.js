// The piano roll: one SVG rectangle per note of the file, time across, pitch up; drums (channel 10) on
// a lane of their own below, one row per drum sound the file uses. Beat and bar lines come from the
// file's tempo map and time signatures.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 1000;
const PITCHED = 240;
const DRUM_ROW = 9;
const COLORS = ["#4e9af1", "#f08a4b", "#55c38b", "#d764c4", "#e8c547", "#5bc6d0", "#ef6b73", "#9b8cf2",
                "#8fcf5a", "#c9a27a", "#f2a0c8", "#6fa8a0", "#b4b4f8", "#e59b52", "#7ac4e8", "#cccccc"];
const DRUM_NAMES = {35: "kick", 36: "kick", 37: "stick", 38: "snare", 39: "clap", 40: "snare", 41: "tom", 42: "hat",
                    43: "tom", 44: "pedal hat", 45: "tom", 46: "open hat", 47: "tom", 48: "tom", 49: "crash", 50: "tom",
                    51: "ride", 52: "china", 53: "ride bell", 54: "tambourine", 55: "splash", 56: "cowbell",
                    57: "crash", 59: "ride"};

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

/** Draw a parsed song into container (emptied first); returns the playhead's setter. */
export function drawRoll(container, song) {
  container.textContent = "";
  const pitched = song.notes.filter((n) => !n.drum);
  const drums = song.notes.filter((n) => n.drum);
  const drumKeys = [...new Set(drums.map((n) => n.pitch))].sort((a, b) => a - b);
  const drumHeight = drumKeys.length ? drumKeys.length * DRUM_ROW + 14 : 0;
  const height = (pitched.length ? PITCHED : 0) + drumHeight || 40;
  const duration = Math.max(song.duration, 0.001);
  const x = (t) => (t / duration) * WIDTH;
  const svg = el("svg", {viewBox: `0 0 ${WIDTH} ${height}`, preserveAspectRatio: "none", class: "roll",
                         role: "img", "aria-label": `piano roll: ${song.notes.length} notes`});
  svg.dataset.notes = String(song.notes.length);
  const grid = el("g", {class: "grid"}, svg);
  if (song.beats.length < 400) {
    for (const t of song.beats) el("line", {x1: x(t), x2: x(t), y1: 0, y2: height, class: "beat"}, grid);
  }
  for (const t of song.bars) el("line", {x1: x(t), x2: x(t), y1: 0, y2: height, class: "bar"}, grid);

  if (pitched.length) {
    let lo = 127, hi = 0;
    for (const n of pitched) { lo = Math.min(lo, n.pitch); hi = Math.max(hi, n.pitch); }
    if (hi - lo < 23) { const pad = (23 - (hi - lo)) >> 1; lo = Math.max(0, lo - pad); hi = Math.min(127, lo + 23); }
    const row = PITCHED / (hi - lo + 1);
    for (let p = lo; p <= hi; p++) {
      if (p % 12 === 0) el("line", {x1: 0, x2: WIDTH, y1: (hi - p + 1) * row, y2: (hi - p + 1) * row, class: "octave"}, grid);
      if ([1, 3, 6, 8, 10].includes(p % 12)) el("rect", {x: 0, y: (hi - p) * row, width: WIDTH, height: row, class: "black-key"}, grid);
    }
    const g = el("g", {class: "notes pitched"}, svg);
    for (const n of pitched) {
      el("rect", {x: x(n.start), y: (hi - n.pitch) * row, width: Math.max(x(n.end) - x(n.start), 1.2),
                  height: Math.max(row - 0.4, 0.8), fill: COLORS[n.channel], "fill-opacity": 0.45 + n.velocity / 254,
                  class: "note", "data-pitch": n.pitch, "data-channel": n.channel + 1}, g);
    }
  }
  if (drums.length) {
    const top = pitched.length ? PITCHED : 0;
    const lane = el("g", {class: "notes drums"}, svg);
    el("rect", {x: 0, y: top, width: WIDTH, height: drumHeight, class: "drum-lane"}, lane);
    el("text", {x: 4, y: top + 10, class: "lane-label"}, lane).textContent = "drums";
    drumKeys.forEach((key, i) => {
      const y = top + 14 + i * DRUM_ROW;
      el("text", {x: WIDTH - 4, y: y + DRUM_ROW - 2, class: "drum-label", "text-anchor": "end"}, lane)
        .textContent = DRUM_NAMES[key] || `drum ${key}`;
    });
    for (const n of drums) {
      const y = top + 14 + drumKeys.indexOf(n.pitch) * DRUM_ROW;
      el("rect", {x: x(n.start), y: y + 1, width: Math.max(Math.min(x(n.end) - x(n.start), 6), 2.5), height: DRUM_ROW - 2,
                  fill: "#e2e2e2", "fill-opacity": 0.35 + n.velocity / 200, class: "note drum",
                  "data-pitch": n.pitch, "data-channel": 10}, lane);
    }
  }
  const head = el("line", {x1: 0, x2: 0, y1: 0, y2: height, class: "playhead", visibility: "hidden"}, svg);
  container.appendChild(svg);
  return (t) => {
    if (t === null) { head.setAttribute("visibility", "hidden"); return; }
    head.setAttribute("visibility", "visible");
    head.setAttribute("x1", x(t));
    head.setAttribute("x2", x(t));
  };
}
