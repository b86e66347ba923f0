"""A facts row as one line of PostgreSQL's COPY text format, written by the analysis workers so the runner
sends bytes it never has to adapt value by value (each value written by its column's PostgreSQL type in
runner.features.FACT_COLUMNS)."""

from __future__ import annotations

from collections.abc import Callable

from runner.features import FACT_COLUMNS

__all__ = ["copy_text"]


_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_ARRAY_ESCAPE = str.maketrans({"\\": "\\\\", '"': '\\"'})


def _float(value: float) -> str:
    value = float(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def _text(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    return text.translate(_COPY_ESCAPE) if ("\\" in text or "\t" in text or "\n" in text or "\r" in text) else text


def _json(value: object) -> str:
    # jsonb cannot hold \u0000 (a NUL in a part name from symusic): the character is dropped
    text = value if isinstance(value, str) else str(value)
    return _text(text.replace("\\u0000", "") if "\\u0000" in text else text)


def _array(element: Callable[[object], str]) -> Callable[[object], str]:
    def fmt(values: object) -> str:
        out = []
        for v in values:  # type: ignore[attr-defined]
            out.append("NULL" if v is None else element(v))
        return _text("{" + ",".join(out) + "}")

    return fmt


def _array_text(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    return '"' + text.translate(_ARRAY_ESCAPE) + '"'


_SCALAR = {"text": _text, "jsonb": _json, "json": _json, "boolean": lambda v: "t" if v else "f",
           "double precision": _float, "real": _float, "numeric": _float, "integer": lambda v: str(int(v)),
           "bigint": lambda v: str(int(v)), "smallint": lambda v: str(int(v))}
_ELEMENT = {"text": _array_text, "double precision": _float, "real": _float, "numeric": _float,
            "integer": lambda v: str(int(v)), "bigint": lambda v: str(int(v)), "smallint": lambda v: str(int(v)),
            "boolean": lambda v: "t" if v else "f"}


def _formatter(pg_type: str) -> Callable[[object], str]:
    if pg_type.endswith("[]"):
        return _array(_ELEMENT.get(pg_type[:-2], _array_text))
    return _SCALAR.get(pg_type, _text)


_FORMATS = tuple(_formatter(t) for _, t in FACT_COLUMNS)


def copy_text(row: tuple) -> bytes:
    """A facts row (FACT_COLUMNS order) as the fields of one line of COPY's text format (tab-separated,
    without the line end): what psycopg would send, without its per-value Python dumpers (about a third of
    the analysis runner's CPU). Values are written by their column's PostgreSQL type; None is NULL. Raises
    UnicodeError for text UTF-8 cannot hold (the analyzer then isolates that file)."""
    return "\t".join(["\\N" if v is None else f(v) for f, v in zip(_FORMATS, row, strict=True)]).encode("utf-8")
