"""The VBA project streams of [MS-OVBA]: ``PROJECT``, ``PROJECTwm``, ``VBA/dir``, modules.

:func:`project_streams` turns module sources into the stream contents of a
``vbaProject.bin``; :mod:`macros_py.book.vba.cfb` packs them into a compound file.
The project is written the way a non-Office tool must: ``_VBA_PROJECT`` without a
performance cache (Office compiles the source on open) and every module at offset 0.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from macros_py.book.vba.compression import compress

__all__ = ["VbaModule", "encrypt_project_data", "decrypt_project_data", "project_streams"]

PROJECT_ID = "{6B3B2F42-7C1D-4E55-9A53-4D494D414D4F}"  # fixed, so builds are reproducible
PROJECT_NAME = "VBAProject"
CODE_PAGE = 1252
_LCID = 0x0409
_VBA_PROJECT_STREAM = b"\xcc\x61\xff\xff\x00\x01\x00"
_STDOLE_LIBID = (
    "*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#C:\\Windows\\System32\\stdole2.tlb#OLE Automation"
)
_HOST_EXTENDER = "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000"
# Unencrypted protection state: "unprotected, no password, visible" ([MS-OVBA] 2.3.1.15-17).
UNPROTECTED = b"\x00\x00\x00\x00"
NO_PASSWORD = b"\x00"
VISIBLE = b"\xff"
# Seeds of the three protection fields; any byte is valid, fixed ones keep output stable.
_SEEDS = {"CMG": 0x07, "DPB": 0x0E, "GC": 0x15}


@dataclass(frozen=True)
class VbaModule:
    """One module: ``name`` (ASCII, starts with a letter, <= 31 chars) and its source.

    ``source`` is the text as stored in the module stream, including the
    ``Attribute VB_Name`` lines, with CRLF line endings. ``document`` marks a document
    module (``ThisWorkbook``, ``Sheet1``...).
    """

    name: str
    source: str
    document: bool = False

    def __post_init__(self) -> None:
        name = self.name
        if not (name[:1].isascii() and name[:1].isalpha() and name.isascii() and len(name) <= 31):
            raise ValueError(f"invalid VBA module name {name!r}")
        if not name.replace("_", "").isalnum():
            raise ValueError(f"invalid VBA module name {name!r}")
        if not self.source.isascii():
            raise ValueError(f"VBA module {name} must be ASCII-only")


def _mbcs(text: str) -> bytes:
    return text.encode("cp1252")


def encrypt_project_data(project_id: str, data: bytes, seed: int) -> str:
    """Encrypt a protection field with [MS-OVBA] 2.4.3.2 Data Encryption.

    Args:
        project_id: The project's ``ID`` GUID text including braces.
        data: The unencrypted field (e.g. ``b"\\0\\0\\0\\0"`` for "unprotected").
        seed: Any byte; it also fixes how many ignored bytes follow.

    Returns:
        Upper-case hexadecimal text for the ``CMG``/``DPB``/``GC`` line.
    """
    version = 2
    project_key = sum(project_id.encode("ascii")) & 0xFF
    version_enc = seed ^ version
    project_key_enc = seed ^ project_key
    out = bytearray([seed, version_enc, project_key_enc])
    unencrypted_1, encrypted_1, encrypted_2 = project_key, project_key_enc, version_enc
    ignored = [0x07] * ((seed & 6) // 2)  # any value is allowed; 0x07 as in [MS-OVBA] 3.1.6
    for byte in [*ignored, *struct.pack("<I", len(data)), *data]:
        byte_enc = byte ^ ((encrypted_2 + unencrypted_1) & 0xFF)
        out.append(byte_enc)
        encrypted_2, encrypted_1, unencrypted_1 = encrypted_1, byte_enc, byte
    return out.hex().upper()


def decrypt_project_data(hex_text: str) -> bytes:
    """Decrypt a ``CMG``/``DPB``/``GC`` value ([MS-OVBA] 2.4.3.3).

    Args:
        hex_text: The quoted value of the field, without quotes.

    Returns:
        The unencrypted data bytes.
    """
    raw = bytes.fromhex(hex_text)
    seed, version_enc, project_key_enc = raw[0], raw[1], raw[2]
    project_key = seed ^ project_key_enc
    unencrypted_1, encrypted_1, encrypted_2 = project_key, project_key_enc, version_enc
    plain = bytearray()
    for byte_enc in raw[3:]:
        byte = byte_enc ^ ((encrypted_2 + unencrypted_1) & 0xFF)
        plain.append(byte)
        encrypted_2, encrypted_1, unencrypted_1 = encrypted_1, byte_enc, byte
    ignored = (seed & 6) // 2
    (length,) = struct.unpack_from("<I", plain, ignored)
    return bytes(plain[ignored + 4 : ignored + 4 + length])


def _project_stream(modules: tuple[VbaModule, ...]) -> bytes:
    lines = [f'ID="{PROJECT_ID}"']
    lines += [f"Document={m.name}/&H00000000" for m in modules if m.document]
    lines += [f"Module={m.name}" for m in modules if not m.document]
    lines += [
        f'Name="{PROJECT_NAME}"',
        'HelpContextID="0"',
        'VersionCompatible32="393222000"',
        f'CMG="{encrypt_project_data(PROJECT_ID, UNPROTECTED, _SEEDS["CMG"])}"',
        f'DPB="{encrypt_project_data(PROJECT_ID, NO_PASSWORD, _SEEDS["DPB"])}"',
        f'GC="{encrypt_project_data(PROJECT_ID, VISIBLE, _SEEDS["GC"])}"',
        "",
        "[Host Extender Info]",
        _HOST_EXTENDER,
        "",
        "[Workspace]",
    ]
    lines += [f"{m.name}=0, 0, 0, 0, C" for m in modules]
    return _mbcs("\r\n".join(lines) + "\r\n")


def _project_wm_stream(modules: tuple[VbaModule, ...]) -> bytes:
    out = bytearray()
    for module in modules:
        out += _mbcs(module.name) + b"\x00" + module.name.encode("utf-16-le") + b"\x00\x00"
    return bytes(out + b"\x00\x00")


def _record(record_id: int, payload: bytes) -> bytes:
    return struct.pack("<HI", record_id, len(payload)) + payload


def _dir_stream(modules: tuple[VbaModule, ...]) -> bytes:
    name = _mbcs(PROJECT_NAME)
    out = bytearray()
    # PROJECTINFORMATION
    out += _record(0x0001, struct.pack("<I", 1))  # SysKind: 32-bit Windows
    out += _record(0x0002, struct.pack("<I", _LCID))
    out += _record(0x0014, struct.pack("<I", _LCID))
    out += _record(0x0003, struct.pack("<H", CODE_PAGE))
    out += _record(0x0004, name)
    out += _record(0x0005, b"") + _record(0x0040, b"")  # doc string, its Unicode twin
    out += _record(0x0006, b"") + _record(0x003D, b"")  # help file paths
    out += _record(0x0007, struct.pack("<I", 0))  # help context
    out += _record(0x0008, struct.pack("<I", 0))  # lib flags
    out += struct.pack("<HIIH", 0x0009, 4, 1, 0)  # version: major 1, minor 0
    out += _record(0x000C, b"") + _record(0x003C, b"")  # constants
    # PROJECTREFERENCES: stdole only, everything else is bound late
    out += _record(0x0016, b"stdole") + _record(0x003E, "stdole".encode("utf-16-le"))
    libid = _mbcs(_STDOLE_LIBID)
    out += _record(0x000D, struct.pack("<I", len(libid)) + libid + struct.pack("<IH", 0, 0))
    # PROJECTMODULES
    out += _record(0x000F, struct.pack("<H", len(modules)))
    out += _record(0x0013, struct.pack("<H", 0xFFFF))
    for module in modules:
        module_name = _mbcs(module.name)
        unicode_name = module.name.encode("utf-16-le")
        out += _record(0x0019, module_name) + _record(0x0047, unicode_name)
        out += _record(0x001A, module_name) + _record(0x0032, unicode_name)  # stream name
        out += _record(0x001C, b"") + _record(0x0048, b"")  # doc string
        out += _record(0x0031, struct.pack("<I", 0))  # source starts at offset 0
        out += _record(0x001E, struct.pack("<I", 0))  # help context
        out += _record(0x002C, struct.pack("<H", 0xFFFF))  # cookie
        out += struct.pack("<HI", 0x0022 if module.document else 0x0021, 0)  # type
        out += struct.pack("<HI", 0x002B, 0)  # module terminator
    out += struct.pack("<HI", 0x0010, 0)  # dir terminator
    return bytes(out)


def project_streams(modules: tuple[VbaModule, ...]) -> dict[str, bytes]:
    """Stream contents of a VBA project, keyed by '/'-separated path in the compound file.

    Args:
        modules: Document modules first (``ThisWorkbook``, ``Sheet1``...), then code
            modules; names must be unique case-insensitively.

    Returns:
        ``{"PROJECT": ..., "PROJECTwm": ..., "VBA/_VBA_PROJECT": ..., "VBA/dir": ...,
        "VBA/<module>": ...}``.
    """
    names = [module.name.casefold() for module in modules]
    if len(set(names)) != len(names):
        raise ValueError("duplicate VBA module names")
    streams = {
        "PROJECT": _project_stream(modules),
        "PROJECTwm": _project_wm_stream(modules),
        "VBA/_VBA_PROJECT": _VBA_PROJECT_STREAM,
        "VBA/dir": compress(_dir_stream(modules)),
    }
    for module in modules:
        streams[f"VBA/{module.name}"] = compress(_mbcs(module.source))
    return streams
