// The browse page: search, facets, an endless result list, a file's details with its piano roll, and
// playback. Every number and name shown comes from the JSON API (one midi.* call per request) or from
// the file's own bytes (smf.js); nothing is computed here but layout.

import { parseSMF } from "./smf.js";
import { drawRoll } from "./roll.js";
import { Player } from "./synth.js";

const $ = (id) => document.getElementById(id);
const FACETS = [  // midi.facets' dimensions, the filter each one sets, and how it is titled
  ["manufacturer", "manufacturer", "Manufacturer"],
  ["collection", "collection", "Collection"],
  ["key", "keys", "Key"],
  ["category", "categories", "Category"],
  ["bpm", null, "BPM"],
  ["tag", "tags_any", "Tags"],
];

const state = {
  status: null,
  q: "",
  sort: "",
  ticked: {manufacturer: new Set(), collection: new Set(), key: new Set(), category: new Set(), tag: new Set()},
  bpmMin: "", bpmMax: "", halfdouble: false, compatible: "",
  rows: [],
  after: null,
  pages: 0,
  loading: 0,  // the generation whose next page is on its way (0: none)
  generation: 0,
  selected: -1,
  details: null,
  song: null,
  setPlayhead: null,
};

const player = new Player((playing) => {
  document.body.dataset.playing = String(playing);
  $("play").textContent = playing ? "■ Stop" : "▶ Play";
  $("play").setAttribute("aria-pressed", String(playing));
  if (playing) requestAnimationFrame(animate);
  else if (state.setPlayhead) state.setPlayhead(null);
});
window.midicenterBrowse = { state, player };  // for the tests and the curious

function animate() {
  if (!player.playing) return;
  if (state.setPlayhead) state.setPlayhead(player.position());
  requestAnimationFrame(animate);
}

// ------------------------------------------------------------------------------------------ API

class ApiError extends Error {
  constructor(status, message, kind) { super(message); this.status = status; this.kind = kind; }
}

async function api(path, body, { raw = false } = {}) {
  let response;
  try {
    response = await fetch(path, body === undefined ? {} : {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  } catch (err) {
    const e = new ApiError(0, "the midicenter browse server does not answer (was it stopped?)", "server");
    unavailable(e);
    throw e;
  }
  if (!response.ok) {
    let data = {};
    try { data = await response.json(); } catch { /* not JSON */ }
    const e = new ApiError(response.status, data.error || response.statusText, data.kind || "request");
    if (response.status === 503) unavailable(e);
    throw e;
  }
  available();
  return raw ? response.arrayBuffer() : response.json();
}

let retryTimer = null;

function unavailable(err) {
  const titles = {connection: "The database cannot be reached.", schema: "The database has no midicenter schema.",
                  privilege: "This database login may not read the library.", server: "The page's server is gone."};
  $("banner-title").textContent = titles[err.kind] || "Something went wrong.";
  $("banner-text").textContent = err.message;
  $("banner").hidden = false;
  $("banner").dataset.kind = err.kind;
  document.body.dataset.state = "unavailable";
  if (!retryTimer) retryTimer = setInterval(() => start(true), 4000);
}

function available() {
  if ($("banner").hidden) return;
  $("banner").hidden = true;
  document.body.dataset.state = "ready";
  clearInterval(retryTimer);
  retryTimer = null;
}

let noticeTimer = null;
function notice(text) {
  $("notice").textContent = text;
  $("notice").hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { $("notice").hidden = true; }, 6000);
}

function report(err) {
  if (err.name === "AbortError") return;
  if (err instanceof ApiError && (err.status === 503 || err.status === 0)) return;  // the banner says it
  notice(err.message);
}

// -------------------------------------------------------------------------------------- filters

/** The filter object midi.search, midi.search_count and midi.facets take as filters => (given ones only). */
function filters() {
  const f = {};
  if (state.q.trim()) f.q = state.q.trim();
  for (const [facet, key] of FACETS) {
    if (key && state.ticked[facet].size) f[key] = [...state.ticked[facet]];
  }
  if (state.bpmMin !== "") f.bpm_min = Number(state.bpmMin);
  if (state.bpmMax !== "") f.bpm_max = Number(state.bpmMax);
  if (state.halfdouble) f.bpm_halfdouble = true;
  if (state.compatible) f.compatible_key = state.compatible;
  return f;
}

let refreshTimer = null;
function refreshSoon(delay = 180) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, delay);
}

async function refresh() {
  const generation = ++state.generation;
  state.rows = [];
  state.after = null;
  state.pages = 0;
  state.selected = -1;
  $("list").textContent = "";
  $("list-end").textContent = "";
  const f = filters();
  loadPage(generation);
  api("/api/count", {filters: f}).then((c) => {
    if (generation !== state.generation) return;
    $("count").textContent = `${c.exact ? "" : "≈ "}${c.files.toLocaleString("en")} files`;
  }).catch(report);
  api("/api/facets", {filters: f}).then((rows) => {
    if (generation === state.generation) drawFacets(rows);
  }).catch(report);
}

function drawFacets(rows) {
  const box = $("facets");
  box.textContent = "";
  for (const [facet, , title] of FACETS) {
    const values = rows.filter((r) => r.facet === facet);
    const ticked = facet === "bpm" ? bpmTicked() : state.ticked[facet];
    for (const v of ticked) {  // a ticked value outside the top list stays visible, to untick it
      if (!values.some((r) => r.value === v)) values.push({facet, value: v, files: null, exact: true});
    }
    if (!values.length) continue;
    const set = document.createElement("fieldset");
    set.className = "facet";
    set.dataset.facet = facet;
    const legend = document.createElement("legend");
    legend.textContent = title;
    set.appendChild(legend);
    if (facet === "bpm") values.sort((a, b) => Number(a.value) - Number(b.value));
    for (const r of values) {
      const label = document.createElement("label");
      label.className = "check";
      const input = document.createElement("input");
      input.type = "checkbox";
      input.value = r.value;
      input.checked = ticked.has(r.value);
      input.addEventListener("click", (ev) => tick(facet, r.value, input.checked, ev.shiftKey));
      const name = document.createElement("span");
      name.className = "value";
      name.textContent = facet === "bpm" ? `${r.value}–${Number(r.value) + 9}` : r.value;
      const count = document.createElement("span");
      count.className = "n";
      count.textContent = r.files === null ? "" : `${r.exact ? "" : "≈"}${r.files.toLocaleString("en")}`;
      label.append(input, name, count);
      set.appendChild(label);
    }
    box.appendChild(set);
  }
}

// BPM buckets (midi.facets counts tempi in buckets of 10) select a tempo range: a bucket sets the range to
// itself, shift-click widens the range to include it.
function bpmTicked() {
  const set = new Set();
  if (state.bpmMin === "" || state.bpmMax === "") return set;
  for (let b = Math.floor(Number(state.bpmMin) / 10) * 10; b <= Number(state.bpmMax); b += 10) {
    if (b >= Number(state.bpmMin) && b + 9.99 <= Number(state.bpmMax)) set.add(String(b));
  }
  return set;
}

function tick(facet, value, on, widen) {
  if (facet === "bpm") {
    const low = Number(value);
    if (!on) { state.bpmMin = ""; state.bpmMax = ""; }
    else if (widen && state.bpmMin !== "" && state.bpmMax !== "") {
      state.bpmMin = String(Math.min(Number(state.bpmMin), low));
      state.bpmMax = String(Math.max(Number(state.bpmMax), low + 9.99));
    } else { state.bpmMin = String(low); state.bpmMax = String(low + 9.99); }
    $("bpm-min").value = state.bpmMin;
    $("bpm-max").value = state.bpmMax;
  } else if (on) state.ticked[facet].add(value);
  else state.ticked[facet].delete(value);
  refreshSoon(0);
}

// --------------------------------------------------------------------------------------- results

async function loadPage(generation = state.generation) {
  // one page at a time per result list; a newer list (a changed filter) never waits for an older one
  if (state.loading === generation || (state.pages > 0 && !state.after)) return;
  state.loading = generation;
  $("list-end").textContent = "loading…";
  try {
    const page = await api("/api/search", {filters: filters(), sort: state.sort || null, after: state.after});
    if (generation !== state.generation) return;
    state.pages++;
    state.after = page.after;
    const first = state.rows.length;
    state.rows.push(...page.results);
    page.results.forEach((r, i) => $("list").appendChild(row(r, first + i)));
    $("list").dataset.pages = String(state.pages);
    $("list-end").textContent = state.after ? "" : (state.rows.length ? "end of the list" : "no file matches");
  } catch (err) {
    report(err);
    if (generation === state.generation) $("list-end").textContent = "";
  } finally {
    if (state.loading === generation) state.loading = 0;
  }
  if (generation === state.generation && state.after && nearEnd()) loadPage(generation);  // a short page that does not fill the view
}

function nearEnd() {
  const list = $("list");
  return list.scrollHeight - list.scrollTop - list.clientHeight < 200;
}

function cell(cls, text) {
  const span = document.createElement("span");
  span.className = cls;
  span.textContent = text ?? "";
  return span;
}

function row(r, index) {
  const li = document.createElement("li");
  li.className = "row";
  li.id = `file-${r.id}`;
  li.dataset.id = r.id;
  li.dataset.index = index;
  li.setAttribute("role", "option");
  li.setAttribute("aria-selected", "false");
  li.draggable = true;
  li.title = r.filepath;
  // a login that may not write sees a favorite's star as a mark, and no toggle (no empty star to click)
  const fav = cell("c-fav", r.is_favorite ? "★" : (state.status.can_write ? "☆" : ""));
  fav.classList.toggle("on", r.is_favorite);
  if (state.status.can_write) {
    fav.classList.add("toggle");
    fav.title = "favorite";
    fav.addEventListener("click", (ev) => { ev.stopPropagation(); toggleFavorite(index); });
  }
  li.append(fav, cell("c-name", r.filename), cell("c-bpm", r.bpm === null ? "" : String(r.bpm)),
            cell("c-key", r.key === "UNKNOWN" ? "" : r.key), cell("c-cat", r.category),
            cell("c-maker", [r.manufacturer, r.collection].filter(Boolean).join(" · ")),
            cell("c-dur", r.duration === null ? "" : Number(r.duration).toFixed(1)));
  li.addEventListener("click", () => select(index));
  li.addEventListener("dblclick", () => { select(index); playSelected(); });
  li.addEventListener("dragstart", (ev) => dragOut(ev, r));
  return li;
}

// Dragging a row out gives the file itself where the browser supports DownloadURL (Chromium-based
// browsers: the drop target receives the MIDI file); elsewhere the drop gets its address and path.
function dragOut(ev, r) {
  const url = new URL(`/api/files/${r.id}/midi`, location.href).href;
  const name = r.filename.replace(/[:\n\r]/g, "_");
  ev.dataTransfer.effectAllowed = "copy";
  ev.dataTransfer.setData("DownloadURL", `audio/midi:${name}:${url}`);
  ev.dataTransfer.setData("text/uri-list", url);
  ev.dataTransfer.setData("text/plain", r.filepath);
}

function select(index) {
  if (index < 0 || index >= state.rows.length) return;
  const list = $("list");
  const previous = list.querySelector('[aria-selected="true"]');
  if (previous) previous.setAttribute("aria-selected", "false");
  state.selected = index;
  const li = list.children[index];
  li.setAttribute("aria-selected", "true");
  list.setAttribute("aria-activedescendant", li.id);
  li.scrollIntoView({block: "nearest"});
  if (state.after && index >= state.rows.length - 5) loadPage();
  openFile(state.rows[index].id);
}

// ---------------------------------------------------------------------------------------- details

let opening = 0;
async function openFile(id) {
  const wasPlaying = player.playing;
  player.stop();
  const token = ++opening;
  state.song = null;
  state.setPlayhead = null;
  $("details-empty").hidden = true;
  $("details-body").hidden = false;
  $("details").dataset.file = id;
  $("details").dataset.loaded = "false";
  $("roll").textContent = "";
  $("roll-note").textContent = "reading the file…";
  $("similar-box").hidden = true;
  const details = api(`/api/files/${id}`);
  const bytes = api(`/api/files/${id}/midi`, undefined, {raw: true});
  try {
    const d = await details;
    if (token !== opening) return;
    state.details = d;
    drawDetails(d);
  } catch (err) { report(err); return; }
  try {
    const song = parseSMF(await bytes);
    if (token !== opening) return;
    state.song = song;
    state.setPlayhead = drawRoll($("roll"), song);
    const drums = song.notes.filter((n) => n.drum).length;
    $("roll-note").textContent = `${song.notes.length.toLocaleString("en")} notes${drums ? ` (${drums} on the drum lane)` : ""}`
      + `, ${song.tracks} track${song.tracks === 1 ? "" : "s"}, ${song.duration.toFixed(1)} s`
      + (song.warnings.length ? ` · ${song.warnings.join("; ")}` : "");
    if (wasPlaying) player.play(song);
  } catch (err) {
    if (token !== opening) return;
    $("roll-note").textContent = `cannot show this file: ${err.message}`;
  } finally {
    if (token === opening) $("details").dataset.loaded = "true";
  }
}

const FACTS = [
  ["bpm", "BPM"], ["key_signature", "key"], ["time_signature", "meter"], ["primary_category", "category"],
  ["secondary_category", "also"], ["total_notes", "notes"], ["duration_seconds", "seconds"], ["num_tracks", "tracks"],
  ["format", "format"], ["instruments", "instruments"], ["tags", "tags"], ["manufacturer", "manufacturer"],
  ["collection_name", "collection"], ["file_size_bytes", "bytes"], ["content_hash", "BLAKE3"],
  ["created_at", "imported"], ["analyzed_at", "analyzed"],
];

function drawDetails(d) {
  $("d-name").textContent = d.filename;
  const facts = $("facts");
  facts.textContent = "";
  const values = {...d, time_signature: d.time_signature_numerator ? `${d.time_signature_numerator}/${d.time_signature_denominator}` : null};
  for (const [key, label] of FACTS) {
    let v = values[key];
    if (v === null || v === undefined || (Array.isArray(v) && !v.length) || v === "UNKNOWN") continue;
    if (Array.isArray(v)) v = v.join(", ");
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = String(v);
    facts.append(dt, dd);
  }
  const paths = $("paths");
  paths.textContent = "";
  for (const p of d.paths) {
    const li = document.createElement("li");
    li.textContent = p;
    if (p === d.filepath) li.className = "canonical";
    paths.appendChild(li);
  }
  $("download").href = `/api/files/${d.id}/midi`;
  $("download").setAttribute("download", d.filename);
  drawFavorite(d.is_favorite);
  drawStars(d.rating);
}

function drawFavorite(on) {
  $("fav").textContent = on ? "★ Favorite" : "☆ Favorite";
  $("fav").setAttribute("aria-pressed", String(on));
}

function drawStars(rating) {
  const box = $("stars");
  box.textContent = "";
  for (let i = 1; i <= 5; i++) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "star";
    b.textContent = rating && i <= rating ? "★" : "☆";
    b.title = `${i} star${i > 1 ? "s" : ""} (${i}); click again to clear`;
    b.setAttribute("aria-checked", String(rating === i));
    b.setAttribute("role", "radio");
    b.addEventListener("click", () => rate(rating === i ? 0 : i));
    box.appendChild(b);
  }
  box.dataset.rating = String(rating || 0);
}

async function toggleFavorite(index = state.selected) {
  if (!state.status.can_write || index < 0) return;
  const r = state.rows[index];
  try {
    const out = await api(`/api/files/${r.id}/favorite`, {});
    r.is_favorite = out.favorite;
    const fav = $("list").children[index].querySelector(".c-fav");
    fav.textContent = out.favorite ? "★" : "☆";
    fav.classList.toggle("on", out.favorite);
    if (state.details && state.details.id === r.id) { state.details.is_favorite = out.favorite; drawFavorite(out.favorite); }
  } catch (err) { report(err); }
}

async function rate(stars) {
  if (!state.status.can_write || !state.details) return;
  try {
    const out = await api(`/api/files/${state.details.id}/rating`, {stars});
    state.details.rating = out.rating;
    drawStars(out.rating);
  } catch (err) { report(err); }
}

async function similar() {
  if (!state.details) return;
  const id = state.details.id;
  try {
    const rows = await api(`/api/files/${id}/similar`, {lim: 20});
    const list = $("similar-list");
    list.textContent = "";
    for (const r of rows) {
      const li = document.createElement("li");
      const name = r.filename ?? `file ${r.id ?? r.file_id}`;
      const distance = r.distance ?? r.dist ?? null;
      li.textContent = distance === null ? name : `${name} (${Number(distance).toFixed(3)})`;
      list.appendChild(li);
    }
    $("similar-box").hidden = false;
  } catch (err) { report(err); }
}

function playSelected() {
  if (player.playing) { player.stop(); return; }
  if (state.song && state.song.notes.length) player.play(state.song);
}

// ---------------------------------------------------------------------------------------- collect

function openCollect() {
  $("collect-result").textContent = "";
  $("collect-dialog").showModal();
}

async function runCollect(ev) {
  ev.preventDefault();
  const form = new FormData($("collect-form"));
  const options = {[form.get("zip") ? "zip" : "to"]: form.get("to")};
  if (form.get("rename")) options.rename = form.get("rename");
  if (form.get("link")) options.link = true;
  if (form.get("keep_tree")) options.keep_tree = true;
  $("collect-result").textContent = "collecting…";
  try {
    const out = await api("/api/collect", {filters: filters(), sort: state.sort || null, options});
    const said = (v) => (v && typeof v === "object" ? Object.entries(v).map(([k, n]) => `${k}=${n}`).join(", ") || "-" : v);
    $("collect-result").textContent = Object.entries(out).map(([k, v]) => `${k}: ${said(v)}`).join(" · ");
    $("collect-result").dataset.files = String(out.files);
  } catch (err) {
    $("collect-result").textContent = err.message;
  }
}

// --------------------------------------------------------------------------------------- keyboard

function onKey(ev) {
  const t = ev.target;
  const typing = t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement;
  if (typing) {
    if (ev.key === "Escape" || (ev.key === "ArrowDown" && t === $("q"))) { t.blur(); $("list").focus(); ev.preventDefault(); }
    return;
  }
  if ($("collect-dialog").open || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
    ev.preventDefault();
    select(Math.max(0, Math.min(state.rows.length - 1, state.selected + (ev.key === "ArrowDown" ? 1 : -1))));
  } else if (ev.key === " ") {
    ev.preventDefault();
    playSelected();
  } else if (ev.key === "/") {
    ev.preventDefault();
    $("q").focus();
  } else if (ev.key === "f") {
    toggleFavorite();
  } else if (/^[0-5]$/.test(ev.key)) {
    rate(Number(ev.key));
  }
}

// ------------------------------------------------------------------------------------------ start

let started = false;
async function start(retrying = false) {
  let status;
  try {
    status = await api("/api/status");
  } catch (err) {
    if (!retrying) report(err);
    return;
  }
  state.status = status;
  document.body.dataset.state = "ready";
  document.body.classList.toggle("can-write", status.can_write);
  $("database").textContent = `${status.database} · reads as ${status.read_role || status.login}`
    + (status.can_write ? ` · writes as ${status.write_role || status.login}` : " · read-only");
  $("similar").hidden = !status.similar;
  $("collect-bar").hidden = !status.collect;
  if (!started) {
    started = true;
    const sort = $("sort");
    sort.appendChild(new Option("default", ""));
    for (const s of status.sorts) sort.appendChild(new Option(s, s));
    for (const k of status.keys) $("compatible").appendChild(new Option(k, k));
    wire();
  }
  refresh();
}

function wire() {
  $("q").addEventListener("input", () => { state.q = $("q").value; refreshSoon(); });
  $("sort").addEventListener("change", () => { state.sort = $("sort").value; refreshSoon(0); });
  $("bpm-min").addEventListener("change", () => { state.bpmMin = $("bpm-min").value; refreshSoon(0); });
  $("bpm-max").addEventListener("change", () => { state.bpmMax = $("bpm-max").value; refreshSoon(0); });
  $("halfdouble").addEventListener("change", () => { state.halfdouble = $("halfdouble").checked; refreshSoon(0); });
  $("compatible").addEventListener("change", () => { state.compatible = $("compatible").value; refreshSoon(0); });
  $("clear").addEventListener("click", () => {
    for (const s of Object.values(state.ticked)) s.clear();
    Object.assign(state, {q: "", bpmMin: "", bpmMax: "", halfdouble: false, compatible: ""});
    for (const id of ["q", "bpm-min", "bpm-max", "compatible"]) $(id).value = "";
    $("halfdouble").checked = false;
    refreshSoon(0);
  });
  $("retry").addEventListener("click", () => start(true));
  $("play").addEventListener("click", playSelected);
  $("fav").addEventListener("click", () => toggleFavorite());
  $("similar").addEventListener("click", similar);
  $("collect").addEventListener("click", openCollect);
  $("collect-cancel").addEventListener("click", () => $("collect-dialog").close());
  $("collect-form").addEventListener("submit", runCollect);
  const list = $("list");
  list.addEventListener("scroll", () => { if (nearEnd()) loadPage(); });
  document.addEventListener("keydown", onKey);
}

start();
