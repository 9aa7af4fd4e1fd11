"""Cross-validation folds that keep each document (or respondent) together.

Every segment of a group falls in the same fold, so no text is in both the
training and the test part of a fold. Used by the supervised classifier's
cross-validation and by the zero-shot coder's cross-fitted keyword models.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.errors import ModelError


def grouped_folds(
    groups: Sequence, n_splits: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds that never split a group (document or respondent).

    Args:
        groups: Group of each segment.
        n_splits: Folds wanted (fewer when there are fewer groups).

    Returns:
        ``(train_indices, test_indices)`` pairs.

    Raises:
        ModelError: Fewer than two groups.
    """
    # heavy: kept out of start-up
    from sklearn.model_selection import GroupKFold

    groups = np.asarray(groups)
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise ModelError(
            f"cross-validation needs at least two documents (or groups); got {n_groups}"
        )
    return list(
        GroupKFold(n_splits=min(n_splits, n_groups)).split(groups, groups=groups)
    )
