"""The search filters on the command line, as one table.

Each row names an attribute of the SQL type ``midi.search_filters`` (the one list of filters: every
function that takes filters is generated from it, see db/functions/41_search_api.sql) and says how the
command line spells it. ``options`` turns the table into click options; ``from_options`` turns what was
given into the JSON object the SQL functions take as ``filters => ...``. A test checks that the table
and the SQL type name the same filters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click

MUSICAL_KEYS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
                "Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "Abm", "Am", "Bbm", "Bm")
CATEGORIES = ("drums", "kick", "snare", "hats", "cymbals", "percussion", "bass", "chords", "pad", "lead", "melody",
              "arp", "pluck", "keys", "piano", "organ", "guitar", "strings", "brass", "woodwind", "synth", "fx",
              "vocal", "full_mix", "unknown")
SORTS = ("relevance", "newest", "bpm", "name", "duration")
_KEY = click.Choice(MUSICAL_KEYS)


@dataclass(frozen=True)
class Filter:
    """One filter: its midi.search_filters attribute, its command-line flag(s), and click's settings."""

    name: str
    flags: str
    help: str
    settings: dict[str, Any] = field(default_factory=dict)


QUERY = "q"
"""The text filter: the command's QUERY words, not an option."""

FILTERS: tuple[Filter, ...] = (
    Filter("bpm_min", "--bpm-min", "Tempo at least.", {"type": float}),
    Filter("bpm_max", "--bpm-max", "Tempo at most.", {"type": float}),
    Filter("bpm_halfdouble", "--halfdouble", "Also half and double tempo.", {"is_flag": True}),
    Filter("keys", "--key", "Any of these keys (repeat).", {"type": _KEY, "multiple": True}),
    Filter("compatible_key", "--compatible-key", "Keys that mix with this one (same, relative, fifths).",
           {"type": _KEY}),
    Filter("manufacturer", "--manufacturer", "Any of these manufacturers (repeat).", {"multiple": True}),
    Filter("collection", "--collection", "Any of these collections (repeat).", {"multiple": True}),
    Filter("categories", "--category", "Any of these categories (repeat).",
           {"type": click.Choice(CATEGORIES), "multiple": True}),
    Filter("tags_all", "--tag", "Has all of these tags (repeat).", {"multiple": True}),
    Filter("tags_any", "--any-tag", "Has any of these tags (repeat).", {"multiple": True}),
    Filter("time_signature", "--time-signature", "Meter, like 4/4 or 6/8."),
    Filter("duration_min", "--duration-min", "Seconds, at least.", {"type": float}),
    Filter("duration_max", "--duration-max", "Seconds, at most.", {"type": float}),
    Filter("notes_min", "--notes-min", "Notes, at least.", {"type": int}),
    Filter("notes_max", "--notes-max", "Notes, at most.", {"type": int}),
    Filter("percussive", "--percussive/--melodic", "Drum parts only, or none.", {"default": None}),
    Filter("favorites_only", "--favorites", "Favorites only.", {"is_flag": True}),
    Filter("min_rating", "--min-rating", "Rated at least this many stars.", {"type": click.IntRange(1, 5)}),
    Filter("fuzzy", "--fuzzy", "Match the words against file names by similarity (typos).", {"is_flag": True}),
)

NAMES: tuple[str, ...] = (QUERY, *(f.name for f in FILTERS))
"""Every filter's name, as midi.search_filters names its attributes."""


def options(fn: Callable) -> Callable:
    """Add a QUERY argument and one option per filter to a click command."""
    for f in reversed(FILTERS):
        fn = click.option(*f.flags.split(" "), f.name, help=f.help, **f.settings)(fn)
    return click.argument("query", nargs=-1)(fn)


def from_options(kw: dict[str, Any]) -> dict[str, Any]:
    """Pop the filter options (and QUERY) out of a command's keyword arguments; return the filters that were
    given as the JSON-ready object ``filters => ...`` takes (a filter not given is left out)."""
    given: dict[str, Any] = {}
    words = " ".join(kw.pop("query", ()))
    if words:
        given[QUERY] = words
    for f in FILTERS:
        value = kw.pop(f.name)
        if isinstance(value, tuple):
            value = list(value)
        if value is None or value == [] or (value is False and f.settings.get("is_flag")):
            continue  # not given (a plain flag left off is not given either; --melodic is)
        given[f.name] = value
    return given
