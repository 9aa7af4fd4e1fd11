"""REFI-QDA: codebooks and projects read safely, projects written."""
