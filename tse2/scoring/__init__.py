"""Stage 9: signal metrics of the selected outputs, per-cue tables and figures (paper IV-C/D)."""
