"""Test helpers of the glue: made-up manifest entries for DAG tests and benchmarks."""
