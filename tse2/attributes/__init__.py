"""Speech attributes of clean utterances (stage 2): F0, segments, speaking duration and rate, RMS."""
