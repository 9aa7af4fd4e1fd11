"""A million segments through the same flow on a local Dask cluster (issue 20).

``scale.py --n 1000000 --dask-workers 3``: the comments resampled as in
``scale.py``, the mapped steps (segmentation and embedding batches) and the
topic step on three Dask worker processes on this machine, the rest in the
flow's process. Printed: time per step, peak memory of the run's process and
of each worker. On request (``run_all.py scale_dask``): about an hour on
2 cores.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.scale import main  # noqa: E402

if __name__ == "__main__":
    main(["--n", "1000000", "--dask-workers", "3"])
