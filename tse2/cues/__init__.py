"""Stage 4: cue labels (relative and independent) and text prompts."""
