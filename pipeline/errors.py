"""The project's exceptions: one hierarchy, each also a built-in type.

Every message says what was expected, what arrived, where (file, line, field)
and how to fix it. Library code raises these; the CLI turns them into one line
on stderr and an exit status, never a traceback.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(PipelineError, ValueError):
    """A config file or option is missing, malformed or has a bad value."""


class InputFormatError(PipelineError, ValueError):
    """An input file cannot be read as the format it claims to be.

    Raised by the ingest readers; the corpus reader catches it, quarantines the
    file with the message as its reason and carries on with the rest.
    """


class DuplicateDocumentError(InputFormatError):
    """Two sources give the same ``document_id``."""


class CodebookError(PipelineError, ValueError):
    """A codebook is malformed: the message names the file, the code and the field."""


class CodesError(PipelineError, ValueError):
    """A file of human codes cannot be read."""


class StoreError(PipelineError, RuntimeError):
    """The results store cannot be opened or written."""


class StoreBusyError(StoreError):
    """Another run holds the store's lock."""


class RunNotFoundError(PipelineError, LookupError):
    """A run id or run folder does not exist."""


class UnsafeInputError(InputFormatError):
    """An input is hostile or over a safety limit.

    Zip bombs, path traversal, XML entities, oversized fields.
    """


class ModelError(PipelineError, RuntimeError):
    """A model cannot be loaded offline, or a saved model does not fit the data."""


class NothingIngestedError(PipelineError, RuntimeError):
    """Every source in the corpus was quarantined, or the corpus is empty."""
