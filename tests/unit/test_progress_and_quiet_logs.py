"""``huiju run``'s progress when piped, and Great Expectations kept out of the logs (issue 11)."""

from __future__ import annotations

import io
import subprocess
import sys

from huiju.progress import FeedProgress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_piped_progress_is_a_plain_line_per_step_and_at_most_one_per_interval():
    out, clock = io.StringIO(), Clock()
    with FeedProgress(out, interval=10, clock=clock) as progress:
        progress.feed("GS-SCJG case_db → penalty")
        progress.step("extract", 0)
        for _ in range(30):  # 30 batches of 1000 rows over 15 s
            clock.now += 0.5
            progress.read(1000)
        progress.step("load", 0)
        progress.done("loaded batch 2026120100001")
    lines = out.getvalue().splitlines()
    assert all(line.startswith("progress GS-SCJG case_db → penalty: ") for line in lines)
    reading = [line for line in lines if "extract;" in line and "; 0 rows read" not in line]
    assert len(reading) == 1  # 15 s of reading, one line per 10 s
    assert "20,000 rows read in 20 batches, 2,000 rows/s" in reading[0]
    assert "30,000 rows read in 30 batches" in lines[-1] and "loaded batch" in lines[-1]
    assert "\r" not in out.getvalue()  # no redraws in a log


def test_tasks_of_several_feeds_take_turns_and_each_keeps_its_figures():
    """An Airflow DAG extracts one feed, then another, then validates the first: the demo's
    progress keeps the feeds apart by label and prints each one's last line once."""
    from huiju.progress import shown, shown_progress

    out, clock = io.StringIO(), Clock()
    with FeedProgress(out, interval=10, clock=clock, every_step=False) as progress, \
            shown(progress):
        first = shown_progress("A src → penalty")
        first.step("extract")
        first.batch("2026120700001")
        clock.now += 2
        first.read(300)
        second = shown_progress("B src → site")
        second.step("extract")
        clock.now += 1
        second.read(40)
        clock.now += 3  # validation and load: not reading
        shown_progress("A src → penalty").step("validate")  # no line: steps are quiet
        shown_progress("A src → penalty").done("loaded 290")
        shown_progress("B src → site").done("loaded 40")
        shown_progress("A src → penalty").step("extract")  # run 2: the feed starts afresh
        shown_progress("A src → penalty").done("nothing new")
    assert shown_progress("A src → penalty") is None  # shown no more
    assert out.getvalue().splitlines() == [
        "progress A src → penalty: loaded 290; 300 rows read in 1 batches, 150 rows/s, 6s, "
        "batch 2026120700001",
        "progress B src → site: loaded 40; 40 rows read in 1 batches, 40 rows/s, 4s",
        "progress A src → penalty: nothing new; 0 rows read in 0 batches, 0 rows/s, 0s"]


class Screen(io.StringIO):
    """A terminal, as far as rich can tell."""

    def isatty(self) -> bool:
        return True


def test_the_live_display_ticks_off_a_finished_feed_and_restarts_it_on_its_next_run():
    screen = Screen()
    with FeedProgress(screen) as progress:
        progress.feed("A src → penalty")
        progress.read(5)
        progress.done("loaded 5")
        (line,) = progress._progress.tasks  # one line per feed
        assert line.finished and line.stop_time is not None  # its clock stopped
        assert line.description.startswith("A src → penalty: loaded 5; 5 rows read")
        progress.feed("A src → penalty")  # run 2
        assert progress._progress.tasks == [line] and not line.finished
    assert "\x1b[" in screen.getvalue() and "progress A src" not in screen.getvalue()


def test_a_task_with_no_progress_shown_writes_the_periodic_line_to_its_log(caplog):
    import logging

    from huiju.progress import for_task

    logger = logging.getLogger("huiju.test_progress")
    caplog.set_level(logging.INFO, logger=logger.name)
    told = for_task("A src → penalty", logger)
    told.step("extract")
    told.read(10)  # not a line: the interval (10 s) has not passed
    told.interval = 0  # from now on every read is "a while" later
    told.read(5)
    told.read(5)
    lines = [r.getMessage() for r in caplog.records if r.name == logger.name]
    assert [line.split("; ")[1].split(" in ")[0] for line in lines] == ["15 rows read",
                                                                        "20 rows read"]
    assert all(line.startswith("progress A src → penalty: extract; ") for line in lines)


def test_great_expectations_registration_noise_is_silenced():
    script = ("import logging, sys\n"
              "logging.basicConfig(level=logging.INFO, stream=sys.stdout, "
              "format='%(name)s %(message)s')\n"
              "from expectations.validate import validate_frame\n"
              "from expectations.testing.samples import sample_frame\n"
              "from schemas.catalog import dataset\n"
              "validate_frame(sample_frame(dataset('penalty'), 3), dataset('penalty'), "
              "engine='gx')\n"
              "assert 'great_expectations' in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, check=True)
    assert "great_expectations" not in done.stdout + done.stderr


def test_next_run_of_every_schedule_preset_is_in_shanghai_time():
    from datetime import UTC, datetime

    from huiju.departments import SCHEDULE_PRESETS
    from huiju.status import next_run

    now = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)  # 07:00 on 2 December in Shanghai
    assert str(next_run("0 2 * * *", now)) == "2026-12-03 02:00:00+08:00"
    assert str(next_run("@daily", now)) == "2026-12-03 00:00:00+08:00"
    assert str(next_run("@quarterly", now)) == "2027-01-01 00:00:00+08:00"
    for preset in SCHEDULE_PRESETS:
        assert next_run(preset, now) > now
