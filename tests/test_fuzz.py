"""The fuzz property of import and analysis (tests/fuzz.py) over a bounded, seeded run: part of make test.
`make fuzz` runs the same test for as long as asked (FUZZ_SECONDS, FUZZ_INPUTS, FUZZ_SEED) and prints the
count of inputs and the classes seen."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests import corpus, fuzz
from tests.midi_build import build


def sources() -> list[bytes]:
    """Real files from the Debian corpus, plus two written here (one format 0, one with SMPTE timing)."""
    import mido

    real = corpus.real_corpus()
    files = [p.read_bytes() for p in sorted(real.rglob("*")) if p.is_file() and p.name != "MANIFEST"]
    notes = [mido.Message("program_change", program=p, channel=c, time=0) for c, p in ((0, 33), (1, 0), (9, 0))]
    notes += [mido.Message("note_on", note=60 + i, velocity=90, channel=i % 2, time=120) for i in range(24)]
    files.append(build([notes]))
    smpte = bytearray(build([notes], tpq=80))
    smpte[12:14] = bytes([0x100 - 25, 40])
    files.append(bytes(smpte))
    return files


@pytest.mark.slow
def test_fuzz_import_and_analysis(dsn: str) -> None:
    inputs = int(os.environ.get("FUZZ_INPUTS", "400"))
    seconds = float(os.environ.get("FUZZ_SECONDS", "50"))
    seed = int(os.environ.get("FUZZ_SEED", "11"))
    per_round = int(os.environ.get("FUZZ_ROUND", "200"))
    verbose = bool(os.environ.get("FUZZ_VERBOSE"))
    work = Path(tempfile.mkdtemp(prefix="mcfz-", dir="/tmp"))  # short: unix socket paths hold 108 bytes
    report = fuzz.run_fuzz(dsn, work, sources(), seed=seed, max_inputs=inputs, max_seconds=seconds,
                           per_round=per_round, log=print if verbose else None)
    if verbose:
        print(report.text())
    if not report.failures:
        shutil.rmtree(work, ignore_errors=True)
    assert not report.failures, report.text() + "\n\n" + "\n\n".join(report.failures[:5])
    assert report.inputs >= min(inputs, 200), report.text()
