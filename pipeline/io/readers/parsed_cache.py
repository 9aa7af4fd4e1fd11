"""Parsed documents kept between runs, so an unchanged file is not parsed again."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

from pipeline.io.readers.base import ParsedDocument
from pipeline.records import Turn
from pipeline.store.permissions import file_mode

logger = logging.getLogger(__name__)


class ParsedCache:
    """Parsed documents kept between runs, by file content and ingest settings.

    One JSON file per parsed document under ``folder``; written atomically.


    Args:
        folder: Where the cache lives (``runs/.cache/parsed`` in a run).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def get(self, key: str, source: str) -> ParsedDocument | None:
        """Return the parsed document cached under ``key``, or None."""
        path = self.folder / f"{key}.json"
        if not path.is_file():
            return None
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw["sha256"] != _text_digest(raw["text"], raw["turns"]):
                raise ValueError("checksum")
            return ParsedDocument(
                text=raw["text"],
                turns=tuple(Turn(**turn) for turn in raw["turns"]),
                encoding=raw["encoding"],
                notes=tuple(raw["notes"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            # a damaged entry (truncated, or not what put wrote) is parsed again
            logger.debug("ingest: a damaged parse cache entry is parsed again")
            return None

    def put(self, key: str, parsed: ParsedDocument) -> None:
        """Cache a parsed document under ``key``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        turns = [asdict(turn) for turn in parsed.turns]
        raw = {
            "text": parsed.text,
            "turns": turns,
            "encoding": parsed.encoding,
            "notes": list(parsed.notes),
            "sha256": _text_digest(parsed.text, turns),
        }
        handle, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(raw, stream)
        os.chmod(tmp, file_mode())
        os.replace(tmp, self.folder / f"{key}.json")


def _text_digest(text: str, turns: list) -> str:
    """Checksum of a parsed document's text and turns (a cache entry verifies it)."""
    digest = hashlib.sha256(text.encode("utf-8"))
    digest.update(json.dumps(turns, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()
