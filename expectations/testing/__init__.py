"""Test helpers of the validation stage: valid sample frames and ways to break each rule."""
