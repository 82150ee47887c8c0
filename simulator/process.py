"""Run ``huiju simulator serve`` as a child process, for tests, benchmarks and the demo:

    with simulator_process(token="t0k", args=["--fault-rate", "0.1"]) as url:
        requests.post(f"{url}/api/gsxt/…", ...)

The child binds a free port (``--port 0``) and the URL is read from its first stdout line, so
nothing ever binds a fixed port.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

READY_PREFIX = "simulator listening on "


@contextmanager
def simulator_process(*, token: str, args: Sequence[str] = (), shapes: Path | str | None = None,
                      start_timeout: float = 30.0) -> Iterator[str]:
    """Start the simulator, yield its base URL, terminate it on exit. The token goes by
    environment variable, not on the command line, so it never shows in a process list."""
    command = [sys.executable, "-m", "huiju.cli", "simulator", "serve", "--port", "0", *args]
    if shapes is not None:
        command += ["--shapes", str(shapes)]
    env = {**os.environ, "HUIJU_SIMULATOR_TOKEN": token}
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env, text=True)
    try:
        url = _read_url(child, start_timeout)
        # keep draining both pipes so a chatty child (--verbose) never blocks on a full one
        for pipe in (child.stdout, child.stderr):
            threading.Thread(target=pipe.read, daemon=True).start()   # type: ignore[union-attr]
        yield url
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _read_url(child: subprocess.Popen, timeout: float) -> str:
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(child.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    first = line[0] if line else ""
    if not first.startswith(READY_PREFIX):
        child.kill()
        _, err = child.communicate(timeout=10)
        raise RuntimeError(f"simulator did not start (first line {first!r}): {err.strip()}")
    return first[len(READY_PREFIX):].strip()
