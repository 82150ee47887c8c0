"""What ``huiju run`` shows while it works: per feed, rows read, rows/s and the current batch.

On a terminal, a live rich display (one line per feed). Piped — cron, CI, a log file, ``make
demo > file`` — a plain line per step and, while rows are read, at most one line every
``interval`` seconds (``HUIJU_PROGRESS_SECONDS``, default 10), so a million-row run is never
silent for minutes and a log never fills with redraws.
"""

from __future__ import annotations

import os
import time
from typing import TextIO


class FeedProgress:
    """Progress of the feeds of one run, told to ``out`` (a TTY: live; else plain lines)."""

    def __init__(self, out: TextIO, interval: float | None = None, clock=time.monotonic):
        self.out = out
        self.live = out.isatty()
        self.interval = interval if interval is not None else float(
            os.environ.get("HUIJU_PROGRESS_SECONDS") or 10)
        self.clock = clock
        self._progress = None
        self._task = None
        self.label = ""
        self.rows = 0
        self.batches = 0
        self.step_name = ""
        self.started = self.last_line = clock()

    def __enter__(self) -> FeedProgress:
        if self.live:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                      TimeElapsedColumn(),
                                      console=Console(file=self.out), transient=False)
            self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def feed(self, label: str) -> None:
        """A new feed starts."""
        self.label, self.rows, self.batches, self.step_name = label, 0, 0, "start"
        self.started = self.last_line = self.clock()
        if self._progress is not None:
            self._task = self._progress.add_task(label, total=None)

    def step(self, name: str, number: int) -> None:
        """The feed enters task ``name`` of pass ``number`` (extract, validate, load)."""
        self.step_name = f"{name} (pass {number + 1})" if number else name
        self._tell(force=True)

    def read(self, rows: int) -> None:
        """A connector batch of ``rows`` rows was read."""
        self.rows += rows
        self.batches += 1
        self._tell(force=False)

    def done(self, sentence: str) -> None:
        """The feed finished; ``sentence`` says how."""
        self.step_name = sentence
        self._tell(force=True)

    def line(self) -> str:
        """The feed's progress as one line."""
        elapsed = max(self.clock() - self.started, 1e-9)
        return (f"{self.label}: {self.step_name}; {self.rows:,} rows read in {self.batches} "
                f"batches, {self.rows / elapsed:,.0f} rows/s, {elapsed:.0f}s")

    def _tell(self, force: bool) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=self.line())
            return
        now = self.clock()
        if force or now - self.last_line >= self.interval:
            self.last_line = now
            self.out.write(f"progress {self.line()}\n")
            self.out.flush()
