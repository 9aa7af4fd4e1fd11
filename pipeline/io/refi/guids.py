"""The GUIDs of an exported project, and how its auto-coders are known again.

Every GUID :func:`~pipeline.io.refi.write.write_project` writes is a UUID 5 of
a stable name in :data:`GUID_NAMESPACE`, so the same inputs give the same
GUIDs; a code read from a REFI-QDA codebook keeps its own (:func:`code_guid`).
Auto-coders are named ``auto: <model> (run <run id>)`` and get GUIDs of their
own kind, so :func:`is_auto_coder` tells them from people when the project
comes back as human codes.
"""

from __future__ import annotations

import re
import uuid

#: Namespace of every GUID an export writes: the same inputs give the same GUIDs.
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:transcript-themes:refi-qda")

#: How the exporter names an auto-coder user: ``auto: <model> (run <run id>)``.
AUTO_CODER_NAME = re.compile(r"auto: .+ \(run [^()]+\)")
_GUID = re.compile(
    r"(\{)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}(?(1)\})"
)


def auto_coder_name(model: str, run_id: str) -> str:
    """The user name the exporter gives an auto-coder (see :func:`is_auto_coder`)."""
    return f"auto: {model} (run {run_id})"


def is_auto_coder(guid: str, name: str) -> bool:
    """Whether a project's user is an auto-coder that an export wrote.

    :func:`~pipeline.io.refi.write.write_project` gives an auto-coder the GUID
    made from ``auto-coder`` and its name (a person's is made from ``user`` and
    the name, so a person is never taken for an auto-coder by GUID), and this
    tool names its auto-coders ``auto: <model> (run <run id>)``
    (:func:`auto_coder_name`). QDA tools keep user names but may make new
    GUIDs when they export the project again, so either is enough.

    Args:
        guid: The user's GUID.
        name: The user's name.

    Returns:
        True for an auto-coder of this tool.
    """
    return (
        guid.lower() == stable_guid("auto-coder", name)
        or AUTO_CODER_NAME.fullmatch(name) is not None
    )


def code_guid(code_id: str) -> str:
    """The GUID a code is exported with: its own when its id is one, else a UUID 5.

    A code read from a REFI-QDA codebook has its GUID as its id, which is
    kept, so a project exported and read back points at the same codes.
    """
    return code_id if _GUID.fullmatch(code_id) else stable_guid("code", code_id)


def stable_guid(kind: str, key: str) -> str:
    """A GUID for ``key`` among things of one ``kind``, as GUIDType wants it."""
    return str(uuid.uuid5(GUID_NAMESPACE, f"{kind}\x1f{key}"))
