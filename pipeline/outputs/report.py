"""The run report: one self-contained HTML file a researcher can open and share.

``report.html`` holds, from a run folder's files:

- corpus overview: documents, segments, speakers, metadata groups, quarantined
  files and notes;
- theme prevalence by metadata group: a heatmap of the share of segments with
  each code in each group (Wilson 95% intervals in the hover and the table),
  the quotes behind a cell a click away;
- topics: sizes, words, representative quotes, topics per group;
- agreement with human codes: a headline per unit with each coder's share of
  units coded side by side (a near-empty coder is flagged, never shown as
  agreeing) and the auto-coder's share of segments coded with its coverage
  warnings; then per code and unit, with intervals, flags and the
  human-vs-human ceiling, and the learning curve of a trained model;
- disagreements to review, in review order, with quotes and the nearest
  human-coded examples;
- the codebook: each code's definition, include and exclude notes, examples;
- provenance: config, codebook, model cards, versions, timings.

It works offline: plotly's JavaScript is embedded once, nothing is linked.
Every piece of transcript text goes through Jinja's autoescaping (or
``textContent`` in the small click handler), so a transcript holding
``<script>`` shows as text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from pipeline.agreement.run_inputs import read_card
from pipeline.outputs.report_figures import (
    ReportFigure,
    learning_curve_figure,
    render_figures,
)
from pipeline.outputs.report_network import network_section
from pipeline.outputs.report_sections import (
    agreement_section,
    auto_coverage,
    blank,
    codebook_view,
    named,
    overview_view,
    prevalence_section,
    topic_card,
    topics_section,
)
from pipeline.outputs.run_tables import (
    document_metadata_columns,
    read_optional_json,
    read_run_table,
    run_code_names,
)
from pipeline.records import segment_metadata
from pipeline.store import run_files
from pipeline.store.run_folder import RunFolder

TEMPLATE = Path(__file__).parent / "templates" / "report.html.j2"
MAX_DISAGREEMENTS = 40


def report_context(
    run_dir: str | Path,
    *,
    extra_figures: list | None = None,
    code_names: Mapping[str, str] | None = None,
    codebook=None,
) -> dict[str, Any]:
    """Everything the template shows, from a run folder's files.

    Args:
        run_dir: The run folder.
        extra_figures: ``(title, figure)`` pairs to add to the agreement section.
        code_names: Code id to the name shown (default: the names the run's
            coder recorded; a code without one shows its id).
        codebook: The run's :class:`~pipeline.coding.codebook_records.Codebook`,
            for the codebook section (without it the section says so).

    Returns:
        The template's variables.
    """
    folder = RunFolder.existing(run_dir)
    manifest = folder.manifest()
    names = dict(run_code_names(folder) if code_names is None else code_names)

    def name_of(code: Any) -> str:
        return names.get(str(code), str(code))

    # the columns the report shows or groups by: not the documents' texts and
    # turns (at 100,000 comments their turns alone were a Python dict each)
    documents_table = folder.documents(
        columns=["document_id", "format", *document_metadata_columns(folder)]
    )
    segments_table = folder.segments(
        columns=["document_id", "segment_id", "role", "text"]
    )
    segments = segments_table.to_pandas()
    metadata = segment_metadata(segments_table, documents_table)
    documents = documents_table.to_pandas()
    texts = dict(
        zip(segments["segment_id"].tolist(), segments["text"].tolist(), strict=True)
    )

    prevalence = prevalence_section(
        folder,
        documents=documents,
        segments=segments,
        metadata=metadata,
        texts=texts,
        names=names,
        name_of=name_of,
    )
    topics = topics_section(folder, manifest, texts)
    agreement = agreement_section(folder, names)
    network = network_section(folder, documents_table, texts)
    figures = [
        *prevalence.figures,
        *topics.figures,
        *network.figures,
        *agreement.figures,
    ]
    disagreements = named(read_run_table(folder, "disagreements.csv"), names)
    model_card = read_card(manifest.get("config", {}).get("classify", {}).get("model"))
    if model_card is not None:
        curve = pd.DataFrame(model_card.get("learning_curve", []))
        if len(curve):
            figures.append(
                ReportFigure(
                    "agreement",
                    "Learning curve of the trained model",
                    learning_curve_figure(curve, name_of),
                )
            )
    for title, figure in extra_figures or []:
        figures.append(ReportFigure("agreement", title, figure))
    rendered = render_figures(figures)

    return {
        "manifest": manifest,
        "overview": overview_view(manifest, documents, segments, metadata),
        "figures": rendered,
        "has_plotly": bool(rendered),
        "prevalence": {
            c: t.to_dict(orient="records") for c, t in prevalence.tables.items()
        },
        "quotes_json": json.dumps(prevalence.quotes, ensure_ascii=False).replace(
            "</", "<\\/"
        ),
        "topics": topics.view,
        "network": network.view,
        "agreement": agreement.view,
        "disagreements": None
        if disagreements is None
        else blank(disagreements.head(MAX_DISAGREEMENTS)).to_dict(orient="records"),
        "n_disagreements": 0 if disagreements is None else len(disagreements),
        "disagreement_kinds": {}
        if disagreements is None or "kind" not in disagreements
        else disagreements["kind"].value_counts().to_dict(),
        "coverage": auto_coverage(manifest),
        "codebook": codebook_view(codebook),
        "classifier": read_optional_json(folder, run_files.CLASSIFIER),
        "model_card": model_card,
        "config_yaml": _yaml(manifest.get("config", {})),
        "topic_card": topic_card(manifest),
    }


def _yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True)


def render_report(run_dir: str | Path, **options) -> str:
    """The report of a run as an HTML string."""
    # heavy: kept out of start-up
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE.parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["pct"] = lambda v: "" if v in ("", None) else f"{float(v):.0%}"
    environment.filters["pct1"] = lambda v: (
        "" if v in ("", None) or v != v else f"{float(v):.1%}"
    )
    environment.filters["num"] = lambda v: (
        "" if v in ("", None) or v != v else f"{float(v):.2f}"
    )
    return environment.get_template(TEMPLATE.name).render(
        **report_context(run_dir, **options)
    )


def write_report(
    run_dir: str | Path, out_dir: str | Path | None = None, **options
) -> Path:
    """Write ``report.html`` (into ``out_dir``, default the run folder)."""
    html = render_report(run_dir, **options)
    return RunFolder(out_dir or run_dir).write_text("report.html", html)
