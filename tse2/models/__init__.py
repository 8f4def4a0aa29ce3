"""Model definitions, one per file."""
