"""Standard MIDI File bytes of the generated library: events, tracks, the header; written by hand, fast."""

from __future__ import annotations

import functools

# Key-signature meta events: sharps (+) or flats (-) of each canonical key.
_SF_MAJOR = (0, 7, 2, -3, 4, -1, 6, 1, -4, 3, -2, 5)
_SF_MINOR = (-3, 4, -1, -6, 1, -4, 3, -2, 5, 0, -5, 2)

# ---------------------------------------------------------------------------------------------------
# Standard MIDI File bytes
# ---------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def _vlq(n: int) -> bytes:
    """A MIDI variable-length quantity: 7 bits per byte, high bit set on all but the last."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _meta(kind: int, data: bytes) -> bytes:
    """A meta event at delta time 0."""
    return b"\x00\xff" + bytes((kind,)) + _vlq(len(data)) + data


def _tempo(bpm: float) -> bytes:
    """Set-tempo meta: microseconds per quarter note, rounded so the BPM recovers to 2 decimals."""
    return _meta(0x51, round(60_000_000 / bpm).to_bytes(3, "big"))


def _timesig(num: int, den: int) -> bytes:
    """Time-signature meta (denominator as a power of two, 24 clocks per quarter, 8 32nds per quarter)."""
    return _meta(0x58, bytes((num, den.bit_length() - 1, 96 // den, 8)))


def _keysig(tonic: int, minor: bool) -> bytes:
    """Key-signature meta of a key (sharps/flats count, major/minor flag)."""
    sf = (_SF_MINOR if minor else _SF_MAJOR)[tonic]
    return _meta(0x59, bytes((sf & 0xFF, 1 if minor else 0)))


# A block is notes that start together and stop together: (start tick, duration, ((pitch, velocity), ...)).
# Every generator yields non-overlapping blocks in time order, so a track encodes in one linear pass.
Block = tuple[int, int, tuple[tuple[int, int], ...]]


def _track(head: bytes, blocks: list[Block], channel: int, off_style: int, end: int) -> bytes:
    """One MTrk chunk: head events at time 0, then the blocks, then end-of-track at tick ``end``.

    ``off_style`` 0 writes note-off with velocity 64, 1 note-off with velocity 0, 2 note-on with velocity 0
    (all three occur in the wild). No running status.
    """
    out = bytearray(head)
    on = 0x90 | channel
    if off_style == 2:
        off, off_vel = on, 0
    else:
        off, off_vel = 0x80 | channel, 64 if off_style == 0 else 0
    now = 0
    vlq = _vlq
    for start, dur, notes in blocks:
        delta = start - now
        for pitch, vel in notes:
            out += vlq(delta)
            out.extend((on, pitch, vel))
            delta = 0
        delta = dur
        for pitch, _vel in notes:
            out += vlq(delta)
            out.extend((off, pitch, off_vel))
            delta = 0
        now = start + dur
    out += vlq(max(0, end - now))
    out += b"\xff\x2f\x00"
    return b"MTrk" + len(out).to_bytes(4, "big") + bytes(out)


def _smf(fmt: int, ppq: int, tracks: list[bytes]) -> bytes:
    """Header chunk plus track chunks."""
    head = (
        b"MThd\x00\x00\x00\x06"
        + fmt.to_bytes(2, "big")
        + len(tracks).to_bytes(2, "big")
        + ppq.to_bytes(2, "big")
    )
    return head + b"".join(tracks)
