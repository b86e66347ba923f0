"""The Indexes section of the profile: what the schema ships and declares, and what the database holds.

The schema is the authority. An index is *shipped* when midicenter's migrations create it (and no later
one drops it); it is *declared* when its comment names what it serves (``COMMENT ON INDEX ... IS
'serves: <call>; <call> -- why'``, read up to `` -- ``). So:

- a shipped index that is absent is *missing* (its CREATE INDEX and COMMENT come from the migrations);
- an invalid index (a failed concurrent build) is dropped, and rebuilt when it is shipped;
- a declared or shipped index is never "unused, drop it": it is listed as declared for what it serves and
  not used since the statistics began (the product's indexes are the product's business, not the
  operator's), as is an index that serves a foreign key; only an index nobody ships or declares, never
  scanned (counting this report's own calls), is a finding;
- duplicate and redundant indexes are findings only when the one to drop is neither shipped nor declared.

Every finding's SQL, applied, removes that finding and makes no other (tests/test_profile_advice.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runner import schema
from runner.profile import tuning

_SERVES = re.compile(r"^\s*serves:\s*(.*?)\s*(?:\s--\s.*)?$", re.DOTALL | re.IGNORECASE)


def declared(comment: str | None) -> list[str] | None:
    """What an index comment says the index serves (``serves: a; b -- why``), or None without one."""
    m = _SERVES.match(comment or "")
    if not m:
        return None
    return [x.strip() for x in m.group(1).split(";") if x.strip()]


# ---------------------------------------------------------------------------------------- shipped


def statements(text: str) -> list[str]:
    """SQL text split into statements (without their semicolons), minding quotes, dollar quotes and
    comments (a ``--`` inside a string is text, not a comment)."""
    out: list[str] = []
    buf: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "-" and text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if ch == "/" and text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            buf.append(" ")
            continue
        if ch == "'":
            j = i + 1
            while j < n:
                if text[j] == "'" and text.startswith("''", j):
                    j += 2
                    continue
                if text[j] == "'":
                    break
                j += 1
            buf.append(text[i: j + 1])
            i = j + 1
            continue
        if ch == "$":
            m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", text[i:])
            if m:
                tag = m.group(0)
                j = text.find(tag, i + len(tag))
                j = n if j < 0 else j + len(tag)
                buf.append(text[i:j])
                i = j
                continue
        if ch == ";":
            stmt = "".join(buf).strip()
            if stmt:
                out.append(stmt)
            buf = []
            i += 1
            continue
        buf.append(ch)
        i += 1
    stmt = "".join(buf).strip()
    if stmt:
        out.append(stmt)
    return out


@dataclass
class Shipped:
    """An index midicenter's migrations create: its CREATE (made concurrent) and its comment."""

    name: str
    create: str
    comment: str | None
    migration: str


_CREATE = re.compile(r"CREATE\s+(?P<unique>UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
                     r"(?P<name>\w+)\s+(?P<rest>ON\s+.*)", re.IGNORECASE | re.DOTALL)
_DROP = re.compile(r"^DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?(?P<names>[\w.\s,]+?)(?:\s+(?:CASCADE|RESTRICT))?$",
                   re.IGNORECASE)
_RENAME = re.compile(r"^ALTER\s+INDEX\s+(?:IF\s+EXISTS\s+)?(?:\w+\.)?(?P<old>\w+)\s+RENAME\s+TO\s+(?P<new>\w+)$", re.IGNORECASE)
_COMMENT = re.compile(r"^COMMENT\s+ON\s+INDEX\s+(?:\w+\.)?(?P<name>\w+)\s+IS\s+(?:(?P<null>NULL)|(?P<text>(?:'(?:[^']|'')*'\s*)+))$",
                      re.IGNORECASE | re.DOTALL)
# a CREATE INDEX inside a quoted string (a DO block's EXECUTE format(...)): it ends at the closing quote
_QUOTED_CREATE = re.compile(r"'(CREATE\s+(?:UNIQUE\s+)?INDEX\s+\w+\s+ON\s+(?:[^']|'')*)'", re.IGNORECASE)


def _create_sql(unique: bool, name: str, rest: str) -> str:
    return f"CREATE {'UNIQUE ' if unique else ''}INDEX CONCURRENTLY {name} {' '.join(rest.split())};"


def shipped_indexes(folder: Path | None = None, applied: set[str] | None = None) -> dict[str, Shipped]:
    """Index name -> how midicenter's migrations build it, replaying CREATE, DROP, RENAME and COMMENT ON
    INDEX in migration order. ``applied`` (migration ids) limits the replay to the migrations a database
    has; None replays them all."""
    out: dict[str, Shipped] = {}
    for path in sorted((folder or schema.migrations_dir()).glob("*.sql")):
        if path.name.endswith(".rollback.sql") or (applied is not None and path.stem not in applied):
            continue
        for stmt in statements(path.read_text(encoding="utf-8")):
            head = stmt.lstrip()
            if m := re.match(_CREATE, head):
                out[m.group("name")] = Shipped(m.group("name"), _create_sql(bool(m.group("unique")), m.group("name"),
                                                                            m.group("rest")), None, path.stem)
            elif m := _DROP.match(head):
                for name in m.group("names").split(","):
                    out.pop(name.strip().split(".")[-1], None)
            elif m := _RENAME.match(head):
                old = out.pop(m.group("old"), None)
                if old:
                    old.create = old.create.replace(f"CONCURRENTLY {old.name} ", f"CONCURRENTLY {m.group('new')} ", 1)
                    old.name = m.group("new")
                    out[old.name] = old
            elif m := _COMMENT.match(head):
                if m.group("name") in out:
                    text = None
                    if not m.group("null"):
                        parts = re.findall(r"'((?:[^']|'')*)'", m.group("text"))
                        text = "".join(p.replace("''", "'") for p in parts)
                    out[m.group("name")].comment = text
            else:
                for q in _QUOTED_CREATE.finditer(stmt):
                    inner = q.group(1).replace("''", "'")
                    if m := _CREATE.match(inner):
                        out[m.group("name")] = Shipped(m.group("name"), _create_sql(bool(m.group("unique")),
                                                                                   m.group("name"), m.group("rest")),
                                                       None, path.stem)
    return out


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else '"' + name.replace('"', '""') + '"'


def qual(schema_name: str, name: str) -> str:
    return f"{_ident(schema_name)}.{_ident(name)}"


def rebuild_sql(ship: Shipped, trgm_schema: str | None) -> str:
    """The shipped CREATE INDEX CONCURRENTLY (with the schema pg_trgm lives in filled in) and its COMMENT."""
    create = ship.create.replace("%I", _ident(trgm_schema or "midi"))
    out = [create]
    if ship.comment is not None:
        out.append(f"COMMENT ON INDEX midi.{_ident(ship.name)} IS {_literal(ship.comment)};")
    return "\n".join(out)


# ------------------------------------------------------------------------------------- duplicates


def _key(i: dict) -> list[tuple[str, ...]]:
    n = int(i["key_count"])
    parts = [(i[k] or "").split()[:n] for k in ("key_columns", "key_opclasses", "key_collations", "key_options")]
    return list(zip(*parts, strict=False))


def _leading_columns(i: dict, n: int) -> set[int]:
    return {int(x) for x in (i["key_columns"] or "").split()[:n]}


def serves_fk(i: dict, fks: Sequence[dict]) -> str | None:
    """The foreign key whose lookups this index serves (its leading columns are the key's), if any."""
    for fk in fks:
        n = len(fk["attnums"])
        if fk["table_oid"] == i["table_oid"] and _leading_columns(i, n) == set(fk["attnums"]) and i["is_valid"]:
            return fk["constraint_name"]
    return None


def _owned(i: dict) -> bool:
    """Shipped by midicenter or declared by someone: never the one a report tells you to drop."""
    return bool(i.get("shipped") or i.get("declared"))


def duplicates(indexes: Sequence[dict]) -> list[dict]:
    """Exact duplicates (same table, method, keys, opclasses, collations, options, expressions, predicate),
    and btree indexes whose keys lead another's with the same predicate (redundant). Of a pair, the one
    kept is the constraint's, then a shipped or declared one, then the more scanned."""
    out: list[dict] = []
    valid = [i for i in indexes if i["is_valid"]]

    def keep_first(i: dict) -> tuple:
        return (not (i["constraint_name"] or i["is_unique"]), not _owned(i), -(i["scans"] or 0), i["name"])

    taken: set[str] = set()
    for a in valid:
        for b in valid:
            if a is b or a["table_oid"] != b["table_oid"] or a["method"] != b["method"]:
                continue
            if (a["predicate"] or "") != (b["predicate"] or "") or (a["key_expressions"] or "") != (b["key_expressions"] or ""):
                continue
            ka, kb = _key(a), _key(b)
            if ka == kb:
                keep, drop = sorted((a, b), key=keep_first)
                if drop["name"] in taken or keep["name"] in taken or drop["constraint_name"] or drop["is_primary"]:
                    continue
                taken.add(drop["name"])
                out.append(_dup(drop, keep, "duplicate"))
            elif (a["method"] == "btree" and not (a["is_unique"] or a["constraint_name"] or a["key_expressions"])
                  and len(ka) < len(kb) and kb[: len(ka)] == ka and a["name"] not in taken):
                taken.add(a["name"])
                out.append(_dup(a, b, "redundant"))
    return out


def _dup(drop: dict, keep: dict, kind: str) -> dict:
    owned = _owned(drop)
    return {"kind": kind, "schema": drop["schema"], "table": drop["table_name"], "name": drop["name"],
            "same_as": keep["name"], "size_bytes": drop["size_bytes"], "scans": drop["scans"],
            "declared": drop.get("declared"), "shipped": bool(drop.get("shipped")),
            "fix": None if owned else f"DROP INDEX CONCURRENTLY {qual(drop['schema'], drop['name'])};"}


# ---------------------------------------------------------------------------------------- section


def _fk_index_sql(fk: dict) -> tuple[str, str]:
    """An index for a foreign key's columns, declared for it: (its name, CREATE + COMMENT)."""
    cols = list(fk["columns"])
    name = f"idx_{fk['table']}_{'_'.join(cols)}"[:63]
    target = qual(fk["schema"], fk["table"])
    serves = "; ".join(f"foreign key {fk['table']}.{c}" for c in cols)
    return name, (f"CREATE INDEX CONCURRENTLY {_ident(name)} ON {target} ({', '.join(_ident(c) for c in cols)});\n"
                  f"COMMENT ON INDEX {qual(fk['schema'], name)} IS "
                  f"{_literal(f'serves: {serves} -- a delete of a referenced row looks its referrers up')};")


def section(indexes: list[dict], foreign_keys: list[dict], table_rows: dict[str, int], used_now: set[str],
            shipped: dict[str, Shipped], trgm_schema: str | None, stats_since: str | None) -> tuple[dict, list[dict]]:
    """The Indexes section and its findings (keyword arguments of runner.profile.report.Finding).
    ``indexes`` are profile_indexes rows (with their comments), ``used_now`` the indexes this report's own
    calls read (their scans are not in the shared statistics yet)."""
    for i in indexes:
        i["shipped"] = i["schema"] == "midi" and i["name"] in shipped
        i["declared"] = declared(i.get("comment"))
        if i["declared"] is None and i["shipped"]:
            i["declared"] = declared(shipped[i["name"]].comment)
    names = {i["name"] for i in indexes if i["schema"] == "midi"}
    since = str(stats_since)[:16].replace("T", " ") if stats_since else "the statistics began"
    invalid = []
    for i in indexes:
        if i["is_valid"]:
            continue
        target = qual(i["schema"], i["name"])
        if i["shipped"]:
            fix = f"DROP INDEX CONCURRENTLY {target};\n" + rebuild_sql(shipped[i["name"]], trgm_schema)
        else:
            rebuild = re.sub(r"^CREATE (UNIQUE )?INDEX ", r"CREATE \1INDEX CONCURRENTLY ", i["definition"])
            fix = (f"DROP INDEX CONCURRENTLY {target};\n"
                   f"-- then rebuild it, once the cause is fixed (duplicates, a lock, a full disk):\n-- {rebuild};")
        invalid.append({"schema": i["schema"], "table": i["table_name"], "name": i["name"], "size_bytes": i["size_bytes"],
                        "definition": i["definition"], "shipped": i["shipped"], "fix": fix})
    missing = []
    for name, ship in sorted(shipped.items()):
        if name not in names:
            missing.append({"name": name, "used_by": declared(ship.comment) or [], "state": "absent",
                            "migration": ship.migration, "fix": rebuild_sql(ship, trgm_schema)})
    dups = duplicates(indexes)
    to_drop = {(d["schema"], d["name"]) for d in dups if d["fix"]}  # one finding is enough for one index
    unused, kept = [], []
    for i in indexes:
        if ((i["scans"] or 0) > 0 or i["name"] in used_now or not i["is_valid"] or i["is_unique"] or i["is_primary"]
                or i["constraint_name"] or (i["schema"], i["name"]) in to_drop):
            continue
        if int(table_rows.get(f"{i['schema']}.{i['table_name']}") or 0) == 0:
            continue  # an empty table has not been queried: no evidence either way
        fk = serves_fk(i, foreign_keys)
        row = {"schema": i["schema"], "table": i["table_name"], "name": i["name"], "size_bytes": i["size_bytes"],
               "declared": i["declared"], "shipped": i["shipped"], "kept_because": None, "fix": None}
        if i["declared"]:
            row["kept_because"] = f"declared for {'; '.join(i['declared'])}, not used since {since}"
        elif i["shipped"]:
            row["kept_because"] = f"shipped by midicenter ({shipped[i['name']].migration}), not used since {since}"
        elif fk:
            row["kept_because"] = f"serves foreign key {fk}"
        else:
            row["fix"] = f"DROP INDEX CONCURRENTLY {qual(i['schema'], i['name'])};"
        (kept if row["kept_because"] else unused).append(row)
    unindexed = []
    for fk in foreign_keys:
        if not any(serves_fk(i, [fk]) for i in indexes):
            name, fix = _fk_index_sql(fk)
            unindexed.append({"table": fk["table_name"], "constraint": fk["constraint_name"], "columns": fk["columns"],
                              "references": fk["references"], "fix": fix})
    notes = [f"scans count since {since}, plus this report's own calls"]
    undeclared = sorted(i["name"] for i in indexes if i["shipped"] and not i["declared"])
    if undeclared:
        notes.append(f"{len(undeclared)} shipped index(es) do not declare what they serve "
                     f"(COMMENT ON INDEX ... 'serves: ...'): {', '.join(undeclared)}")
    findings = _findings(invalid, missing, dups, unused, unindexed)
    out = {"invalid": invalid, "missing": missing, "duplicates": dups, "unused": unused, "declared_unused": kept,
           "unindexed_foreign_keys": unindexed,
           "declared": sorted(({"name": i["name"], "table": i["table_name"], "serves": i["declared"], "scans": i["scans"]}
                               for i in indexes if i["declared"]), key=lambda d: d["name"]),
           "notes": notes}
    return out, findings


def _findings(invalid: list, missing: list, dups: list, unused: list, unindexed: list) -> list[dict]:
    out: list[dict] = []
    if invalid:
        out.append(dict(kind="invalid_index", section="indexes", severity="critical", penalty=min(30, 15 * len(invalid)),
                        title=f"{len(invalid)} invalid index(es), left by a failed concurrent build: "
                              + ", ".join(x["name"] for x in invalid),
                        action="drop each invalid index (every write still maintains it, no read uses it); "
                               "midicenter's own are rebuilt at once",
                        sql="\n".join(x["fix"] for x in invalid)))
    if missing:
        for_calls = [m for m in missing if m["used_by"]]
        out.append(dict(kind="missing_index", section="indexes", severity="critical" if for_calls else "warning",
                        penalty=min(30, 10 * len(missing)),
                        title=f"{len(missing)} index(es) of midicenter's schema are missing: "
                              + ", ".join(m["name"] + (f" (for {'; '.join(m['used_by'])})" if m["used_by"] else "")
                                          for m in missing),
                        action="create them as the schema does (concurrently, so the table stays writable)",
                        sql="\n".join(m["fix"] for m in missing)))
    exact = [d for d in dups if d["kind"] == "duplicate" and d["fix"]]
    prefix = [d for d in dups if d["kind"] == "redundant" and d["fix"]]
    if exact:
        out.append(dict(kind="duplicate_index", section="indexes", severity="warning", penalty=min(15, 5 * len(exact)),
                        title=f"{len(exact)} duplicate index(es): " + ", ".join(f"{d['name']} = {d['same_as']}" for d in exact),
                        action="drop the duplicates: each doubles the write cost and serves nothing new",
                        sql="\n".join(d["fix"] for d in exact)))
    if prefix:
        out.append(dict(kind="redundant_index", section="indexes", severity="info", penalty=min(6, 2 * len(prefix)),
                        title=f"{len(prefix)} index(es) lead another index with the same keys: "
                              + ", ".join(f"{d['name']} (by {d['same_as']})" for d in prefix),
                        action="drop them: the longer index serves their lookups too",
                        sql="\n".join(d["fix"] for d in prefix)))
    if unused:
        size = sum(int(u["size_bytes"] or 0) for u in unused)
        out.append(dict(kind="unused_index", section="indexes", severity="info", penalty=min(8, len(unused)),
                        title=f"{len(unused)} index(es) neither midicenter's nor declared for a query, never scanned "
                              f"({tuning.size_text(size)}): " + ", ".join(u["name"] for u in unused),
                        action="drop them, or declare what each serves (COMMENT ON INDEX ... IS 'serves: ...') if a "
                               "query of yours needs it: each costs every insert and update",
                        sql="\n".join(u["fix"] for u in unused)))
    if unindexed:
        out.append(dict(kind="fk_unindexed", section="indexes", severity="info", penalty=min(6, 2 * len(unindexed)),
                        title=f"{len(unindexed)} foreign key(s) without an index on their columns: "
                              + ", ".join(f"{f['table']}({', '.join(f['columns'])})" for f in unindexed),
                        action="index them, or each delete of a referenced row scans the whole table",
                        sql="\n".join(f["fix"] for f in unindexed)))
    return out
