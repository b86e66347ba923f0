"""The bounded byte walk of a Standard MIDI File's MTrk chunks that both parser paths share.

symusic keeps neither copyright, instrument-name events, the names of tracks without notes, nor which
channel a part plays; `scan_track_headers` reads those from each MTrk's leading events (a few events per
track, never a whole file), and `assign_channels` maps symusic's parts onto MTrks and channels from that
walk (see the module docstring of `runner.parsers` for the rules). Nothing here raises on bad bytes: a
walk that runs past the data ends early and what it found so far stands.
"""

from __future__ import annotations

from typing import NamedTuple

MAX_HEADER_EVENTS = 96  # leading events read per MTrk by scan_track_headers, up to its first note
MAX_PAIRING_EVENTS = 512  # further events read to find the first note symusic pairs (its part's channel)
MAX_KEY_WALK_BYTES = 8192  # MTrk bytes walked whole to list a file's parts when the first notes do not tell


def vlq(data: bytes, i: int) -> tuple[int, int]:
    """A MIDI variable-length quantity at data[i]: (value, index after it). IndexError past the end."""
    value = 0
    while True:
        b = data[i]
        i += 1
        value = (value << 7) | (b & 0x7F)
        if b < 0x80:
            return value, i


def meta_text(raw: bytes) -> str:
    """Meta-event text: UTF-8 when valid, else Latin-1; NULs and outer blanks removed."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.replace("\x00", "").strip()


class Inherited(NamedTuple):
    """A track whose first note plays a channel that only another track gave a program or bank."""

    tick: int  # the first note: where to find the symusic part it landed in
    pitch: int
    channel: int
    program: int | None  # None: no other track set one
    bank: int | None


class Track(NamedTuple):
    """What one MTrk that symusic reads says about the parts symusic makes of it."""

    key: tuple[int, int] | None  # (channel, program) of the part symusic files its first paired note under
    explicit: bool  # that program was set by a program change of the MTrk (not symusic's default 0)
    decided: bool  # the walk found that note, or reached the end of the track without one
    start: int = 0  # the MTrk's events: smf[start:end]
    end: int = 0


class Headers(NamedTuple):
    """What the leading events of the MTrk chunks say."""

    names: tuple[str, ...]  # one per MTrk, '' when unnamed
    instruments: tuple[str, ...]
    copyright: tuple[str, ...]
    inherited: tuple[Inherited, ...]
    tracks: tuple[Track, ...] = ()  # the MTrks symusic reads (the first `ntrks` of them), in order


def scan_track_headers(smf: bytes, pos: int, ntrks: int | None = None) -> Headers:
    """Names, instrument names, copyright notices and channel setup from each MTrk's leading events.

    Reads events properly (delta, running status, lengths) until the first sounding note-on or
    MAX_HEADER_EVENTS events, so it costs a few events per track and never misreads data as a meta event.
    Then, for the first `ntrks` MTrks (those symusic reads), it goes on for up to MAX_PAIRING_EVENTS events
    to the first note-off that ends a note the way symusic pairs them (first in, first out, at or after its start):
    the channel of that note-off and the program its MTrk had set on that channel are the key of the part
    symusic files the note under (see assign_channels).
    """
    names: list[str] = []
    instruments: list[str] = []
    copyrights: list[str] = []
    programs: list[dict[int, int]] = []  # per MTrk: channel -> program set before its first note
    banks: list[dict[int, int]] = []  # per MTrk: channel -> bank select MSB set before its first note
    firsts: list[tuple[int, int, int] | None] = []  # per MTrk: (tick, channel, pitch) of its first note
    tracks: list[Track] = []
    n = len(smf)
    while pos + 8 <= n:
        length = int.from_bytes(smf[pos + 4 : pos + 8], "big")
        start = pos + 8
        end = min(start + length, n)
        if smf[pos : pos + 4] == b"MTrk":
            pair = ntrks is None or len(names) < ntrks  # symusic reads this one: find its first paired note
            name = ""
            progs: dict[int, int] = {}
            bank: dict[int, int] = {}
            head_progs = head_bank = None
            first = None
            key = None
            explicit = decided = False
            # (channel, pitch) of notes started and not ended: within a track ticks never go back, so a
            # note-off always ends the oldest of them (symusic pairs first in, first out, at or after the start)
            pending: set[int] = set()
            head_open = True  # the leading events: texts and channel setup count until the first note
            budget = MAX_HEADER_EVENTS
            try:
                i = start
                tick = 0
                running = 0
                while True:
                    if budget == 0:
                        if not head_open or not pair:
                            break
                        head_open = False  # no note yet: walk on to one, or to the end
                        head_progs, head_bank = dict(progs), dict(bank)
                        budget = MAX_PAIRING_EVENTS
                    budget -= 1
                    delta, i = vlq(smf, i)
                    tick += delta
                    if i >= end:
                        decided = True
                        break
                    status = smf[i]
                    if status == 0xFF:
                        kind = smf[i + 1]
                        size, i = vlq(smf, i + 2)
                        if kind == 0x2F:
                            decided = True
                            break
                        if head_open and 2 <= kind <= 4:
                            text = meta_text(smf[i : i + size])
                            if kind == 3:
                                name = text
                            elif text:
                                (instruments if kind == 4 else copyrights).append(text)
                        i += size
                    elif status in (0xF0, 0xF7):
                        size, i = vlq(smf, i + 1)
                        i += size
                    else:
                        if status & 0x80:
                            if status >= 0xF1:
                                pair = False  # a system message inside a file: not read the way symusic does
                            running = status
                            i += 1
                        elif not running:
                            break
                        kind = running & 0xF0
                        channel = running & 0x0F
                        if kind == 0x90 and smf[i + 1]:
                            if head_open:
                                first = (tick, channel, smf[i])  # the first sounding note ends the header
                                head_open = False
                                head_progs, head_bank = dict(progs), dict(bank)
                                if not pair:
                                    break
                                budget = MAX_PAIRING_EVENTS
                            pending.add(channel << 8 | smf[i])
                        elif kind == 0x80 or kind == 0x90:
                            if channel << 8 | smf[i] in pending:
                                key = (channel, progs.get(channel, 0))
                                explicit = channel in progs
                                decided = True
                                break
                        elif kind == 0xC0:
                            progs[channel] = smf[i]
                        elif kind == 0xB0 and smf[i] == 0:
                            bank[channel] = smf[i + 1]
                        i += 1 if kind in (0xC0, 0xD0) else 2
            except IndexError:
                pass  # a truncated header still gives what was read
            names.append(name)
            programs.append(progs if head_progs is None else head_progs)
            banks.append(bank if head_bank is None else head_bank)
            firsts.append(first)
            if ntrks is None or len(tracks) < ntrks:
                tracks.append(Track(key, explicit, decided and pair, start, end))
        pos = start + length
    inherited = []
    if len(firsts) > 1:
        # per channel, what the last track that set it up set (tracks later in the file win at equal
        # ticks): one pass, so a file of thousands of tracks costs n, not n squared
        last_prog: dict[int, int] = {}
        last_bank: dict[int, int] = {}
        for set_programs, set_banks in zip(programs, banks, strict=True):
            last_prog.update(set_programs)
            last_bank.update(set_banks)
        for j, first in enumerate(firsts):
            if first is None:
                continue
            tick, channel, pitch = first
            if channel in programs[j] or channel in banks[j]:
                continue
            # the last other track that set the channel up: never j itself, which did not
            prog = last_prog.get(channel)
            bnk = last_bank.get(channel)
            if prog is not None or bnk is not None:
                inherited.append(Inherited(tick, pitch, channel, prog, bnk))
    return Headers(tuple(names), tuple(instruments), tuple(copyrights), tuple(inherited), tuple(tracks))


def assign_channels(
    found: list[tuple[int, bool]], tracks: tuple[Track, ...], smf: bytes = b""
) -> tuple[list[int | None], list[bool]]:
    """Channels of symusic's parts (those with notes, in its order, as (program, is_drum)), and whether a
    program change set each one's program; None where the bytes do not prove it (drum parts: 9).

    symusic lists the parts of each MTrk together, MTrks in file order, an MTrk's parts sorted by
    (channel, program); `tracks` says, per MTrk it reads, the (channel, program) of the part its first
    paired note went to. When every MTrk was walked to that note or to its end, the MTrks with a note
    each gave at least one part: if there are as many parts as such MTrks, each gave exactly one, in
    order; otherwise, in a small file (MAX_KEY_WALK_BYTES), each MTrk is walked whole to list the parts
    symusic makes of it (track_keys); else, if only one MTrk has notes, all parts are its own and the one
    with the key's program and drum flag is the key's. Each match is checked against the part's program
    and drum flag.
    """
    if len(found) == 1 and len(tracks) <= 2:  # the common loop: one part, maybe a conductor track
        t = tracks[-1] if tracks[-1].key is not None else tracks[0]
        (program, drum), other = found[0], tracks[0] if t is tracks[-1] else tracks[-1]
        if (t.decided and other.decided and (other is t or other.key is None) and t.key is not None
                and t.key[1] == program and (t.key[0] == 9) == drum):
            return [t.key[0]], [t.explicit]
    channels: list[int | None] = [9 if drum else None for _, drum in found]
    explicit = [False] * len(found)
    if not tracks or not all(t.decided for t in tracks):
        return channels, explicit
    keyed = [t for t in tracks if t.key is not None]
    if len(keyed) == len(found):
        for (prog, drum), t in zip(found, keyed, strict=True):
            if prog != t.key[1] or drum != (t.key[0] == 9):
                return channels, explicit
        return [t.key[0] for t in keyed], [t.explicit for t in keyed]
    if smf and sum(t.end - t.start for t in keyed) <= MAX_KEY_WALK_BYTES:
        listed: list[tuple[int, int, bool]] = []
        for t in keyed:
            keys = track_keys(smf, t.start, t.end)
            if keys is None:
                break
            listed += keys
        else:
            if len(listed) == len(found) and all(
                prog == p and drum == (c == 9) for (prog, drum), (c, p, _) in zip(found, listed, strict=True)
            ):
                return [c for c, _, _ in listed], [e for _, _, e in listed]
    if len(keyed) == 1:
        (channel, program), set_by_change = keyed[0].key, keyed[0].explicit
        match = [i for i, (prog, drum) in enumerate(found) if prog == program and drum == (channel == 9)]
        if len(match) == 1:
            channels[match[0]] = channel
            explicit[match[0]] = set_by_change
    return channels, explicit


def track_keys(smf: bytes, start: int, end: int) -> list[tuple[int, int, bool]] | None:
    """The parts symusic makes of one MTrk, as it lists them: sorted (channel, program, set by a program
    change) of every (channel, program) a paired note-off filed a note under (program: the MTrk's last
    program change on the channel, else 0; notes paired first in, first out, at or after its start). None when
    the track holds anything this walk might read differently from symusic (a system message, data
    without a status, a cut)."""
    keys: dict[tuple[int, int], bool] = {}
    progs: dict[int, int] = {}
    pending: dict[int, int] = {}  # channel << 8 | pitch -> notes started and not ended (see above)
    i, tick, running = start, 0, 0
    try:
        while True:
            delta, i = vlq(smf, i)
            tick += delta
            if i >= end:
                break
            status = smf[i]
            if status == 0xFF:
                if smf[i + 1] == 0x2F:
                    break
                size, i = vlq(smf, i + 2)
                i += size
                continue
            if status in (0xF0, 0xF7):
                size, i = vlq(smf, i + 1)
                i += size
                continue
            if status & 0x80:
                if status >= 0xF1:
                    return None
                running = status
                i += 1
            elif not running:
                return None
            kind = running & 0xF0
            channel = running & 0x0F
            if kind == 0x90 and smf[i + 1]:
                note = channel << 8 | smf[i]
                pending[note] = pending.get(note, 0) + 1
            elif kind == 0x80 or kind == 0x90:
                note = channel << 8 | smf[i]
                if pending.get(note):
                    pending[note] -= 1
                    key = (channel, progs.get(channel, 0))
                    keys[key] = keys.get(key, True) and channel in progs
            elif kind == 0xC0:
                progs[channel] = smf[i]
            i += 1 if kind in (0xC0, 0xD0) else 2
        if i > end:
            return None
    except IndexError:
        return None
    return [(c, p, e) for (c, p), e in sorted(keys.items())]
