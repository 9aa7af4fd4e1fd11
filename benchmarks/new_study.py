"""A new study out of the box: the think-aloud transcripts with their codebook.

The codebook is used as written.

``themes run`` in a fresh process, as a research team would first try it on
its own study: the 17 real think-aloud transcripts of
``../shared/data/usability_think_aloud`` (moderator labelled ``MODERATOR:``,
participant speech unlabelled), their CSV codebook (22 codes, descriptions
only) and their span-level human codes (``codes.csv``), exactly as they are:
no speaker settings, no renamed codes, no examples or keywords added. It
reports what a team would check first:

- every transcript ingested (none quarantined);
- every row of the codes file matched to a code as written (and by which rule);
- the share of segments the auto-coder coded beside the human coder's (the
  target: within a factor of three);
- agreement (pooled kappa per unit, mean per-code kappa at turns) of zero-shot
  coding from the definitions alone.

The data are GPL-3.0 and are read where they are, never copied.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import THINK_ALOUD, Figure, Results, themes_run  # noqa: E402


def main() -> None:
    results = Results("new_study")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        config = tmp / "config.yaml"
        config.write_text(
            f"""
ingest:
  corpus: {THINK_ALOUD / "transcripts"}
topics:
  enabled: false
classify:
  codebook: {THINK_ALOUD / "codebook.csv"}
compare:
  codes: {THINK_ALOUD / "codes.csv"}
  n_boot: 200
store:
  database: {tmp / "store" / "themes.duckdb"}
  runs_dir: {tmp / "store"}
"""
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env |= {
            "PREFECT_HOME": str(tmp / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
        run = tmp / "run"
        seconds = themes_run(config, run, env)
        manifest = json.loads((run / "manifest.json").read_text())
        imported = json.loads((run / "codes_import.json").read_text())
        n_files = len(list((THINK_ALOUD / "transcripts").glob("*.txt")))
        results.add(
            Figure("transcripts ingested", manifest["counts"]["documents"], "documents")
        )
        results.add(Figure("transcripts in the study", n_files, "documents"))
        results.add(
            Figure("sources quarantined", manifest["counts"]["quarantined"], "")
        )
        codes_rows = len(pd.read_csv(THINK_ALOUD / "codes.csv"))
        results.add(Figure("rows of codes.csv used", imported["n_assignments"], "rows"))
        results.add(Figure("rows of codes.csv in the file", codes_rows, "rows"))
        for rule, count in (imported.get("code_matches") or {}).items():
            rows = (imported.get("code_match_rows") or {}).get(rule, 0)
            results.add(Figure(f"codes matched {rule}", count, "codes"))
            results.add(Figure(f"code rows matched {rule}", rows, "rows"))
        reasons = imported.get("unused_reasons") or {}
        for reason, count in reasons.items():
            results.note(f"rows not used: {reason}: {count}")

        n_segments = manifest["counts"]["segments"]
        compared = pq.read_table(run / "codes_compared.parquet").to_pandas()
        auto_any = compared.loc[compared["auto_assigned"], "segment_id"].nunique()
        human_any = compared.loc[compared["human_any"], "segment_id"].nunique()
        auto_share = auto_any / n_segments
        human_share = human_any / n_segments
        results.add(
            Figure(
                "share of segments coded, auto-coder",
                auto_share,
                "",
                baseline_name="share coded, human coder",
                baseline_value=human_share,
            )
        )
        agreement = pd.read_csv(run / "agreement.csv")
        auto = agreement[agreement["coder_b"] == "auto"]
        pooled = auto[auto["code"] == "(all codes)"]
        for row in pooled.itertuples():
            results.add(Figure(f"pooled kappa, {row.unit}", row.kappa, ""))
        per_code = auto[(auto["code"] != "(all codes)") & (auto["unit"] == "turns")]
        results.add(
            Figure(
                "mean per-code kappa at turns (zero-shot, definitions only)",
                float(np.nanmean(per_code["kappa"])),
                "",
            )
        )
        results.add(
            Figure("themes run, whole study", seconds, "s", higher_is_better=False)
        )
        results.note(
            f"{n_segments:,} segments; auto-coder coded {auto_any:,}, the human "
            f"coder {human_any:,} (segments overlapping a coded span enough: "
            "compare.min_segment_share / min_span_share)"
        )
    results.save()


if __name__ == "__main__":
    main()
