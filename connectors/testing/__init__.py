"""Test doubles of department systems (used by the tests and the demo)."""
