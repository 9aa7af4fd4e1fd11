"""Pipeline settings: YAML under ``config/``, validated once into typed models.

Every section is a pydantic model that rejects unknown keys, so a typo in a
config file fails at start-up with the file, the key and the allowed values,
not halfway through a run. Functions receive the typed section they need
(``SegmentConfig``, ``IngestConfig``, ...), never a raw dict.

Relative paths in a config file are taken relative to the current working
directory (the project root when you use ``make``), like every other path you
give the ``themes`` command.
"""
