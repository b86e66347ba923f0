"""Cheap structural read of one MIDI file's bytes: MThd header, MTrk chunks, RIFF RMID wrapper.

`inspect` looks only at chunk headers (never at events), so the importer can classify every file in a few
microseconds: a file that cannot be MIDI at all raises `MidiRejected` with a stable `error_class`; a file
that is readable but odd is accepted with stable words in `MidiInfo.warnings`.
"""

from __future__ import annotations

from struct import unpack_from
from typing import NamedTuple

__all__ = [
    "ERROR_CLASSES",
    "MAX_FILE_SIZE",
    "WARNING_CLASSES",
    "MidiInfo",
    "MidiRejected",
    "inspect",
]

MAX_FILE_SIZE = 64 * 1024 * 1024
"""Largest file the importer reads (bytes); the scanner rejects bigger ones as `too_large` before reading."""

ERROR_CLASSES: dict[str, str] = {
    "empty": "the file has 0 bytes",
    "not_midi": "no MThd at offset 0 and not a RIFF RMID file whose data chunk holds an MThd",
    "truncated_header": "MThd present but the file ends inside the header, or the header length is below 6",
    "bad_header": "format above 2, division 0, or SMPTE division with 0 ticks per frame",
    "too_large": "the file is bigger than MAX_FILE_SIZE (decided by the scanner before reading)",
}
"""Every `MidiRejected.error_class`, with its one-line meaning: the file cannot be MIDI at all."""

WARNING_CLASSES: dict[str, str] = {
    "track_count_mismatch": "ntrks in the header differs from the number of MTrk chunks found",
    "truncated_track": "the last MTrk chunk's length runs past the end of the data",
    "trailing_garbage": "bytes after the last chunk that do not form a chunk (or a chunk overrunning the end)",
    "trailing_padding": "zero bytes after the last chunk (padding added by a transfer or an editor)",
    "unknown_chunk": "a well-formed chunk other than MTrk (legal, e.g. XFIH/XFKM from Yamaha XF files)",
    "repeated_header": "a second MThd chunk after the first: two files concatenated into one",
    "no_tracks": "no MTrk chunk at all (a header-only file)",
    "long_header": "MThd length above 6 (legal; the extra bytes are skipped)",
    "format0_multitrack": "format 0 declares or holds more than one track",
    "unusual_smpte_rate": "SMPTE division whose frame rate is not 24, 25, 29 or 30",
    "truncated_riff": "RIFF RMID data chunk length runs past the end of the file",
}
"""Every word that can appear in `MidiInfo.warnings`, with its one-line meaning: the file is accepted."""

_SMPTE_RATES = frozenset((24, 25, 29, 30))
# Printable ASCII: a chunk id made of these is taken as a chunk, anything else as garbage.
_PRINTABLE = bytes(range(0x20, 0x7F))


class MidiRejected(Exception):
    """The bytes cannot be a MIDI file; `error_class` is a key of ERROR_CLASSES."""

    def __init__(self, error_class: str, message: str) -> None:
        super().__init__(f"{error_class}: {message}")
        self.error_class = error_class
        self.message = message


class MidiInfo(NamedTuple):
    """Structure of one accepted file, as found in its chunk headers."""

    format: int
    header_tracks: int
    num_tracks: int
    division: int
    ticks_per_quarter_note: int | None
    smpte_fps: int | None
    smpte_resolution: int | None
    is_rmid: bool
    midi_offset: int
    midi_end: int
    warnings: tuple[str, ...]

    @property
    def smf_slice(self) -> slice:
        """The standard MIDI file inside the data (all of it, unless RIFF-wrapped)."""
        return slice(self.midi_offset, self.midi_end)


def inspect(data: bytes | bytearray | memoryview) -> MidiInfo:
    """Read the MThd/MTrk chunk structure of `data`; raise MidiRejected if it cannot be MIDI."""
    size = len(data)
    if size == 0:
        raise MidiRejected("empty", "the file has 0 bytes")
    view = memoryview(data)
    warnings: list[str] = []
    is_rmid = False
    if view[:4] == b"MThd":
        offset = 0
        end = size
    elif view[:4] == b"RIFF" and view[8:12] == b"RMID":
        offset, end = _riff_data(view, size, warnings)
        is_rmid = True
    else:
        raise MidiRejected("not_midi", _not_midi_message(view))

    avail = end - offset
    if avail < 14:
        raise MidiRejected("truncated_header", f"MThd header needs 14 bytes, only {avail} present")
    hlen, fmt, ntrks, division = unpack_from(">IHHH", view, offset + 4)
    if hlen < 6:
        raise MidiRejected("truncated_header", f"MThd length is {hlen}, expected 6")
    if fmt > 2:
        raise MidiRejected("bad_header", f"format {fmt} is not 0, 1 or 2")
    if division == 0:
        raise MidiRejected("bad_header", "division is 0 (no ticks per quarter note)")
    if hlen > 6:
        if offset + 8 + hlen > end:
            raise MidiRejected("truncated_header", f"MThd length {hlen} runs past the end of the data")
        warnings.append("long_header")

    if division & 0x8000:
        tpq = None
        fps = 256 - (division >> 8)
        resolution = division & 0xFF
        if resolution == 0:
            raise MidiRejected("bad_header", f"SMPTE division {division:#06x} has 0 ticks per frame")
        if fps not in _SMPTE_RATES:
            warnings.append("unusual_smpte_rate")
    else:
        tpq = division
        fps = resolution = None

    pos = offset + 8 + hlen
    tracks = 0
    unknown = repeated = False
    while pos + 8 <= end:
        cid = view[pos : pos + 4]
        (length,) = unpack_from(">I", view, pos + 4)
        nxt = pos + 8 + length
        if cid == b"MTrk":
            tracks += 1
            if nxt > end:
                warnings.append("truncated_track")
                pos = end
                break
        elif cid.tobytes().translate(None, _PRINTABLE) or nxt > end:
            # Not a chunk id, or a "chunk" overrunning the end: what follows is not chunk data.
            break
        elif cid == b"MThd":
            repeated = True
        else:
            unknown = True
        pos = nxt
    if pos < end:
        warnings.append(
            "trailing_padding" if not view[pos:end].tobytes().strip(b"\0") else "trailing_garbage"
        )
    if unknown:
        warnings.append("unknown_chunk")
    if repeated:
        warnings.append("repeated_header")
    if tracks == 0:
        warnings.append("no_tracks")
    if tracks != ntrks:
        warnings.append("track_count_mismatch")
    if fmt == 0 and (tracks > 1 or ntrks > 1):
        warnings.append("format0_multitrack")
    return MidiInfo(fmt, ntrks, tracks, division, tpq, fps, resolution, is_rmid, offset, end, tuple(warnings))


def _riff_data(view: memoryview, size: int, warnings: list[str]) -> tuple[int, int]:
    """Find the `data` chunk of a RIFF RMID file; return (start, end) of the SMF it holds."""
    pos = 12
    while pos + 8 <= size:
        cid = view[pos : pos + 4]
        (length,) = unpack_from("<I", view, pos + 4)
        start = pos + 8
        if cid == b"data":
            end = start + length
            if end > size:
                warnings.append("truncated_riff")
                end = size
            if view[start : start + 4] != b"MThd":
                raise MidiRejected("not_midi", "RIFF RMID data chunk does not start with MThd")
            return start, end
        pos = start + length + (length & 1)  # RIFF chunks are padded to an even length
    raise MidiRejected("not_midi", "RIFF RMID file without a data chunk")


def _not_midi_message(view: memoryview) -> str:
    """Say what the bytes look like instead, to make the error row useful."""
    head = view[:4].tobytes()
    if head == b"RIFF":
        return f"RIFF file of type {view[8:12].tobytes()!r}, not RMID"
    found = view[:4096].tobytes().find(b"MThd")
    if found > 0:
        return f"no MThd at offset 0 (one found at offset {found}, inside an unknown wrapper)"
    return f"no MThd at offset 0 (starts with {head!r})"
