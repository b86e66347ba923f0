// Standard MIDI File reader: the notes, tempo map and time signatures of a file's bytes, for the piano
// roll and the synthesizer. Written for this page (no third-party code).
//
// Every note-on with a velocity above 0 is one note. It ends at the first matching note-off (or note-on
// with velocity 0) of the same track, channel and key, first started first ended; a note never ended
// lasts to the end of its track. Running status carries over meta and SysEx events (the spec says they
// cancel it, but files written otherwise are common, and mido reads them the same way). The header's
// track count rules: MTrk chunks past it are not read (as in mido). A RIFF RMID wrapper is looked
// through; a track cut short keeps the events read before the cut. Tempo changes of every track apply
// to all tracks (format 1's conductor track; format 2 is read the same way); SMPTE time division
// counts ticks in frames instead.

const decoder = new TextDecoder("latin1");

export class MidiError extends Error {}

function findHeader(bytes) {
  // "MThd" at 0, or inside a RIFF RMID file's data chunk
  for (let i = 0; i + 14 <= bytes.length && i < 4096; i++) {
    if (bytes[i] === 0x4d && bytes[i + 1] === 0x54 && bytes[i + 2] === 0x68 && bytes[i + 3] === 0x64) return i;
    if (i === 0 && !(bytes[0] === 0x52 && bytes[1] === 0x49 && bytes[2] === 0x46 && bytes[3] === 0x46)) break;
  }
  throw new MidiError("not a MIDI file: no MThd header");
}

function u32(b, i) { return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0; }
function u16(b, i) { return (b[i] << 8) | b[i + 1]; }

/** Parse the bytes of a MIDI file (ArrayBuffer or Uint8Array). */
export function parseSMF(buffer) {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  const start = findHeader(bytes);
  const headerLength = u32(bytes, start + 4);
  const format = u16(bytes, start + 8);
  const declaredTracks = u16(bytes, start + 10);
  const division = u16(bytes, start + 12);
  const smpte = (division & 0x8000) !== 0;
  const ppq = smpte ? 0 : division;
  const ticksPerSecond = smpte ? (256 - (division >> 8)) * (division & 0xff) : 0;
  if (!smpte && ppq === 0) throw new MidiError("bad MIDI header: 0 ticks per quarter note");

  const notes = [];
  const tempos = [];
  const timeSignatures = [];
  const programs = [];  // {tick, channel, program}
  const warnings = [];
  let trackCount = 0;
  let extraTracks = 0;
  let lastTick = 0;
  let pos = start + 8 + headerLength;
  while (pos + 8 <= bytes.length) {
    const id = decoder.decode(bytes.subarray(pos, pos + 4));
    let length = u32(bytes, pos + 4);
    const begin = pos + 8;
    if (begin + length > bytes.length) {
      warnings.push(`chunk ${trackCount + 1} is cut short`);
      length = bytes.length - begin;
    }
    if (id === "MTrk" && trackCount >= declaredTracks) {
      extraTracks++;  // the header's count rules (as in mido): chunks past it are not read
    } else if (id === "MTrk") {
      const end = readTrack(bytes, begin, begin + length, trackCount, notes, tempos, timeSignatures, programs, warnings);
      lastTick = Math.max(lastTick, end);
      trackCount++;
    }
    pos = begin + length;
  }
  if (trackCount < declaredTracks) warnings.push(`the header declares ${declaredTracks} tracks, the file has ${trackCount}`);
  if (extraTracks) warnings.push(`${extraTracks} track chunk${extraTracks > 1 ? "s" : ""} past the header's ${declaredTracks} not read`);

  // tick -> seconds through the tempo map (120 BPM until the first tempo event)
  tempos.sort((a, b) => a.tick - b.tick);
  const segments = [{ tick: 0, sec: 0, usPerQuarter: 500000 }];
  for (const t of tempos) {
    const s = segments[segments.length - 1];
    const sec = s.sec + ((t.tick - s.tick) * s.usPerQuarter) / 1e6 / ppq;
    if (t.tick === s.tick) s.usPerQuarter = t.usPerQuarter;
    else segments.push({ tick: t.tick, sec, usPerQuarter: t.usPerQuarter });
  }
  const seconds = (tick) => {
    if (smpte) return tick / ticksPerSecond;
    let lo = 0, hi = segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segments[mid].tick <= tick) lo = mid; else hi = mid - 1;
    }
    const s = segments[lo];
    return s.sec + ((tick - s.tick) * s.usPerQuarter) / 1e6 / ppq;
  };

  // the program each note's channel had when it started
  programs.sort((a, b) => a.tick - b.tick || a.order - b.order);
  notes.sort((a, b) => a.startTick - b.startTick || a.pitch - b.pitch);
  const current = new Array(16).fill(0);
  let p = 0;
  for (const n of notes) {
    while (p < programs.length && programs[p].tick <= n.startTick) {
      current[programs[p].channel] = programs[p].program;
      p++;
    }
    n.program = current[n.channel];
    n.drum = n.channel === 9;
    n.start = seconds(n.startTick);
    n.end = Math.max(seconds(n.endTick), n.start + 0.01);
  }
  let duration = seconds(lastTick);
  for (const n of notes) duration = Math.max(duration, n.end);
  const beats = [];
  if (!smpte) {
    for (let tick = 0, i = 0; tick <= lastTick && i < 2000; tick += ppq, i++) beats.push(seconds(tick));
  }
  const bars = [];
  if (!smpte && timeSignatures.length) {
    timeSignatures.sort((a, b) => a.tick - b.tick);
    let tick = 0;
    for (let i = 0; tick <= lastTick && bars.length < 1000; i++) {
      const ts = [...timeSignatures].reverse().find((t) => t.tick <= tick) || timeSignatures[0];
      bars.push(seconds(tick));
      const step = Math.round((ppq * 4 * ts.numerator) / ts.denominator);
      if (step <= 0) break;
      tick += step;
    }
  }
  return { format, ppq, smpte, tracks: trackCount, notes, tempos, timeSignatures, duration, beats, bars, warnings };
}

function readVarLen(bytes, state, end) {
  let value = 0;
  for (let i = 0; i < 4; i++) {
    if (state.pos >= end) throw new MidiError("cut short");
    const b = bytes[state.pos++];
    value = (value << 7) | (b & 0x7f);
    if ((b & 0x80) === 0) return value;
  }
  throw new MidiError("variable-length number longer than 4 bytes");
}

function readTrack(bytes, begin, end, track, notes, tempos, timeSignatures, programs, warnings) {
  const state = { pos: begin };
  const open = new Map();  // channel*128+pitch -> [notes not ended yet], first started first ended
  let tick = 0;
  let running = 0;
  let order = 0;
  const close = (channel, pitch) => {
    const list = open.get(channel * 128 + pitch);
    if (list && list.length) list.shift().endTick = tick;
  };
  try {
    while (state.pos < end) {
      tick += readVarLen(bytes, state, end);
      let status = bytes[state.pos];
      if (status & 0x80) {
        state.pos++;
      } else if (running) {
        status = running;  // running status: the data byte is read below
      } else {
        throw new MidiError("data byte without a status");
      }
      if (status === 0xff) {  // meta and SysEx keep the running status: files written that way are common
        if (state.pos >= end) throw new MidiError("cut short");
        const type = bytes[state.pos++];
        const length = readVarLen(bytes, state, end);
        const data = bytes.subarray(state.pos, Math.min(state.pos + length, end));
        state.pos += length;
        if (type === 0x2f) break;  // end of track
        if (type === 0x51 && data.length >= 3) {
          const us = (data[0] << 16) | (data[1] << 8) | data[2];
          if (us > 0) tempos.push({ tick, usPerQuarter: us });
        } else if (type === 0x58 && data.length >= 2) {
          timeSignatures.push({ tick, numerator: data[0], denominator: 2 ** data[1] });
        }
        continue;
      }
      if (status === 0xf0 || status === 0xf7) {
        state.pos += readVarLen(bytes, state, end);
        continue;
      }
      if (status >= 0xf0) {  // system common / real-time bytes have no place in a file: skip their data
        running = 0;
        state.pos += status === 0xf2 ? 2 : status === 0xf1 || status === 0xf3 ? 1 : 0;
        continue;
      }
      running = status;
      const kind = status & 0xf0;
      const channel = status & 0x0f;
      const width = kind === 0xc0 || kind === 0xd0 ? 1 : 2;
      if (state.pos + width > end) throw new MidiError("cut short");
      const a = bytes[state.pos];
      const b = width === 2 ? bytes[state.pos + 1] : 0;
      if ((a | b) & 0x80) throw new MidiError("status byte where data was expected");
      state.pos += width;
      if (kind === 0x90 && b > 0) {
        const note = { pitch: a, velocity: b, channel, track, startTick: tick, endTick: -1 };
        notes.push(note);
        const key = channel * 128 + a;
        if (!open.has(key)) open.set(key, []);
        open.get(key).push(note);
      } else if (kind === 0x80 || kind === 0x90) {
        close(channel, a);
      } else if (kind === 0xc0) {
        programs.push({ tick, channel, program: a, order: order++ });
      }
    }
  } catch (err) {
    if (!(err instanceof MidiError)) throw err;
    warnings.push(`track ${track + 1}: ${err.message}`);
  }
  for (const list of open.values()) for (const n of list) n.endTick = tick;
  return tick;
}
