"""A generated sample-pack MIDI library with known truth, for the demo and the import and analysis benchmarks.

``generate(root, n)`` writes ``root/lib-<n>-s<seed>/`` laid out as real packs are
(``manufacturer/collection/category[/sub]/name.mid``) with the true BPM, key, meter and drum flag of every
file recorded in a manifest, so the benchmarks can score what the analyzer finds. Everything streams: one
random generator drives the whole run in file order, files are written as they are made, and the manifest
is written row by row, so memory stays flat and the same seed gives the same bytes.

The manifest and the completion marker sit *beside* the library (``lib-<n>-s<seed>.manifest.tsv`` and
``lib-<n>-s<seed>.complete``), not inside it, so an import of the library folder sees exactly the files
the manifest lists: MIDI files (kind ``midi``) and a few non-MIDI files (kind ``other``).

By concern: ``smf`` writes MIDI bytes, ``parts`` makes the music (keys, chords, the notes of each
category), ``names`` the packs, folders and file names, ``manifest`` the truth rows, ``build`` one file and
the whole library. ``python -m runner.bench.library ROOT N`` generates one from the command line.
"""

from __future__ import annotations

from runner.bench.library.build import GENERATOR_VERSION, generate, main, stats
from runner.bench.library.manifest import COLUMNS, Truth, manifest_path, truth
from runner.bench.library.names import CATEGORIES, DRUM_CATEGORIES, FULL_MIX, MELODIC_CATEGORIES
from runner.bench.library.parts import MAJOR_KEYS, MINOR_KEYS, key_name

__all__ = [
    "CATEGORIES",
    "COLUMNS",
    "DRUM_CATEGORIES",
    "FULL_MIX",
    "GENERATOR_VERSION",
    "MAJOR_KEYS",
    "MELODIC_CATEGORIES",
    "MINOR_KEYS",
    "Truth",
    "generate",
    "key_name",
    "main",
    "manifest_path",
    "stats",
    "truth",
]
