"""One recognizer per identifier type, declared as data (patterns, context words, validate)."""
