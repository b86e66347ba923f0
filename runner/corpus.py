"""Real and deliberately broken MIDI files for tests and benchmarks, built in a cache folder, never committed.

`real_corpus` collects the MIDI files shipped inside a few Debian packages (games, ear training, a
synthesizer), so tests run against files written by many different programs. `make_corrupt` and
`write_bad_archives` derive the bad inputs the importer must survive from any good file.
"""

from __future__ import annotations

import fcntl
import glob
import gzip
import io
import logging
import os
import shutil
import struct
import subprocess
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import blake3

__all__ = [
    "CORRUPT_KINDS",
    "PACKAGES",
    "CorpusError",
    "default_cache_dir",
    "make_corrupt",
    "real_corpus",
    "read_manifest",
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


def default_cache_dir() -> Path:
    """`$MIDICENTER_CACHE`, else `~/.cache/midicenter`."""
    env = os.environ.get("MIDICENTER_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "midicenter"


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
