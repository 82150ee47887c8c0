"""Huiju's benchmarks: one ``bench_<topic>.py`` module per topic, each with a ``main()`` that
times Huiju against a baseline in the same run and prints the ratio (never a timed
assertion in a test). Run one with ``.venv/bin/python -m benchmarks.bench_<topic>``, all of
them with ``.venv/bin/python -m benchmarks``."""
