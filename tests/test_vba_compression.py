"""Our MS-OVBA compressor round-trips against the independent decompressor in oletools."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oletools.olevba import decompress_stream

from macros_py.book.vba.compression import compress, decompress


def _round_trip(data: bytes) -> None:
    container = compress(data)
    assert decompress_stream(bytearray(container)) == data
    assert decompress(container) == data


def _cases() -> list[bytes]:
    rng = random.Random(20250401)
    cases = []
    for size in (0, 1, 2, 3, 7, 8, 9, 100, 3000, 4095, 4096, 4097, 8191, 8192, 12345, 20000):
        cases.append(b"a" * size)
        cases.append(bytes(rng.choice(b"ab") for _ in range(size)))
        cases.append((b'Public Sub Run_x()\r\n    RunPython "x"\r\nEnd Sub\r\n' * (size // 40 + 1))[:size])
        cases.append(bytes(rng.getrandbits(8) for _ in range(size)))
    return cases


def _representable(data: bytes) -> bool:
    """Random bytes whose last partial chunk exceeds ~3.6 KB cannot be stored exactly."""
    return len(data) % 4096 <= 3640


@pytest.mark.parametrize("data", _cases(), ids=lambda d: f"{len(d)}:{d[:4].hex()}")
def test_compressor_round_trips_through_oletools(data):
    if not _representable(data) and len(set(data)) > 200:
        with pytest.raises(ValueError):
            compress(data)
        return
    _round_trip(data)


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=0, max_size=20000))
def test_compressor_round_trips_random_binary(data):
    try:
        container = compress(data)
    except ValueError:
        assert not _representable(data)
        return
    assert decompress_stream(bytearray(container)) == data


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from([b"Dim ", b"x", b" As String", b"\r\n", b"End If", b"'", b"0"]), max_size=3000)
)
def test_compressor_round_trips_repetitive_text(parts):
    _round_trip(b"".join(parts))


def test_full_incompressible_chunk_uses_a_raw_chunk():
    data = random.Random(1).randbytes(4096)
    container = compress(data)
    assert container[2] & 0x80 == 0  # flag bit of the chunk header: raw
    assert decompress_stream(bytearray(container)) == data


def test_xlwings_source_is_compressed_with_copy_tokens():
    text = b'Attribute VB_Name = "xlwings"\r\n' + b"Function GetConfig()\r\nEnd Function\r\n" * 400
    container = compress(text)
    assert len(container) < len(text) // 4
    assert decompress_stream(bytearray(container)) == text
