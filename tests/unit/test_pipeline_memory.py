"""The pipeline's tasks keep a chunk's large buffers out of glibc's heaps (a flat first load)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="mallopt's mmap threshold is glibc's")


# Run in a fresh interpreter: in a long test process the heap may already hold a free chunk
# big enough for the block, and glibc serves a request from its free lists before it maps one.
PROBE = """
import ctypes
from huiju import pipeline

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
mallinfo2.restype = MallInfo2
fixed = FIX and pipeline._fix_mmap_threshold()
first = bytearray(8 * 2**20)
del first
before = mallinfo2().hblkhd
second = bytearray(2 * 2**20)
grown = mallinfo2().hblkhd - before
del second
print(fixed, grown >= 2 * 2**20, mallinfo2().hblkhd <= before)
"""


def _probe(fix: bool) -> list[str]:
    done = subprocess.run([sys.executable, "-c", f"FIX = {fix}\n" + PROBE],
                          capture_output=True, text=True, timeout=300, check=True)
    return done.stdout.split()


def test_a_large_block_is_mapped_even_after_a_larger_one_was_freed():
    # glibc alone raises its threshold to 8 MiB when the first block is freed and carves the
    # second out of a heap, where its pages may stay resident after it is freed
    assert _probe(fix=False) == ["False", "False", "True"]
    # fixed: the second block has a mapping of its own, returned to the system when freed
    assert _probe(fix=True) == ["True", "True", "True"]
