"""Found mentions kept per document, so a rerun parses only new interviews.

Parsing participant speech with spaCy is most of the network step's time.
Mentions are found one document at a time (a rejection said later in a turn
reaches back only within the document), so each document's mentions are
kept in ``<runs>/.cache/network/<finder key>/<document key>.json``
(:func:`~pipeline.store.cache_keys.network_mentions_dir`). The document key
hashes the document's participant rows (ids, offsets, text, question, turn);
the finder key, the gazetteer, spaCy model and code. Keeping, resolving,
corrections and the graph are made again on every run from all mentions:
they depend on the whole corpus and are cheap.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pyarrow as pa

from pipeline.network.mentions import Mention, MentionFinder

logger = logging.getLogger(__name__)

_KEY_COLUMNS = ("document_id", "segment_id", "start", "text", "question", "turn_index")


def _document_key(rows: dict[str, list]) -> str:
    """A hash of one document's participant rows (the columns the finder reads)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([rows[c] for c in _KEY_COLUMNS]).encode("utf-8"))
    return digest.hexdigest()[:24]


def _runs(ids: list[str]) -> list[tuple[str, int, int]]:
    """Runs of adjacent rows of one document: its id, first row, number of rows."""
    runs = []
    start = 0
    for row in range(1, len(ids) + 1):
        if row == len(ids) or ids[row] != ids[start]:
            runs.append((ids[start], start, row - start))
            start = row
    return runs


class CachedMentionFinder:
    """A :class:`MentionFinder` whose mentions are kept per document on disk.

    Same ``find`` as the finder it wraps; the finder (and its spaCy parser) is
    made only when a document is not in the cache.

    Args:
        make_finder: Builds the finder when first needed.
        folder: The cache folder of this finder's settings.
    """

    def __init__(self, make_finder: Callable[[], MentionFinder], folder: Path) -> None:
        self.make_finder = make_finder
        self.folder = Path(folder)
        self.n_found = 0
        self.n_reused = 0
        self._finder: MentionFinder | None = None

    def find(self, segments: pa.Table, *, batch_size: int = 256) -> list[Mention]:
        """Every candidate mention in the segments, in document and text order.

        Args:
            segments: Participant segment rows, in document and text order.
            batch_size: Texts per ``nlp.pipe`` batch (new documents only).

        Returns:
            The mentions, as :meth:`MentionFinder.find` gives them.
        """
        ids = segments.column("document_id").to_pylist()
        found_runs = _runs(ids)
        if len(found_runs) != len(set(ids)):  # a document in two places: no cache
            return self._inner().find(segments, batch_size=batch_size)
        runs = {document_id: (start, n) for document_id, start, n in found_runs}
        order = list(runs)
        keys: dict[str, str] = {}
        cached: dict[str, list[Mention]] = {}
        for document_id, (start, length) in runs.items():
            rows = segments.slice(start, length).select(_KEY_COLUMNS).to_pydict()
            keys[document_id] = _document_key(rows)
            found = self._read(keys[document_id])
            if found is not None:
                cached[document_id] = found
        missing = [d for d in order if d not in cached]
        if missing:
            new_rows = pa.concat_tables(segments.slice(*runs[d]) for d in missing)
            found = self._inner().find(new_rows, batch_size=batch_size)
            by_document: dict[str, list[Mention]] = {d: [] for d in missing}
            for mention in found:
                by_document[mention.document_id].append(mention)
            for document_id, mentions in by_document.items():
                self._write(keys[document_id], mentions)
            cached.update(by_document)
        self.n_found, self.n_reused = len(missing), len(order) - len(missing)
        logger.info(
            "network: %d documents parsed, %d from the cache",
            self.n_found,
            self.n_reused,
        )
        return [mention for document_id in order for mention in cached[document_id]]

    def _inner(self) -> MentionFinder:
        if self._finder is None:
            self._finder = self.make_finder()
        return self._finder

    def _read(self, key: str) -> list[Mention] | None:
        path = self.folder / f"{key}.json"
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # missing or damaged: found again
        return [Mention(**row | {"purposes": tuple(row["purposes"])}) for row in rows]

    def _write(self, key: str, mentions: list[Mention]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{key}.json"
        partial = path.with_suffix(".partial")
        partial.write_text(
            json.dumps([asdict(mention) for mention in mentions]), encoding="utf-8"
        )
        partial.replace(path)  # whole or not at all
