"""The shape every step's summary record shares (for the manifest and console)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any


class StepSummary:
    """Mixin of the frozen dataclasses that the steps return.

    A step returns a typed record of what it did; the manifest and the console
    take it as a JSON-ready dictionary from :meth:`as_dict`.
    """

    def as_dict(self) -> dict[str, Any]:
        """The record's fields as a JSON-ready dictionary."""
        return asdict(self)  # type: ignore[call-overload]
