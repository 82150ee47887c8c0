"""The report application: department data quality and the auditors' completeness view.

Server-rendered (FastAPI + Jinja2, SVG charts drawn on the server), served by ``huiju serve``.
Queries live in :mod:`reports.quality` and :mod:`reports.completeness`, access rules in
:mod:`reports.access`, users in :mod:`reports.users`, the web routes in :mod:`reports.app`.
"""
