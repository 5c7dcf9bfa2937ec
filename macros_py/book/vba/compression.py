"""[MS-OVBA] 2.4.1 compression: the run-length/LZ77 scheme of VBA module and dir streams.

Every chunk is compressed with real copy tokens. A raw chunk is written only when a full
4096-byte chunk does not compress at all (never the case for VBA source text). A final
partial chunk that does not compress (random bytes, more than about 3,640 of them) has no
exact representation in the format, whose raw chunks always decompress to 4096 bytes;
:func:`compress` refuses such input instead of padding it.
"""

from __future__ import annotations

import struct

__all__ = ["compress", "decompress"]

_CHUNK = 4096
_MIN_MATCH = 3
_MAX_CANDIDATES = 128  # candidates tried per position: bounds time on repetitive data


def _copy_token_layout(difference: int) -> tuple[int, int]:
    """Bit count of the offset field and maximum match length at ``difference``.

    ``difference`` is the distance from the chunk's start to the current position
    ([MS-OVBA] 2.4.1.3.19.1 CopyToken Help).
    """
    bit_count = max((difference - 1).bit_length(), 4)
    maximum_length = (0xFFFF >> bit_count) + 3
    return bit_count, maximum_length


def _longest_match(
    chunk: bytes, position: int, candidates: list[int], maximum_length: int
) -> tuple[int, int]:
    limit = min(maximum_length, len(chunk) - position)
    best_length, best_offset = 0, 0
    for start in reversed(candidates[-_MAX_CANDIDATES:]):
        length = 0
        while length < limit and chunk[start + length] == chunk[position + length]:
            length += 1
        if length > best_length:
            best_length, best_offset = length, position - start
            if length == limit:
                break
    return best_length, best_offset


def _compress_chunk(chunk: bytes) -> bytes:
    """Compressed chunk data (without header) of one decompressed chunk."""
    out = bytearray()
    heads: dict[bytes, list[int]] = {}
    position = 0
    size = len(chunk)
    while position < size:
        flag_index = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if position >= size:
                break
            length, offset = 0, 0
            key = chunk[position : position + _MIN_MATCH]
            if len(key) == _MIN_MATCH and key in heads:
                _bits, maximum_length = _copy_token_layout(position)
                length, offset = _longest_match(chunk, position, heads[key], maximum_length)
            if length >= _MIN_MATCH:
                bit_count, _maximum = _copy_token_layout(position)
                token = ((offset - 1) << (16 - bit_count)) | (length - 3)
                out += struct.pack("<H", token)
                flags |= 1 << bit
                step = length
            else:
                out.append(chunk[position])
                step = 1
            for index in range(position, min(position + step, size - _MIN_MATCH + 1)):
                heads.setdefault(chunk[index : index + _MIN_MATCH], []).append(index)
            position += step
        out[flag_index] = flags
    return bytes(out)


def compress(data: bytes) -> bytes:
    """Compress ``data`` into an [MS-OVBA] CompressedContainer.

    Args:
        data: Decompressed bytes (module source text or the dir stream).

    Returns:
        The container: signature byte 0x01 followed by compressed chunks.
    """
    out = bytearray(b"\x01")
    for start in range(0, len(data), _CHUNK):
        chunk = data[start : start + _CHUNK]
        body = _compress_chunk(chunk)
        if len(body) <= _CHUNK:
            header = 0xB000 | (len(body) + 2 - 3)
        elif len(chunk) == _CHUNK:  # incompressible: a raw chunk holds exactly 4096 bytes
            body = chunk
            header = 0x3000 | (_CHUNK + 2 - 3)
        else:
            raise ValueError(
                "the last chunk is incompressible and shorter than 4096 bytes: "
                "[MS-OVBA] can only store it as a zero-padded raw chunk"
            )
        out += struct.pack("<H", header) + body
    return bytes(out)


def decompress(container: bytes) -> bytes:
    """Decompress an [MS-OVBA] CompressedContainer (used to check our own output).

    Args:
        container: Bytes starting with the signature byte 0x01.

    Returns:
        The decompressed bytes.

    Raises:
        ValueError: If the container is malformed.
    """
    if not container or container[0] != 1:
        raise ValueError("not an MS-OVBA compressed container")
    out = bytearray()
    position = 1
    while position < len(container):
        (header,) = struct.unpack_from("<H", container, position)
        size = (header & 0x0FFF) + 3
        if (header >> 12) & 0x7 != 0b011:
            raise ValueError("bad chunk signature")
        end = min(position + size, len(container))
        position += 2
        chunk_start = len(out)
        if not header & 0x8000:
            out += container[position : position + _CHUNK]
            position += _CHUNK
            continue
        while position < end:
            flags = container[position]
            position += 1
            for bit in range(8):
                if position >= end:
                    break
                if flags >> bit & 1:
                    (token,) = struct.unpack_from("<H", container, position)
                    position += 2
                    bit_count, _maximum = _copy_token_layout(len(out) - chunk_start)
                    length = (token & (0xFFFF >> bit_count)) + 3
                    offset = (token >> (16 - bit_count)) + 1
                    for _ in range(length):
                        out.append(out[-offset])
                else:
                    out.append(container[position])
                    position += 1
    return bytes(out)
