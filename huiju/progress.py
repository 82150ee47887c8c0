"""What a run shows while it works: per feed, rows read, rows/s and the current batch.

On a terminal, a live rich display (one line per feed). Piped — cron, CI, a log file, ``make
demo > file`` — a plain line per step and, while rows are read, at most one line every
``interval`` seconds (``HUIJU_PROGRESS_SECONDS``, default 10), so a million-row run is never
silent for minutes and a log never fills with redraws.

``huiju run`` drives a :class:`FeedProgress` through the callbacks of ``pipeline.run_feed``.
The pipeline's tasks, run by Airflow, have no such caller: they tell the progress a process
has registered with :func:`shown` (``huiju demo`` runs its DAGs in-process and shows theirs),
else :func:`for_task` gives them one that writes the periodic line to the task's log.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class _Feed:
    """One feed's figures."""

    label: str
    started: float
    last_line: float
    rows: int = 0
    reads: int = 0
    last_read: float | None = None  # rows/s is over the reading, not the validation and load
    step_name: str = "start"
    batch_id: str | None = None
    finished: bool = False
    task: object = field(default=None, repr=False)  # its line in the live display


class FeedProgress:
    """Progress of the feeds of a run, told to ``out`` (a TTY: live; else plain lines).

    Feeds are told apart by label, so tasks of several feeds may take turns (an Airflow DAG
    extracts one feed, then another, before validating the first). ``every_step=False``
    keeps only the periodic and the final line of each feed (a log, the demo). ``console``:
    a rich console the caller prints on while the live display runs.
    """

    def __init__(self, out: TextIO, interval: float | None = None, clock=time.monotonic,
                 every_step: bool = True, console=None):
        self.out = out
        # live: the caller's rich console, so that its prints and the display share a screen
        self.console = console
        self.live = out.isatty()
        self.interval = interval if interval is not None else float(
            os.environ.get("HUIJU_PROGRESS_SECONDS") or 10)
        self.clock = clock
        self.every_step = every_step
        self._progress = None
        self._feeds: dict[str, _Feed] = {}
        self._current: _Feed | None = None

    def __enter__(self) -> FeedProgress:
        if self.live:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                      TimeElapsedColumn(),
                                      console=self.console or Console(file=self.out),
                                      transient=False)
            self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    @property
    def label(self) -> str:
        """The current feed's label."""
        return self._current.label if self._current else ""

    def feed(self, label: str) -> None:
        """The feed ``label`` starts (again, if it had finished) or goes on."""
        found = self._feeds.get(label)
        if found is None or found.finished:
            now = self.clock()
            found = _Feed(label, started=now, last_line=now, task=found and found.task)
            self._feeds[label] = found
            if self._progress is not None:
                if found.task is None:
                    found.task = self._progress.add_task(label, total=None)
                else:  # the same feed again (the demo's second run): its clock restarts
                    self._progress.reset(found.task, total=None)
        self._current = found

    def step(self, name: str, number: int = 0) -> None:
        """The feed enters task ``name`` of pass ``number`` (extract, validate, load)."""
        if self._current is not None:
            self._current.step_name = f"{name} (pass {number + 1})" if number else name
            self._tell(force=self.every_step)

    def batch(self, batch_id: str) -> None:
        """The feed's rows go into the warehouse batch ``batch_id``."""
        if self._current is not None:
            self._current.batch_id = batch_id

    def read(self, rows: int) -> None:
        """A connector batch of ``rows`` rows was read."""
        if self._current is not None:
            self._current.rows += rows
            self._current.reads += 1
            self._current.last_read = self.clock()
            self._tell(force=False)

    def done(self, sentence: str) -> None:
        """The feed finished; ``sentence`` says how."""
        if self._current is not None:
            self._current.step_name = sentence
            self._tell(force=True)
            self._current.finished = True
            if self._progress is not None:  # a tick instead of the spinner; its clock stops
                self._progress.update(self._current.task, total=1, completed=1)
                self._progress.stop_task(self._current.task)

    def line(self) -> str:
        """The current feed's progress as one line."""
        feed = self._current
        if feed is None:
            return ""
        elapsed = self.clock() - feed.started
        reading = max((feed.last_read or feed.started) - feed.started, 1e-3)
        batch = f", batch {feed.batch_id}" if feed.batch_id else ""
        return (f"{feed.label}: {feed.step_name}; {feed.rows:,} rows read in {feed.reads} "
                f"batches, {feed.rows / reading:,.0f} rows/s, {elapsed:.0f}s{batch}")

    def _tell(self, force: bool) -> None:
        feed = self._current
        if self._progress is not None:
            self._progress.update(feed.task, description=self.line())
            return
        now = self.clock()
        if force or now - feed.last_line >= self.interval:
            feed.last_line = now
            self.out.write(f"progress {self.line()}\n")
            self.out.flush()


class _LogLines:
    """A text stream whose lines go to a logger (an Airflow task's log), never a terminal."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def write(self, text: str) -> None:
        for line in text.splitlines():
            self.logger.info("%s", line)

    def flush(self) -> None:
        """Nothing is buffered."""

    def isatty(self) -> bool:
        """Never a terminal: plain lines."""
        return False


_SHOWN: list[FeedProgress] = []


@contextmanager
def shown(progress: FeedProgress) -> Iterator[FeedProgress]:
    """While in use, the pipeline's tasks in this process tell ``progress``."""
    _SHOWN.append(progress)
    try:
        yield progress
    finally:
        _SHOWN.remove(progress)


def shown_progress(label: str) -> FeedProgress | None:
    """The progress registered with :func:`shown`, on feed ``label``; None if none is."""
    if not _SHOWN:
        return None
    progress = _SHOWN[-1]
    progress.feed(label)
    return progress


def for_task(label: str, logger: logging.Logger) -> FeedProgress:
    """The progress an extract task tells: the one :func:`shown`, else one that writes the
    periodic line (at most every interval, and the last) to ``logger``."""
    progress = shown_progress(label)
    if progress is None:
        progress = FeedProgress(_LogLines(logger), every_step=False)
        progress.feed(label)
    return progress
