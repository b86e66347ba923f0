"""A seeded fuzzer for `midicenter import` and `midicenter analyze` (issue 11, item 9).

Each round writes a folder of inputs derived from real MIDI files — bit flips, cuts at every kind of
chunk boundary, lying and huge chunk lengths, every SMPTE division, running-status abuse, extreme meta
values, concatenations, zips of them (damaged too), nested zips, FIFOs, sockets, devices, symlinks, and
names that are odd, not UTF-8, or very long — then runs the real CLI on it against a real PostgreSQL:
import, analyze, import --prune again, analyze again. The property, checked after every round:

- every command exits 0 and prints no traceback;
- every MIDI-named location (file or zip member) is in exactly one of file_paths and import_errors, or
  inside an archive whose own location is in import_errors; nothing else is stored;
- every files row is in exactly one of musical_metadata and analysis_errors;
- the second import and analysis change nothing in the catalog (compared without timestamps).

Why a seeded mutator and not hypothesis: the unit of work is a CLI run over a folder of hundreds of
inputs (a second or more each, through four processes), which hypothesis can neither drive at its pace
nor shrink usefully. Here a round is fully determined by (seed, round number): a failure names both, the
failing locations and the mutation that made each, and the round's folder is kept for a rerun.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import psycopg.sql

MIDI_EXTS = ("mid", "midi", "kar", "rmi")
_DATA_LEN = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}
NESTING = 3  # the scanner's default max_nesting: a top-level zip is level 1
SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes


# ------------------------------------------------------------------------------------ MIDI pieces


def vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def read_vlq(b: bytes, i: int) -> tuple[int, int]:
    n = 0
    for _ in range(4):
        if i >= len(b):
            return n, i
        c = b[i]
        i += 1
        n = (n << 7) | (c & 0x7F)
        if not c & 0x80:
            break
    return n, i


def chunks(data: bytes) -> list[tuple[int, int, bytes]]:
    """(offset, declared length, id) of each chunk, walking from the start as a reader would."""
    out, pos = [], 0
    while pos + 8 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos + 4)
        out.append((pos, length, data[pos:pos + 4]))
        pos += 8 + length
    return out


def tracks(data: bytes) -> list[tuple[int, int]]:
    """(start of body, end of body) of every MTrk that lies inside the data."""
    return [(o + 8, min(o + 8 + n, len(data))) for o, n, cid in chunks(data) if cid == b"MTrk"]


def events(track: bytes) -> list[tuple[int, int, int]]:
    """(start, status offset or -1 when running status, end) of each event of a track body."""
    out, i, status = [], 0, None
    while i < len(track):
        start = i
        _, i = read_vlq(track, i)
        if i >= len(track):
            break
        b = track[i]
        if b >= 0x80:
            sp = i
            i += 1
            if b == 0xFF:
                i += 1
                n, i = read_vlq(track, i)
                i += n
            elif b in (0xF0, 0xF7):
                n, i = read_vlq(track, i)
                i += n
            elif b < 0xF0:
                status = b
                i += _DATA_LEN[b >> 4]
            else:
                pass  # system common / real-time byte: no data in a file
        else:
            if status is None:
                break
            sp = -1
            i += _DATA_LEN[status >> 4]
        out.append((start, sp, min(i, len(track))))
    return out


def with_track(data: bytes, which: int, body: bytes, honest: bool) -> bytes:
    """data with the body of its `which`-th MTrk replaced; its length field told truly or left as it was."""
    start, end = tracks(data)[which]
    length = len(body) if honest else struct.unpack_from(">I", data, start - 4)[0]
    return data[:start - 4] + struct.pack(">I", length) + body + data[end:]


# ----------------------------------------------------------------------------------------- zips


@dataclass
class Member:
    name: bytes
    data: bytes
    utf8: bool = True
    deflate: bool = True
    encrypted: bool = False
    bad_crc: bool = False


def zip_archive(members: list[Member]) -> bytes:
    """A zip written by hand, so member names can be any bytes and headers can lie."""
    out = bytearray()
    central = bytearray()
    for m in members:
        method = 8 if m.deflate else 0
        if m.deflate:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            body = c.compress(m.data) + c.flush()
        else:
            body = m.data
        crc = zlib.crc32(m.data) ^ (0xFFFFFFFF if m.bad_crc else 0)
        flags = (0x800 if m.utf8 else 0) | (1 if m.encrypted else 0)
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0, 0x21, crc, len(body), len(m.data),
                           len(m.name), 0) + m.name + body
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, method, 0, 0x21, crc, len(body),
                               len(m.data), len(m.name), 0, 0, 0, 0, 0, offset) + m.name
    n = len(members)
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), len(out), 0)
    return bytes(out + central + eocd)


# ------------------------------------------------------------------------------------ the oracle


@dataclass
class Expected:
    """What a round's folder holds, by exact location bytes."""

    midi: dict[bytes, str] = field(default_factory=dict)  # MIDI-named location -> what made it
    containers: set[bytes] = field(default_factory=set)  # zips, dirs, links, specials named .zip: may hold an error
    inputs: int = 0
    kinds: Counter = field(default_factory=Counter)


def expect_zip(loc: bytes, data: bytes, depth: int, exp: Expected, made: str) -> None:
    """The MIDI-named members of a zip as the zip format lists them (the standard library reads it:
    names decoded per the format's UTF-8 flag, a later member shadowing an earlier one of the same name).
    Members of archives that cannot be listed or read are covered by the archive's own error row."""
    exp.containers.add(loc)
    if depth > NESTING:
        return
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception:  # noqa: BLE001 - the archive's own error row stands for its members
        return
    for info in infos:
        if info.is_dir() or zf.NameToInfo.get(info.filename) is not info:
            continue
        name = info.filename
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        mloc = loc + b"!" + name.encode()
        if ext in MIDI_EXTS:
            exp.midi[mloc] = made
        elif ext == "zip":
            try:
                inner = zf.read(info)
            except Exception:  # noqa: BLE001
                exp.containers.add(mloc)
                continue
            expect_zip(mloc, inner, depth + 1, exp, made)


# ------------------------------------------------------------------------------------ generation


class Generator:
    """Writes the inputs of one round from a seeded random stream and real MIDI files."""

    def __init__(self, seed: int, sources: list[bytes]) -> None:
        self.seed = seed
        self.sources = [s for s in sources if s[:4] == b"MThd" and tracks(s)]
        assert self.sources, "no usable MIDI source"
        self.smpte_next = 0  # every frame-rate byte in turn, across rounds
        self.mutations: list[tuple[str, Callable[[random.Random, bytes], bytes]]] = [
            ("real", lambda r, d: d),
            ("bit_flips", self.bit_flips),
            ("cut_at_chunk_boundary", self.cut_at_boundary),
            ("cut_anywhere", lambda r, d: d[:r.randrange(len(d) + 1)]),
            ("lying_chunk_length", self.lying_length),
            ("huge_chunk_length", self.huge_length),
            ("header_lies", self.header_lies),
            ("smpte_division", self.smpte_division),
            ("tpq_extremes", self.tpq_extremes),
            ("running_status_abuse", self.running_status),
            ("vlq_overflow", self.vlq_overflow),
            ("meta_extremes", self.meta_extremes),
            ("sysex_and_meta_lies", self.sysex_lies),
            ("note_flood", self.note_flood),
            ("huge_deltas", self.huge_deltas),
            ("many_tracks", self.many_tracks),
            ("riff_wrapped", self.riff),
            ("concatenated", lambda r, d: d + r.choice(self.sources)),
            ("spliced", lambda r, d: d[:r.randrange(len(d) + 1)] + (s := r.choice(self.sources))[r.randrange(len(s)):]),
            ("garbage_in_track", self.garbage_in_track),
            ("not_midi", self.not_midi),
            ("stacked", self.stacked),
        ]

    # -- mutations of one file's bytes

    def bit_flips(self, r: random.Random, d: bytes) -> bytes:
        b = bytearray(d)
        for _ in range(r.choice((1, 1, 2, 4, 16))):
            i = r.randrange(len(b)) if r.random() < 0.7 else r.randrange(min(len(b), 32))  # headers too
            b[i] ^= 1 << r.randrange(8)
        return bytes(b)

    def cut_at_boundary(self, r: random.Random, d: bytes) -> bytes:
        points = {0, 4, 8, 14, len(d)}
        for o, n, _ in chunks(d):
            points |= {o, o + 4, o + 8, o + 8 + n}
        for s, e in tracks(d):
            for start, sp, end in events(d[s:e])[:50]:
                points |= {s + start, s + end, s + sp + 1 if sp >= 0 else s + start}
        cut = r.choice(sorted(p for p in points if 0 <= p <= len(d))) + r.choice((0, 0, 0, -1, 1))
        return d[:max(0, cut)]

    def lying_length(self, r: random.Random, d: bytes) -> bytes:
        cs = chunks(d)
        o, n, _ = r.choice(cs)
        new = r.choice((0, 1, max(0, n - 1), n + 1, n * 2, r.randrange(n + 100), len(d)))
        return d[:o + 4] + struct.pack(">I", new & 0xFFFFFFFF) + d[o + 8:]

    def huge_length(self, r: random.Random, d: bytes) -> bytes:
        o, n, _ = r.choice(chunks(d))
        new = r.choice((0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, n + (1 << 24), 1 << 31))
        return d[:o + 4] + struct.pack(">I", new) + d[o + 8:]

    def header_lies(self, r: random.Random, d: bytes) -> bytes:
        b = bytearray(d)
        field_ = r.choice(("hlen", "format", "ntrks"))
        if field_ == "hlen":
            b[4:8] = struct.pack(">I", r.choice((0, 5, 7, 8, 18, 1000, 0xFFFFFFFF)))
        elif field_ == "format":
            b[8:10] = struct.pack(">H", r.choice((0, 1, 2, 3, 0x7FFF, 0xFFFF)))
        else:
            b[10:12] = struct.pack(">H", r.choice((0, 1, 2, 100, 0x7FFF, 0xFFFF)))
        return bytes(b)

    def smpte_division(self, r: random.Random, d: bytes) -> bytes:
        fps_byte = 0x80 + self.smpte_next % 128  # every frame-rate byte in turn
        self.smpte_next += 1
        ticks = r.choice((0, 1, 2, 4, 8, 10, 40, 80, 100, 127, 128, 255, r.randrange(256)))
        return d[:12] + bytes([fps_byte, ticks]) + d[14:]

    def tpq_extremes(self, r: random.Random, d: bytes) -> bytes:
        return d[:12] + struct.pack(">H", r.choice((0, 1, 2, 3, 0x7FFF, 0x7FFE))) + d[14:]

    def _track(self, r: random.Random, d: bytes) -> tuple[int, bytes]:
        ts = tracks(d)
        which = r.randrange(len(ts))
        s, e = ts[which]
        return which, d[s:e]

    def running_status(self, r: random.Random, d: bytes) -> bytes:
        which, body = self._track(r, d)
        evs = events(body)
        how = r.choice(("drop_status", "stray_data_first", "after_meta", "after_sysex", "realtime_inside"))
        if how == "drop_status" and evs:
            # explicit status bytes removed, so the event reads with whatever status came before it (a
            # different channel message, or a meta or sysex event, which running status may not follow)
            explicit = [sp for _, sp, _ in evs if sp >= 0 and body[sp] < 0xF0]
            for sp in sorted(r.sample(explicit, min(len(explicit), r.choice((1, 3, 20)))), reverse=True):
                body = body[:sp] + body[sp + 1:]
        elif how == "stray_data_first":
            body = b"\x00" + bytes(r.randrange(128) for _ in range(r.choice((1, 2, 3)))) + body
        elif how in ("after_meta", "after_sysex"):
            pre = b"\x00\xff\x01\x03abc" if how == "after_meta" else b"\x00\xf0\x03\x7e\x7f\xf7"
            body = pre + b"\x00" + bytes((r.randrange(128), r.randrange(128))) + body
        else:
            pos = r.randrange(len(body) + 1)
            body = body[:pos] + bytes([r.choice((0xF8, 0xFA, 0xFE, 0xF4, 0xF5, 0xF9, 0xFD, 0xF1, 0xF2, 0xF3))]) + body[pos:]
        return with_track(d, which, body, r.random() < 0.7)

    def vlq_overflow(self, r: random.Random, d: bytes) -> bytes:
        which, body = self._track(r, d)
        evs = events(body)
        pos = r.choice(evs)[0] if evs else 0
        return with_track(d, which, body[:pos] + b"\xff" * r.choice((4, 5, 9)) + b"\x00" + body[pos:],
                          r.random() < 0.7)

    def meta_extremes(self, r: random.Random, d: bytes) -> bytes:
        which, body = self._track(r, d)
        meta = r.choice((
            b"\xff\x51\x03" + r.choice((b"\x00\x00\x00", b"\x00\x00\x01", b"\xff\xff\xff", b"\x07\xa1\x20")),
            b"\xff\x51" + r.choice((b"\x00", b"\x02\x01\x01", b"\x05\x01\x02\x03\x04\x05")),
            b"\xff\x58\x04" + bytes((r.choice((0, 1, 255)), r.choice((0, 1, 5, 31, 32, 64, 255)), 24, 8)),
            b"\xff\x58" + r.choice((b"\x00", b"\x02\x04\x02")),
            b"\xff\x59\x02" + bytes((r.choice((0, 7, 8, 0x80, 0xF9, 0xFF)), r.choice((0, 1, 2, 255)))),
            b"\xff\x59\x00",
            b"\xff\x03" + vlq(n := r.choice((0, 1, 300, 5000))) + bytes(r.randrange(256) for _ in range(n)),
            b"\xff\x04\x05\x00\xff\xfe\x80\xc3",  # instrument name with NUL and invalid UTF-8
            b"\xff\x02\x06\xe9t\xe9\x00\x00x",  # copyright in Latin-1 with NULs
            b"\xff\x06\x04" + bytes(r.randrange(256) for _ in range(4)),  # marker of random bytes
            b"\xff\x7f\x03\x00\x00\x41",
            b"\xff\x21\x01" + bytes((r.randrange(256),)),  # MIDI port
            b"\xff\x20\x01" + bytes((r.randrange(256),)),  # channel prefix
        ))
        pos = r.choice(events(body) or [(0, 0, 0)])[0]
        return with_track(d, which, body[:pos] + b"\x00" + meta + body[pos:], r.random() < 0.8)

    def sysex_lies(self, r: random.Random, d: bytes) -> bytes:
        which, body = self._track(r, d)
        piece = r.choice((
            b"\x00\xf0" + vlq(r.choice((0x0FFFFFFF, 1000, 3))) + b"\x41\x10",
            b"\x00\xf7" + vlq(r.choice((0x0FFFFFFF, 2))) + b"\x01",
            b"\x00\xff\x01" + vlq(r.choice((0x0FFFFFFF, 100000, 50))) + b"text",
            b"\x00\xff",
            b"\x00\xf0",
        ))
        pos = r.choice(events(body) or [(0, 0, 0)])[0]
        return with_track(d, which, body[:pos] + piece + body[pos:], r.random() < 0.5)

    def note_flood(self, r: random.Random, d: bytes) -> bytes:
        which, body = self._track(r, d)
        n = r.choice((100, 2000, 20000))
        ch = r.choice((0, 9, r.randrange(16)))
        notes = bytearray()
        for _ in range(n):
            notes += b"\x00" + bytes((0x90 | ch, r.randrange(128), r.choice((0, 1, 64, 127))))
            if r.random() < 0.5:
                notes += vlq(r.choice((0, 1, 10, 480))) + bytes((0x80 | ch, r.randrange(128), 0))
        end = events(body)[-1][0] if events(body) else 0
        return with_track(d, which, body[:end] + bytes(notes) + body[end:], True)

    def huge_deltas(self, r: random.Random, d: bytes) -> bytes:
        which, body = self._track(r, d)
        tempo = b"\x00\xff\x51\x03" + r.choice((b"\xff\xff\xff", b"\x07\xa1\x20", b"\x00\x00\x01"))
        notes = b"".join(vlq(r.choice((0x0FFFFFFF, 0x0FFFFFFF, 1 << 21))) + bytes((0x90, 60, 100)) for _ in range(r.choice((2, 50, 500))))
        out = with_track(d, which, tempo + notes + b"\x00\xff\x2f\x00", True)
        return out[:12] + r.choice((b"\x00\x01", b"\x00\x60", out[12:14])) + out[14:]

    def many_tracks(self, r: random.Random, d: bytes) -> bytes:
        n = r.choice((17, 300, 3000, 33000))
        track = b"MTrk\x00\x00\x00\x08\x00\x90\x3c\x40\x00\xff\x2f\x00"
        return b"MThd\x00\x00\x00\x06\x00\x01" + struct.pack(">H", min(n, 0xFFFF)) + b"\x00\x60" + track * n

    def riff(self, r: random.Random, d: bytes) -> bytes:
        size = r.choice((len(d), len(d) + 100, max(0, len(d) - 10), 0xFFFFFFFF))
        kind = r.choice((b"RMID", b"RMID", b"WAVE"))
        return b"RIFF" + struct.pack("<I", len(d) + 12) + kind + b"data" + struct.pack("<I", size) + d

    def garbage_in_track(self, r: random.Random, d: bytes) -> bytes:
        which, body = self._track(r, d)
        pos = r.randrange(len(body) + 1)
        junk = bytes(r.randrange(256) for _ in range(r.choice((1, 10, 200))))
        return with_track(d, which, body[:pos] + junk + body[pos:], r.random() < 0.8)

    def not_midi(self, r: random.Random, d: bytes) -> bytes:
        return r.choice((
            b"", b"M", b"MThd", b"MThd\x00\x00\x00\x06", b"RIFF\x00\x00\x00\x00RMID",
            b"RIFF\x04\x00\x00\x00WAVEfmt ", b"PK\x03\x04" + bytes(30), b"%PDF-1.4\n",
            bytes(r.randrange(256) for _ in range(r.choice((1, 100, 5000)))), "♪ not midi ♪".encode(),
            b"\x00" * 64, b"xx" + d,
        ))

    def stacked(self, r: random.Random, d: bytes) -> bytes:
        for _ in range(r.choice((2, 3))):
            name, fn = r.choice(self.mutations[1:20])
            d = fn(r, d) if len(d) >= 14 and tracks(d) else d
        return d

    def midi_input(self, r: random.Random) -> tuple[str, bytes]:
        name, fn = r.choice(self.mutations)
        base = r.choice(self.sources)
        try:
            return name, fn(r, base)
        except (IndexError, ValueError, struct.error):  # a mutation that does not fit this file
            return "real", base

    # -- names

    def name(self, r: random.Random, ext: str, *, zip_member: bool = False, long_ok: bool = True) -> bytes:
        words = ["Bass", "Kick", "Loop 124bpm Am", "Chords_F#m", "pad", "Ünïcödé", "音楽", "🎹 keys",
                 "dr'um", 'say "hi"', "back\\slash", "bang!bang", "per%cent", "-dash", "#hash", "tab\there",
                 "new\nline", "semi;colon", "a&b", " lead ", "x.zip", "y.mid", "(1)", "[x]", "$HOME", "*",
                 "?", "Ⅻ", "İstanbul", "ß", "\u200b", "\u202eRTL", "café", "naïve"]
        parts = [r.choice(words) for _ in range(r.choice((1, 1, 2, 3)))]
        base = "_".join(parts).encode()
        if r.random() < 0.12:
            base += bytes([r.choice((0x80, 0xC3, 0xE9, 0xFF, 0xFE, 0xED))])  # not UTF-8
        if long_ok and r.random() < 0.04:
            if zip_member:
                base = "".join(r.choice("音楽abcdefghijklmnopqrstuvwxyz ") for _ in range(3000)).encode()
            else:
                base = bytes(r.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 _") for _ in range(240))
        ext_b = (ext.upper() if r.random() < 0.2 else ext.capitalize() if r.random() < 0.1 else ext).encode()
        name = base + b"." + ext_b
        if not zip_member:
            name = name.replace(b"/", b"_")[-250:]
            if name in (b".", b".."):
                name = b"x." + ext_b
        return name

    # -- a round

    def build(self, folder: Path, n_inputs: int, round_no: int) -> Expected:
        r = random.Random(f"{self.seed}:{round_no}")
        exp = Expected()
        top = os.fsencode(folder)
        os.makedirs(top, exist_ok=True)
        dirs = [top]
        while exp.inputs < n_inputs:
            roll = r.random()
            if roll < 0.1 or len(dirs) < 3:
                self.make_dir(r, dirs, exp)
            elif roll < 0.62:
                self.put_file(r, r.choice(dirs), exp)
            elif roll < 0.86:
                self.put_zip(r, r.choice(dirs), exp)
            elif roll < 0.93:
                self.put_special(r, top if r.random() < 0.5 else r.choice(dirs), exp)
            else:
                self.put_link(r, r.choice(dirs), dirs, exp)
        return exp

    def make_dir(self, r: random.Random, dirs: list[bytes], exp: Expected) -> None:
        parent = r.choice(dirs)
        if r.random() < 0.15 and len(parent) < 3000:  # deep and long: toward 4,000-byte paths
            path = parent
            while len(path) < 3600:
                path += b"/" + bytes(r.choice(b"abcdefghij0123456789") for _ in range(r.randrange(100, 250)))
        else:
            name = self.name(r, r.choice(("d", "mid", "zip", "dir")), long_ok=False).rsplit(b".", 1)
            path = parent + b"/" + (name[0] if r.random() < 0.8 else b".".join(name))
        if os.path.lexists(path):
            return
        os.makedirs(path)
        exp.containers.add(path)
        dirs.append(path)

    def unique(self, r: random.Random, d: bytes, ext: str) -> bytes | None:
        for _ in range(5):
            p = d + b"/" + self.name(r, ext)
            if len(p) < 4000 and not os.path.lexists(p):
                return p
        return None

    def put_file(self, r: random.Random, d: bytes, exp: Expected) -> None:
        p = self.unique(r, d, r.choice(MIDI_EXTS))
        if p is None:
            return
        kind, data = self.midi_input(r)
        with open(p, "wb") as f:
            f.write(data)
        exp.midi[p] = kind
        exp.kinds[kind] += 1
        exp.inputs += 1

    def members(self, r: random.Random, depth: int, exp: Expected) -> list[Member]:
        out, names = [], set()
        for _ in range(r.choice((1, 2, 4, 8))):
            folder = r.choice((b"", b"Drums/", b"Inner/Deep/", "Ünï/".encode(), b"a!b/"))
            roll = r.random()
            if roll < 0.12 and depth < NESTING + 1:
                inner = self.members(r, depth + 1, exp)
                member = Member(folder + self.name(r, "zip", zip_member=True), zip_archive(inner))
                exp.kinds["nested_zip"] += 1
            elif roll < 0.2:
                member = Member(folder + self.name(r, r.choice(("txt", "wav", "")), zip_member=True), b"other")
            else:
                kind, data = self.midi_input(r)
                exp.kinds[kind] += 1
                exp.inputs += 1
                member = Member(folder + self.name(r, r.choice(MIDI_EXTS), zip_member=True), data)
            if member.name in names:
                continue
            names.add(member.name)
            member.deflate = r.random() < 0.7
            member.utf8 = r.random() < 0.85  # without the flag the name reads as cp437
            member.encrypted = r.random() < 0.02
            member.bad_crc = r.random() < 0.03
            out.append(member)
        return out

    def put_zip(self, r: random.Random, d: bytes, exp: Expected) -> None:
        p = self.unique(r, d, "zip")
        if p is None:
            return
        data = zip_archive(self.members(r, 1, exp))
        damage = r.random()
        if damage < 0.08:
            data = self.bit_flips(r, data)
            exp.kinds["damaged_zip"] += 1
        elif damage < 0.12:
            data = data[:r.randrange(len(data) + 1)]
            exp.kinds["cut_zip"] += 1
        with open(p, "wb") as f:
            f.write(data)
        exp.kinds["zip"] += 1
        expect_zip(p, data, 1, exp, "zip")

    def put_special(self, r: random.Random, d: bytes, exp: Expected) -> None:
        what = r.choice(("fifo", "socket", "dev_link", "broken_link"))
        ext = r.choice(("mid", "zip", "MID", "midi"))
        p = d + b"/" + what.encode() + b"_" + str(r.randrange(10**6)).encode() + b"." + ext.encode()
        if os.path.lexists(p):
            return
        if what == "fifo":
            os.mkfifo(p)
        elif what == "socket":
            if len(p) > SOCKET_PATH_MAX:
                return
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(p)
            s.close()  # the socket file stays, nobody listens
        elif what == "dev_link":
            os.symlink(b"/dev/null", p)
        else:
            os.symlink(p + b".gone", p)
        if ext.lower() == "zip":
            exp.containers.add(p)
        else:
            exp.midi[p] = what
        exp.kinds[what] += 1
        exp.inputs += 1

    def put_link(self, r: random.Random, d: bytes, dirs: list[bytes], exp: Expected) -> None:
        targets = [p for p in exp.midi if p.startswith(d + b"/") and b"!" not in p[len(d):] and os.path.isfile(p)]
        if r.random() < 0.3 or not targets:  # a symlinked folder pointing at the folder it is in
            p = d + b"/loop_" + str(r.randrange(10**6)).encode()
            if not os.path.lexists(p):
                os.symlink(b".", p)
                exp.containers.add(p)
            return
        p = self.unique(r, d, r.choice(MIDI_EXTS))
        if p is None:
            return
        os.symlink(r.choice(targets), p)
        exp.midi[p] = "symlink"
        exp.kinds["symlink"] += 1
        exp.inputs += 1


# ------------------------------------------------------------------------------------ running it


def cli(dsn: str, *args: str | bytes, timeout: float = 600) -> subprocess.CompletedProcess:
    """The real `midicenter` command line."""
    argv = [sys.executable.encode(), b"-m", b"runner.cli", b"--dsn", dsn.encode()]
    argv += [a if isinstance(a, bytes) else a.encode() for a in args]
    return subprocess.run(argv, capture_output=True, timeout=timeout, check=False)


SKIP_COLUMNS = {"id", "import_batch_id", "batch_id", "batch"}  # and every timestamp column


def catalog(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    """The whole catalog without timestamps or batch ids: every table of schema midi but the batches
    and the staging tables, each as a sorted list of rows."""
    out = {}
    tables = [r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'midi' AND c.relkind = 'r' AND c.relpersistence = 'p' "
        "AND c.relname NOT IN ('import_batches') ORDER BY 1")]
    for t in tables:
        cols = [r[0] for r in conn.execute(
            "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = ('midi.' || quote_ident(%s))::regclass "
            "AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid NOT IN ('timestamptz'::regtype, 'timestamp'::regtype) "
            "ORDER BY a.attnum", [t])]
        exprs = [psycopg.sql.Identifier(c).as_string(conn) + "::text" for c in cols
                 if c not in SKIP_COLUMNS or (t == "files" and c == "id")]
        if t == "file_paths":
            exprs.append("(missing_since IS NULL)::text")
        sel = ", ".join(exprs)
        out[t] = sorted(conn.execute(f"SELECT {sel} FROM midi.{t}").fetchall(), key=repr)
    return out


@dataclass
class Report:
    rounds: int = 0
    inputs: int = 0
    seconds: float = 0.0
    mutations: Counter = field(default_factory=Counter)
    import_classes: Counter = field(default_factory=Counter)
    analysis_classes: Counter = field(default_factory=Counter)
    warnings: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    notable: list[str] = field(default_factory=list)  # the property held, but a bug or a limit showed

    def text(self) -> str:
        def fmt(c: Counter) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) or "-"

        return (f"fuzz: {self.inputs} inputs in {self.rounds} rounds, {self.seconds:.0f} s, "
                f"{len(self.failures)} failing rounds\n"
                f"  mutations: {fmt(self.mutations)}\n"
                f"  import_errors classes: {fmt(self.import_classes)}\n"
                f"  analysis_errors classes: {fmt(self.analysis_classes)}\n"
                f"  midi_warnings: {fmt(self.warnings)}"
                + "".join(f"\n  notable: {n}" for n in self.notable[:20]))


def _key(path: str, raw: bytes | None) -> bytes:
    return bytes(raw) if raw is not None else path.encode()


NOTABLE = ("analysis_failed", "timeout", "worker_crash", "internal_error")
"""Error classes that keep the property (the file is accounted for) but point at a bug or a limit."""


def notable(dsn: str, top: bytes, exp: Expected) -> list[str]:
    """This round's rows of a NOTABLE class: location, what made it, class and message."""
    out = []
    with psycopg.connect(dsn) as conn:
        for path, raw, cls, message in conn.execute(
                "SELECT p.path, p.path_bytes, e.error_class, e.message FROM midi.analysis_errors e "
                "JOIN midi.file_paths p ON p.file_id = e.file_id WHERE e.error_class = ANY(%(c)s) "
                "UNION ALL SELECT path, path_bytes, error_class, message FROM midi.import_errors "
                "WHERE error_class = ANY(%(c)s)", {"c": list(NOTABLE)}):
            loc = _key(path, raw)
            if loc.startswith(top + b"/"):
                out.append(f"{cls} {loc!r} ({exp.midi.get(loc, '?')}): {message[:300]}")
    return out


def check_round(dsn: str, top: bytes, exp: Expected, procs: list[tuple[str, subprocess.CompletedProcess]]) -> list[str]:
    """Every violation of the property in one round, as lines naming the location and its mutation."""
    bad = []
    for what, p in procs:
        err = p.stderr.decode("utf-8", "replace")
        if p.returncode != 0:
            bad.append(f"{what}: exit {p.returncode}: {err.strip()[-2000:]}")
        if "Traceback" in err:
            bad.append(f"{what}: traceback on stderr: {err[-3000:]}")
    prefix = top + b"/"
    with psycopg.connect(dsn) as conn:
        stored: dict[bytes, list[str]] = {}
        for path, raw, table in conn.execute(
                "SELECT path, path_bytes, 'file_paths' FROM midi.file_paths UNION ALL "
                "SELECT path, path_bytes, 'import_errors:' || error_class FROM midi.import_errors"):
            k = _key(path, raw)
            if k.startswith(prefix):
                stored.setdefault(k, []).append(table)
        for loc, made in exp.midi.items():
            where = stored.get(loc, [])
            if len(where) == 1:
                continue
            if not where and any(stored.get(loc[:i], [""])[0].startswith("import_errors")
                                 for i in range(len(loc)) if loc[i:i + 1] == b"!"):
                continue  # inside an archive that is itself an error row
            bad.append(f"{loc!r} ({made}): stored in {where or 'nothing'}")
        for loc, where in stored.items():
            if loc not in exp.midi and not (loc in exp.containers and where[0].startswith("import_errors")):
                bad.append(f"{loc!r}: unexpected row in {where}")
        unanswered = conn.execute(
            "SELECT f.id, f.filepath, (m.file_id IS NOT NULL), (e.file_id IS NOT NULL) FROM midi.files f "
            "LEFT JOIN midi.musical_metadata m ON m.file_id = f.id LEFT JOIN midi.analysis_errors e ON e.file_id = f.id "
            "WHERE (m.file_id IS NULL) = (e.file_id IS NULL)").fetchall()
        for row in unanswered[:20]:
            bad.append(f"files row {row[0]} {row[1]!r}: in musical_metadata {row[2]}, in analysis_errors {row[3]}")
    return bad


def run_fuzz(dsn: str, work: Path, sources: list[bytes], *, seed: int, max_inputs: int, max_seconds: float,
             per_round: int = 300, log: Callable[[str], None] | None = None) -> Report:
    """Rounds of generate -> import -> analyze -> check -> import --prune -> analyze -> compare, until
    max_inputs inputs went through or max_seconds passed. Failing rounds' folders are kept under work."""
    gen = Generator(seed, sources)
    report = Report()
    started = time.monotonic()
    round_no = 0
    while report.inputs < max_inputs and time.monotonic() - started < max_seconds:
        round_no += 1
        folder = work / f"r{round_no}"
        exp = gen.build(folder, min(per_round, max_inputs - report.inputs), round_no)
        top = os.fsencode(folder)
        procs = [("import", cli(dsn, "import", top)), ("analyze", cli(dsn, "analyze"))]
        problems = check_round(dsn, top, exp, procs)
        with psycopg.connect(dsn) as conn:
            before = catalog(conn)
        again = [("import --prune (again)", cli(dsn, "import", "--prune", top)), ("analyze (again)", cli(dsn, "analyze"))]
        problems += check_round(dsn, top, exp, again)
        with psycopg.connect(dsn) as conn:
            after = catalog(conn)
            for t in before:
                if before[t] != after[t]:
                    gone = [r for r in before[t] if r not in after[t]][:3]
                    new = [r for r in after[t] if r not in before[t]][:3]
                    problems.append(f"second run changed {t}: before {gone} after {new}")
        report.notable += notable(dsn, top, exp)
        report.rounds += 1
        report.inputs += exp.inputs
        report.mutations.update(exp.kinds)
        if problems:
            report.failures.append(f"seed {seed} round {round_no} (folder {folder}):\n  " + "\n  ".join(problems[:40]))
        else:
            shutil.rmtree(folder, ignore_errors=True)
        if log:
            log(f"round {round_no}: {exp.inputs} inputs, {report.inputs} in all, {len(problems)} problems, "
                f"{time.monotonic() - started:.0f} s")
    with psycopg.connect(dsn) as conn:
        report.import_classes.update(dict(conn.execute(
            "SELECT error_class, count(*) FROM midi.import_errors GROUP BY 1").fetchall()))
        report.analysis_classes.update(dict(conn.execute(
            "SELECT error_class, count(*) FROM midi.analysis_errors GROUP BY 1").fetchall()))
        report.warnings.update(dict(conn.execute(
            "SELECT w, count(*) FROM midi.files, unnest(midi_warnings) w GROUP BY 1").fetchall()))
    report.seconds = time.monotonic() - started
    return report
