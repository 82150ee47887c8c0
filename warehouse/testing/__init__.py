"""Test helpers of the warehouse: synthetic standard frames and load requests."""
