"""A minimal [MS-CFB] compound file writer (version 3, 512-byte sectors).

Enough for a ``vbaProject.bin``: storages and streams given as '/'-separated paths,
small streams in the mini stream, a directory kept as valid red-black trees, no
timestamps (so output is reproducible).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

__all__ = ["write_compound_file"]

_SECTOR = 512
_MINI_SECTOR = 64
_MINI_CUTOFF = 4096
_FREESECT = 0xFFFFFFFF
_ENDOFCHAIN = 0xFFFFFFFE
_FATSECT = 0xFFFFFFFD
_NOSTREAM = 0xFFFFFFFF
_HEADER_DIFAT_ENTRIES = 109
_STORAGE, _STREAM, _ROOT = 1, 2, 5
_RED, _BLACK = 0, 1


@dataclass
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    children: dict[str, _Entry] = field(default_factory=dict)
    index: int = 0
    left: int = _NOSTREAM
    right: int = _NOSTREAM
    child: int = _NOSTREAM
    color: int = _BLACK
    start: int = _ENDOFCHAIN


def _sort_key(name: str) -> tuple[int, str]:
    """[MS-CFB] 2.6.4 order: shorter names first, then by upper-cased code units."""
    return (len(name.encode("utf-16-le")), name.upper())


def _build_tree(entry: _Entry) -> list[_Entry]:
    """Flatten the hierarchy in directory order and link each storage's children."""
    ordered = [entry]
    for child in entry.children.values():
        ordered += _build_tree(child) if child.kind == _STORAGE else [child]
    return ordered


def _link_children(storage: _Entry) -> None:
    """Make the storage's children a balanced red-black tree (red only on the deepest level)."""
    siblings = sorted(storage.children.values(), key=lambda e: _sort_key(e.name))
    if not siblings:
        return
    depth_of: dict[int, int] = {}

    def place(low: int, high: int, depth: int) -> int:
        if low > high:
            return _NOSTREAM
        middle = (low + high + 1) // 2
        node = siblings[middle]
        depth_of[id(node)] = depth
        left = place(low, middle - 1, depth + 1)
        right = place(middle + 1, high, depth + 1)
        node.left = siblings[left].index if left != _NOSTREAM else _NOSTREAM
        node.right = siblings[right].index if right != _NOSTREAM else _NOSTREAM
        return middle

    root = place(0, len(siblings) - 1, 0)
    storage.child = siblings[root].index
    deepest = max(depth_of.values())
    full = len(siblings) == 2 ** (deepest + 1) - 1
    for node in siblings:
        node.color = _RED if depth_of[id(node)] == deepest and not full and deepest > 0 else _BLACK


def _chain(fat: list[int], first: int, count: int) -> None:
    for offset in range(count):
        fat[first + offset] = first + offset + 1 if offset + 1 < count else _ENDOFCHAIN


def _pad(data: bytes, size: int) -> bytes:
    return data + b"\x00" * (-len(data) % size)


def _directory_entry(entry: _Entry | None) -> bytes:
    if entry is None:
        return b"\x00" * 64 + struct.pack("<HBBIII", 0, 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM) + b"\x00" * 48
    name = entry.name.encode("utf-16-le")
    if len(name) > 62:
        raise ValueError(f"compound file entry name too long: {entry.name}")
    size = len(entry.data) if entry.kind in (_STREAM, _ROOT) else 0
    start = entry.start if entry.kind != _STORAGE else 0
    return (
        name.ljust(64, b"\x00")
        + struct.pack("<HBB", len(name) + 2, entry.kind, entry.color)
        + struct.pack("<III", entry.left, entry.right, entry.child)
        + b"\x00" * 16  # CLSID
        + struct.pack("<I", 0)  # state bits
        + b"\x00" * 16  # creation and modification times: none, for reproducibility
        + struct.pack("<IQ", start, size)
    )


def write_compound_file(streams: dict[str, bytes]) -> bytes:
    """Pack streams into a compound file.

    Args:
        streams: Stream contents keyed by '/'-separated path (``"VBA/dir"``); the
            storages on the way are created.

    Returns:
        The compound file bytes.
    """
    root = _Entry("Root Entry", _ROOT)
    for path, data in streams.items():
        parts = path.split("/")
        node = root
        for part in parts[:-1]:
            node = node.children.setdefault(part, _Entry(part, _STORAGE))
        node.children[parts[-1]] = _Entry(parts[-1], _STREAM, data=data)
    entries = _build_tree(root)
    for index, entry in enumerate(entries):
        entry.index = index
    for entry in entries:
        if entry.kind in (_STORAGE, _ROOT):
            _link_children(entry)

    # Mini stream: every stream below the cutoff, in 64-byte mini sectors.
    mini_stream = bytearray()
    mini_fat: list[int] = []
    for entry in entries:
        if entry.kind == _STREAM and 0 < len(entry.data) < _MINI_CUTOFF:
            entry.start = len(mini_fat)
            count = -(-len(entry.data) // _MINI_SECTOR)
            mini_fat += [0] * count
            _chain(mini_fat, entry.start, count)
            mini_stream += _pad(entry.data, _MINI_SECTOR)
    root.data = bytes(mini_stream)

    big = [e for e in entries if e.kind == _STREAM and len(e.data) >= _MINI_CUTOFF]
    if mini_stream:
        big.insert(0, root)
    directory = b"".join(_directory_entry(e) for e in entries)  # sizes only; rebuilt below
    directory_sectors = -(-len(directory) // _SECTOR)
    mini_fat_sectors = -(-len(mini_fat) * 4 // _SECTOR)
    data_sectors = sum(-(-len(e.data) // _SECTOR) for e in big)
    fat_sectors = 1
    while fat_sectors * (_SECTOR // 4) < fat_sectors + directory_sectors + mini_fat_sectors + data_sectors:
        fat_sectors += 1
    if fat_sectors > _HEADER_DIFAT_ENTRIES:
        raise ValueError("compound file too large for a header-only DIFAT")

    fat = [_FREESECT] * (fat_sectors * _SECTOR // 4)
    for sector in range(fat_sectors):
        fat[sector] = _FATSECT
    next_sector = fat_sectors
    directory_start = next_sector
    _chain(fat, directory_start, directory_sectors)
    next_sector += directory_sectors
    mini_fat_start = next_sector if mini_fat_sectors else _ENDOFCHAIN
    if mini_fat_sectors:
        _chain(fat, next_sector, mini_fat_sectors)
        next_sector += mini_fat_sectors
    body = bytearray()
    for entry in big:
        count = -(-len(entry.data) // _SECTOR)
        entry.start = next_sector
        _chain(fat, next_sector, count)
        next_sector += count
        body += _pad(entry.data, _SECTOR)
    if not mini_stream:
        root.start = _ENDOFCHAIN

    directory = b"".join(_directory_entry(e) for e in entries)
    directory += b"".join(_directory_entry(None) for _ in range(-(len(directory) // 128) % (_SECTOR // 128)))
    difat = list(range(fat_sectors)) + [_FREESECT] * (_HEADER_DIFAT_ENTRIES - fat_sectors)
    header = (
        bytes.fromhex("D0CF11E0A1B11AE1")
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIII", 0, fat_sectors, directory_start, 0)
        + struct.pack("<IIII", _MINI_CUTOFF, mini_fat_start, mini_fat_sectors, _ENDOFCHAIN)
        + struct.pack("<I", 0)
        + struct.pack(f"<{_HEADER_DIFAT_ENTRIES}I", *difat)
    )
    mini_fat_bytes = b"".join(struct.pack("<I", v) for v in mini_fat)
    mini_fat_bytes += struct.pack("<I", _FREESECT) * (-len(mini_fat) % (_SECTOR // 4))
    return header + struct.pack(f"<{len(fat)}I", *fat) + directory + mini_fat_bytes + bytes(body)
