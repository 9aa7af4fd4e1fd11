"""Readers of input formats, chosen by file extension from one registry.

A document reader takes the file's bytes and returns a
:class:`~pipeline.io.readers.base.ParsedDocument` (normalised text plus speaker
turns); a table reader returns one row per document. The registry is in
:mod:`pipeline.io.readers.registry`. Readers raise
:class:`~pipeline.errors.InputFormatError` for bad input; the corpus reader in
:mod:`pipeline.io.ingest` quarantines the file and goes on.
"""
