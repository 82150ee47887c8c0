"""The pipeline's tasks keep a chunk's large buffers out of glibc's heaps (a flat first load)."""

from __future__ import annotations

import ctypes
import platform

import pytest

from huiju import pipeline

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="mallopt's mmap threshold is glibc's")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _mapped_bytes() -> int:
    """Bytes malloc holds in blocks mapped on their own (``mallinfo2().hblkhd``)."""
    mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    mallinfo2.restype = _MallInfo2
    return mallinfo2().hblkhd


def test_a_large_block_is_mapped_even_after_a_larger_one_was_freed():
    # glibc alone would raise its threshold to 8 MiB when the first block is freed, and carve
    # the second out of a heap, where its pages may stay resident after it is freed
    assert pipeline._fix_mmap_threshold() is True
    first = bytearray(8 * 2**20)
    del first
    before = _mapped_bytes()
    second = bytearray(2 * 2**20)
    assert _mapped_bytes() - before >= 2 * 2**20
    del second
    assert _mapped_bytes() <= before
