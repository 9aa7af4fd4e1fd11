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


class OutputFolderError(PipelineError, ValueError):
    """An output path cannot be used.

    A file, an impossible path, or a folder we did not make.
    """


class NothingIngestedError(PipelineError, RuntimeError):
    """Every source in the corpus was quarantined, or the corpus is empty."""


def error_place(error: BaseException) -> str:
    """Where an error was raised: ``"ValueError in export.py:41"`` (no message).

    The last frame in this project's code, else the last frame.
    """
    import traceback
    from pathlib import Path

    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/pipeline/" in f.filename or "/flows/" in f.filename]
    where = ours[-1] if ours else (frames[-1] if frames else None)
    place = f" in {Path(where.filename).name}:{where.lineno}" if where else ""
    return f"{type(error).__name__}{place}"


def describe_error(error: BaseException) -> str:
    """One line about an error that is safe to write to a manifest or a log.

    The project's own errors say what went wrong in words that never quote
    transcript text; any other error's message may (a library quoting the
    text it failed on), so only its type and the place it was raised are given.
    """
    if isinstance(error, PipelineError):
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"{error_place(error)} (message hidden: it may quote text)"
