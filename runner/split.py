"""A song's parts as files of their own: one MIDI file per track (per channel of a format 0 file).

Each part is a format 1 file of two tracks written by mido: a conductor track with the song's tempo, time
signature, key signature and SMPTE offset events (from every track, at their times), so the part plays in
time on its own, and the part's own track with every event it had, at the same ticks and resolution. A
channel's program and bank select set up by a track without notes (a setup track) are copied into the
parts that play that channel, so a bass part still sounds as a bass. Tracks without notes make no part;
so the notes of all parts together are the notes of the song. The same song always gives the same bytes.

``split_file`` reads the song from a stored path whose bytes match its hash, writes the parts into a
folder (skipping parts already there with the same bytes) and, with ``do_import``, imports the parts,
registers them with their parent and track number (midi.split_register) and analyzes them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mido
import psycopg
from blake3 import blake3
from psycopg.types.json import Jsonb

from runner import export, midifile, sources
from runner.queries import queries

__all__ = ["CONDUCTOR", "Part", "SplitError", "split_bytes", "split_file"]

CONDUCTOR = frozenset(("set_tempo", "time_signature", "key_signature", "smpte_offset"))
"""The events every part gets a copy of: what makes it play in time and in key."""
_SETUP_CONTROLS = frozenset((0, 32))  # bank select MSB and LSB
DRUM_CHANNEL = 9


class SplitError(RuntimeError):
    """The song cannot be split (not found, no readable copy, not parseable): one line saying why."""


@dataclass(frozen=True)
class Part:
    """One part: its place in the song (track index; channel for a format 0 song), what it holds, and its
    bytes. ``label`` is what its file is named after (track name, instrument or channel)."""

    track_number: int
    channel: int | None
    track_name: str
    instrument: str
    note_count: int
    label: str
    data: bytes


def _absolute(track: mido.MidiTrack) -> list[tuple[int, int, Any]]:
    """(tick, position, message) of a track's messages; realtime bytes (not allowed in files) dropped."""
    out = []
    tick = 0
    for i, msg in enumerate(track):
        tick += msg.time
        if not msg.is_realtime:
            out.append((tick, i, msg))
    return out


def _track(events: list[tuple[int, int, Any]]) -> mido.MidiTrack:
    """A track of (tick, order, message) events, in time order (stable), with delta times."""
    track = mido.MidiTrack()
    last = 0
    for tick, _order, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - last))
        last = tick
    return track


def _notes(events: list[tuple[int, int, Any]]) -> int:
    return sum(1 for _t, _i, m in events if m.type == "note_on" and m.velocity > 0)


def _program_name(program: int | None, channel: int | None, gm: dict[int, str]) -> str:
    if channel == DRUM_CHANNEL:
        return "Drums"
    if program is None:
        return ""
    return gm.get(program, f"Program {program + 1}")


def _save(tpb: int, tracks: list[mido.MidiTrack], fmt: int = 1) -> bytes:
    mid = mido.MidiFile(type=fmt, ticks_per_beat=tpb)
    mid.tracks.extend(tracks)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def split_bytes(data: bytes, gm: dict[int, str] | None = None) -> tuple[int, list[Part]]:
    """The parts of a song's bytes: (the song's format, its parts in track or channel order).
    SplitError when the bytes are not a MIDI file mido can read."""
    gm = gm or {}
    try:
        info = midifile.inspect(data)
        mid = mido.MidiFile(file=io.BytesIO(bytes(data[info.smf_slice])), clip=True)
    except midifile.MidiRejected as exc:
        raise SplitError(f"not a MIDI file: {exc.message}") from None
    except Exception as exc:  # mido raises many kinds on damaged data
        raise SplitError(f"mido cannot read it: {type(exc).__name__}: {exc}") from None
    tpb = mid.ticks_per_beat
    tracks = [_absolute(t) for t in mid.tracks]
    fmt = mid.type
    parts: list[Part] = []
    if fmt == 2:  # independent patterns: each track is a song of its own, tempo included
        for ti, events in enumerate(tracks):
            if _notes(events):
                name = _meta_text(events, "track_name")
                parts.append(_part(ti, None, events, [], tpb, gm, name))
        return fmt, parts

    conductor = [(t, ti * 1_000_000 + i, m) for ti, events in enumerate(tracks)
                 for t, i, m in events if m.type in CONDUCTOR]
    noteless = [ti for ti, events in enumerate(tracks) if not _notes(events)]
    # program and bank select of setup tracks (tracks without notes), per channel
    setup: dict[int, list[tuple[int, int, Any]]] = {}
    for ti in noteless:
        for t, i, m in tracks[ti]:
            if m.type == "program_change" or (m.type == "control_change" and m.control in _SETUP_CONTROLS):
                setup.setdefault(m.channel, []).append((t, -1_000_000 + i, m))
    if fmt == 0 or len(tracks) == 1:
        events = tracks[0] if tracks else []
        # global events of a one-track song go to every part's conductor track
        shared = conductor + [(t, i, m) for t, i, m in events
                              if not hasattr(m, "channel") and m.type not in CONDUCTOR
                              and m.type not in ("end_of_track", "track_name")]
        for ch in sorted({m.channel for _t, _i, m in events if m.type == "note_on" and m.velocity > 0}):
            own = [(t, i, m) for t, i, m in events if getattr(m, "channel", None) == ch]
            parts.append(_part(0, ch, own, shared, tpb, gm, "", end=_end(events)))
        return fmt, parts

    for ti, events in enumerate(tracks):
        if ti in noteless:
            continue
        own = [(t, i, m) for t, i, m in events if m.type not in CONDUCTOR]
        channels = {m.channel for _t, _i, m in events if m.type == "note_on" and m.velocity > 0}
        own += [e for ch in sorted(channels) for e in setup.get(ch, ())]
        parts.append(_part(ti, None, own, conductor, tpb, gm, _meta_text(events, "track_name")))
    return fmt, parts


def _end(events: list[tuple[int, int, Any]]) -> int:
    return max((t for t, _i, _m in events), default=0)


def _meta_text(events: list[tuple[int, int, Any]], kind: str) -> str:
    for _t, _i, m in events:
        if m.type == kind and getattr(m, "name", "").strip():
            return m.name.replace("\x00", "").strip()
    return ""


def _part(ti: int, channel: int | None, own: list[tuple[int, int, Any]], conductor: list[tuple[int, int, Any]],
          tpb: int, gm: dict[int, str], track_name: str, end: int | None = None) -> Part:
    """One part: the conductor track, and the part's own track (a channel of a one-track song gets its
    instrument as track name and ends where the song ends)."""
    ordered = sorted(own, key=lambda e: (e[0], e[1]))
    notes = [m for _t, _i, m in ordered if m.type == "note_on" and m.velocity > 0]
    first = notes[0].channel if notes else channel
    program = next((m.program for _t, _i, m in ordered if m.type == "program_change" and m.channel == first), None)
    instrument = _program_name(program, first, gm)
    own = list(own)
    if channel is not None:
        track_name = instrument or f"Channel {channel + 1}"
        own.append((0, -2_000_000, mido.MetaMessage("track_name", name=track_name)))
        if end is not None:
            own.append((end, 2_000_000_000, mido.MetaMessage("end_of_track")))
    elif not track_name:
        track_name = _meta_text(own, "instrument_name")
    label = track_name or instrument or f"Track {ti}"
    return Part(ti, channel, track_name, instrument, len(notes), label, _save(tpb, [_track(conductor), _track(own)]))


# ------------------------------------------------------------------------------------------ on disk


def _gm_names(conn: psycopg.Connection) -> dict[int, str]:
    return dict(conn.execute(queries["gm_names"]).fetchall())


def split_file(dsn: str, file_id: int, dest: str | Path, *, do_import: bool = False, quiet: bool = True) -> dict[str, Any]:
    """Split the song ``file_id`` into ``dest``; with ``do_import``, import, register and analyze the parts.
    Returns {"file": id, "format": n, "parts": [...], "analysis": {...} or None}."""
    dest = Path(dest).absolute()
    with psycopg.connect(dsn) as conn:
        song = conn.execute(queries["split_song"], {"id": file_id}).fetchone()
        if song is None:
            raise SplitError(f"no file with id {file_id}")
        row = conn.execute(queries["split_source"], {"id": file_id}).fetchone()
        gm = _gm_names(conn)
    _fid, _dest, digest, _size, paths, raws, _total = row
    places = sources.Sources()
    try:
        got = sources.fetch(places, paths, raws, bytes(digest))
    finally:
        places.close()
    if got.data is None:
        raise SplitError(f"file {file_id} cannot be read ({got.error_class}): {got.message}")
    fmt, parts = split_bytes(got.data, gm)
    if not parts:
        raise SplitError(f"file {file_id} has no notes: there is nothing to split")
    stem = export.name_stem(song[0])
    names = _part_names(dsn, stem, fmt, parts)
    folder = export.Folder(dest, link=False)
    folder.prepare()
    out: list[dict[str, Any]] = []
    for part, name in zip(parts, names, strict=True):
        digest_part = blake3(part.data).digest()
        rel, status = _place(folder, name, part.data, digest_part)
        out.append({"track": part.track_number, "channel": part.channel, "notes": part.note_count,
                    "track_name": part.track_name, "instrument": part.instrument, "name": rel,
                    "path": str(dest / rel), "content_hash": digest_part.hex(), "status": status, "file_id": None})
    analysis = None
    if do_import:
        analysis = _import_parts(dsn, file_id, out, quiet)
    return {"file": file_id, "format": fmt, "folder": str(dest), "parts": out, "analysis": analysis}


def _part_names(dsn: str, stem: str, fmt: int, parts: list[Part]) -> list[str]:
    """<song>_tNN_<label>.mid (or _chNN_ for a channel of a one-track song), made safe by
    midi.export_safe_name like every exported name."""
    raw = [f"{stem}_{'ch' if p.channel is not None else 't'}"
           f"{(p.channel + 1) if p.channel is not None else p.track_number:02d}_{p.label}" for p in parts]
    with psycopg.connect(dsn) as conn:
        safe = [r[0] for r in conn.execute(queries["export_safe_names"],
                                           {"names": raw, "max_bytes": 255 - len(".mid")}).fetchall()]
    return [f"{s or f'part_{i:02d}'}.mid" for i, s in enumerate(safe)]


def _place(folder: export.Folder, name: str, data: bytes, digest: bytes) -> tuple[str, str]:
    """Write a part at name unless it is there already (or another file holds the name: then ~2, ~3...)."""
    want, n = name, 1
    while True:
        state, _mode = folder.state(want, len(data), digest)
        if state == "same":
            return want, "present"
        if state == "free":
            if folder.write(want, sources.Fetched(data)) is not None:
                return want, "written"
            continue  # taken meanwhile: look at it again
        n += 1
        want = export.suffixed(name, n)


def _import_parts(dsn: str, parent: int, parts: list[dict[str, Any]], quiet: bool) -> dict[str, Any]:
    from runner import analyzer, importer
    from runner.cli.common import progress_bar

    with progress_bar("import parts", quiet) as bar:
        imported = importer.run_import(dsn, [p["path"] for p in parts], **bar.import_callbacks())
    register = [{k: p[k] for k in ("content_hash", "track_name", "instrument")}
                | {"track_number": p["track"], "channel": p["channel"], "note_count": p["notes"]} for p in parts]
    with psycopg.connect(dsn) as conn:
        ids = {(r[0], r[1]): r[2] for r in conn.execute(queries["split_register"],
                                                        {"parent": parent, "parts": Jsonb(register)}).fetchall()}
    for p in parts:
        p["file_id"] = ids.get((p["track"], p["channel"]))
    with progress_bar("analyze parts", quiet) as bar:
        analysis = analyzer.run_analysis(dsn, **bar.analyze_callbacks())
    return {"imported": importer.result_dict(imported)["files_seen"], "analyzed": analysis.analyzed,
            "errors": analysis.errors}
