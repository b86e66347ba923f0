"""MIDI files for tests, written by mido from message lists (shared by the parser and facts tests)."""

from __future__ import annotations

import io

import mido


def build(tracks: list[list], tpq: int = 480) -> bytes:
    """A standard MIDI file written by mido from lists of messages (delta times in `time`)."""
    mid = mido.MidiFile(ticks_per_beat=tpq)
    for msgs in tracks:
        track = mido.MidiTrack()
        track.extend(msgs)
        mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()
