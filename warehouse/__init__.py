"""The warehouse: tables generated from ``schemas/``, migrations, batch loading, provenance.

Modules: ``tables`` (the generated SQLAlchemy metadata), ``engine`` (PostgreSQL, or SQLite with
one attached file per layer), ``migrate`` (Alembic, configured in code), ``load`` (one batch,
one transaction), ``provenance`` (trails from a source record to core and back) and
``synthetic`` (generated frames for tests and benchmarks). The naming contract is README.md.
"""
