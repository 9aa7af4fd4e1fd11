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
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.coding.autocodes import read_assigned
from pipeline.store.database import RunFolder

logger = logging.getLogger(__name__)

TEMPLATE = Path(__file__).parent / "templates" / "report.html.j2"
MAX_QUOTES = 6
MAX_DISAGREEMENTS = 40


def wilson_interval(successes: int, n: int, *, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion (95% by default); (0, 0) when n is 0."""
    if n == 0:
        return 0.0, 0.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def prevalence_by_group(
    assigned: pd.DataFrame,
    codes: list[str],
    segments: pd.DataFrame,
    metadata: pd.DataFrame,
    column: str,
) -> pd.DataFrame:
    """Segments with each code in each group of a metadata column, with intervals.

    Args:
        assigned: The assigned rows of the auto-codes table
            (:func:`~pipeline.coding.autocodes.read_assigned`).
        codes: Every code, in table order.
        segments: The segment table (``segment_id``, ``text``, ...), in order.
        metadata: Per-segment metadata, aligned with ``segments``.
        column: The metadata column.

    Returns:
        ``group, code, n_segments, n_coded, share, share_low, share_high,
        n_documents, documents_with_code``.
    """
    groups = metadata[column].fillna("(missing)").to_numpy()
    group_of = dict(zip(segments["segment_id"], groups, strict=True))
    document_of = dict(
        zip(segments["segment_id"], segments["document_id"], strict=True)
    )
    rows = []
    sizes = pd.Series(groups).value_counts()
    documents_in = (
        pd.Series([document_of[s] for s in segments["segment_id"]], index=groups)
        .groupby(level=0)
        .nunique()
    )
    for group in sorted(sizes.index):
        in_group = assigned[assigned["segment_id"].map(group_of) == group]
        for code in codes:
            coded = in_group[in_group["code"] == code]
            n, k = int(sizes[group]), int(len(coded))
            low, high = wilson_interval(k, n)
            rows.append(
                {
                    "group": group,
                    "code": code,
                    "n_segments": n,
                    "n_coded": k,
                    "share": round(k / n, 4) if n else 0.0,
                    "share_low": round(low, 4),
                    "share_high": round(high, 4),
                    "n_documents": int(documents_in.get(group, 0)),
                    "documents_with_code": int(coded["document_id"].nunique()),
                }
            )
    return pd.DataFrame(rows)


def grouping_columns(documents: pd.DataFrame, metadata: pd.DataFrame) -> list[str]:
    """Metadata columns that make groups: 2 to 20 values, not one per document."""
    columns = []
    for column in metadata.columns:
        if column not in documents:
            continue
        n_values = documents[column].nunique()
        if 2 <= n_values <= 20 and n_values < len(documents):
            columns.append(column)
    return columns


def _read(folder: RunFolder, name: str) -> pd.DataFrame | None:
    from pipeline.outputs.export import read_output_csv

    path = folder.file(name)
    if not path.is_file():
        return None
    if name.endswith(".parquet"):
        return folder.read_parquet(name).to_pandas()
    return read_output_csv(path)


def _named(frame: pd.DataFrame | None, name_of) -> pd.DataFrame | None:
    """The table with ``code_name`` set from ``code`` (tables of older runs lack it)."""
    if frame is None or "code" not in frame:
        return frame
    return frame.assign(code_name=frame["code"].map(name_of))


def _records(frame: pd.DataFrame | None) -> list[dict]:
    return [] if frame is None else _blank(frame).to_dict(orient="records")


def _blank(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with missing values as empty strings (as the template shows them)."""
    return frame.astype(object).where(frame.notna(), "")


def _json_file(folder: RunFolder, name: str) -> Any:

    return folder.read_json(name) if folder.file(name).is_file() else None


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
        codebook: The run's :class:`~pipeline.coding.codebook.Codebook`, for the
            codebook section (without it the section says so).

    Returns:
        The template's variables.
    """
    import plotly.graph_objects as go
    import plotly.io as pio

    from pipeline.records import segment_metadata

    folder = RunFolder.existing(run_dir)
    manifest = folder.read_json("manifest.json")
    if code_names is None:
        classifier = _json_file(folder, "classifier.json") or {}
        code_names = classifier.get("code_names") or {}
    names = dict(code_names)

    def name_of(code: Any) -> str:
        return names.get(str(code), str(code))

    documents_table = folder.read_parquet("documents.parquet")
    segments_table = folder.read_parquet("segments.parquet")
    segments = segments_table.to_pandas()
    metadata = segment_metadata(segments_table, documents_table)
    documents = documents_table.to_pandas()
    meta_columns = [c for c in metadata.columns]
    figures: list[tuple[str, str, object]] = []  # (section, title, figure)

    overview = {
        "counts": manifest.get("counts", {}),
        "quarantined": manifest.get("quarantined", []),
        "anonymisation": manifest.get("anonymisation") or {},
        "notes": manifest.get("notes", []),
        "formats": documents["format"].value_counts().to_dict(),
        "roles": segments["role"].value_counts().to_dict(),
        "groups": {
            column: documents[column].fillna("(missing)").value_counts().to_dict()
            for column in meta_columns
            if column in documents
            and 1 <= documents[column].nunique() <= 20
            and (documents[column].nunique() < len(documents) or len(documents) == 1)
        },
    }

    prevalence_tables = {}
    quotes: dict[str, list[dict[str, str]]] = {}
    if folder.file("auto_codes.parquet").is_file():
        assigned, codes = read_assigned(folder)
        assigned = assigned.sort_values("score", ascending=False)
        texts = dict(zip(segments["segment_id"], segments["text"], strict=True))
        for column in grouping_columns(documents, metadata):
            table = prevalence_by_group(assigned, codes, segments, metadata, column)
            table = table.assign(code_name=table["code"].map(name_of))
            prevalence_tables[column] = table
            pivot = table.pivot(index="group", columns="code", values="share")[codes]

            hover = table.apply(
                lambda r: (
                    f"{r['n_coded']} of {r['n_segments']} segments "
                    f"({r['share']:.0%}, 95% CI "
                    f"{r['share_low']:.0%}-{r['share_high']:.0%}); "
                    f"in {r['documents_with_code']} of {r['n_documents']} documents"
                ),
                axis=1,
            )
            table = table.assign(hover=hover)
            hover_pivot = table.pivot(index="group", columns="code", values="hover")
            figure = go.Figure(
                go.Heatmap(
                    z=pivot.to_numpy(),
                    x=[name_of(code) for code in pivot.columns],
                    y=list(pivot.index),
                    customdata=hover_pivot.loc[pivot.index, pivot.columns].to_numpy(),
                    hovertemplate="%{y} / %{x}<br>%{customdata}<extra></extra>",
                    colorscale="Blues",
                    colorbar={"title": "share"},
                )
            )
            figure.update_layout(
                xaxis={"tickangle": -40},
                height=260 + 30 * len(pivot.index),
                margin={"b": 160},
            )
            figures.append(
                (
                    "prevalence",
                    f"Share of segments with each theme, by {column}",
                    figure,
                    column,
                )
            )
            group_of = dict(
                zip(
                    segments["segment_id"],
                    metadata[column].fillna("(missing)"),
                    strict=True,
                )
            )
            for (code, group), rows in assigned.groupby(
                [assigned["code"], assigned["segment_id"].map(group_of)], sort=False
            ):
                # keyed as the click handler sees a cell: by the name shown
                quotes[f"{column}\x1f{group}\x1f{name_of(code)}"] = [
                    {"id": s, "text": texts[s], "score": f"{sc:.2f}"}
                    for s, sc in zip(
                        rows["segment_id"][:MAX_QUOTES],
                        rows["score"][:MAX_QUOTES],
                        strict=True,
                    )
                ]

    topics = _read(folder, "topics.csv")
    topics_view = None
    if topics is not None:
        texts = dict(zip(segments["segment_id"], segments["text"], strict=True))
        shown = topics[topics["topic"] >= 0]
        topics_view = {
            "rows": [
                {
                    **row,
                    "quotes": [
                        texts.get(s, "")
                        for s in str(row["representative_ids"]).split(";")
                        if s
                    ],
                }
                for row in _blank(topics).to_dict(orient="records")
            ],
            "by_group": _read(folder, "topics_by_group.csv"),
            "message": (manifest.get("topics") or {}).get("message", ""),
        }
        if len(shown):
            figure = go.Figure(
                go.Bar(x=shown["size"], y=shown["label"], orientation="h")
            )
            figure.update_layout(
                yaxis={"autorange": "reversed"},
                height=220 + 26 * len(shown),
                xaxis_title="segments",
                margin={"l": 260},
            )
            figures.append(("topics", "Segments per topic", figure, None))

    agreement = _named(_read(folder, "agreement.csv"), name_of)
    agreement_view = None
    if agreement is not None:
        agreement = _blank(agreement)
        pooled = agreement[agreement["code"] == "(all codes)"]
        agreement_view = {
            "headline": agreement_headline(pooled),
            "pooled": pooled.to_dict(orient="records"),
            "rows": agreement[agreement["code"] != "(all codes)"].to_dict(
                orient="records"
            ),
            "human_alpha": _records(
                _named(_read(folder, "human_agreement.csv"), name_of)
            ),
            "import": _json_file(folder, "codes_import.json"),
        }
        auto_rows = pooled[pooled["coder_b"] == "auto"]
        human_rows = pooled[pooled["coder_b"] != "auto"]
        if len(auto_rows):
            figure = go.Figure()
            for label, rows in (
                ("auto vs human", auto_rows),
                ("human vs human", human_rows),
            ):
                if not len(rows):
                    continue
                kappa = pd.to_numeric(rows["kappa"], errors="coerce")
                low = pd.to_numeric(rows["kappa_low"], errors="coerce")
                high = pd.to_numeric(rows["kappa_high"], errors="coerce")
                figure.add_trace(
                    go.Bar(
                        name=label,
                        x=rows["unit"] + " (" + rows["coder_a"] + ")",
                        y=kappa,
                        error_y={
                            "type": "data",
                            "symmetric": False,
                            "array": high - kappa,
                            "arrayminus": kappa - low,
                        },
                    )
                )
            figure.update_layout(
                barmode="group",
                yaxis_title="Cohen's kappa (pooled over codes)",
                height=380,
            )
            figures.append(
                (
                    "agreement",
                    "Agreement with human codes, and the human ceiling",
                    figure,
                    None,
                )
            )

    disagreements = _named(_read(folder, "disagreements.csv"), name_of)
    model_card = None
    model_dir = manifest.get("config", {}).get("classify", {}).get("model")
    if model_dir and (Path(model_dir) / "card.json").is_file():
        model_card = json.loads(
            (Path(model_dir) / "card.json").read_text(encoding="utf-8")
        )
        curve = pd.DataFrame(model_card.get("learning_curve", []))
        if len(curve):
            figure = go.Figure()
            for code, rows in curve.groupby("code"):
                figure.add_trace(
                    go.Scatter(
                        x=rows["n_examples"],
                        y=rows["kappa"],
                        mode="lines+markers",
                        name=name_of(code),
                    )
                )
            figure.update_layout(
                xaxis_title="human-coded examples in training",
                yaxis_title="cross-validated kappa",
                height=420,
            )
            figures.append(
                ("agreement", "Learning curve of the trained model", figure, None)
            )
    for title, figure in extra_figures or []:
        figures.append(("agreement", title, figure, None))

    rendered = []
    for number, (section, title, figure, column) in enumerate(figures):
        div_id = f"figure-{number}"
        html = pio.to_html(
            figure,
            include_plotlyjs=number == 0,
            full_html=False,
            div_id=div_id,
            config={"displaylogo": False, "responsive": True},
        )
        rendered.append(
            {
                "section": section,
                "title": title,
                "html": html,
                "id": div_id,
                "column": column,
            }
        )

    return {
        "manifest": manifest,
        "overview": overview,
        "figures": rendered,
        "has_plotly": bool(rendered),
        "prevalence": {
            c: t.to_dict(orient="records") for c, t in prevalence_tables.items()
        },
        "quotes_json": json.dumps(quotes, ensure_ascii=False).replace("</", "<\\/"),
        "topics": topics_view,
        "agreement": agreement_view,
        "disagreements": None
        if disagreements is None
        else _blank(disagreements.head(MAX_DISAGREEMENTS)).to_dict(orient="records"),
        "n_disagreements": 0 if disagreements is None else len(disagreements),
        "disagreement_kinds": {}
        if disagreements is None or "kind" not in disagreements
        else disagreements["kind"].value_counts().to_dict(),
        "coverage": auto_coverage(manifest),
        "codebook": codebook_view(codebook),
        "classifier": _json_file(folder, "classifier.json"),
        "model_card": model_card,
        "config_yaml": _yaml(manifest.get("config", {})),
        "topic_card": _topic_card(manifest),
    }


def agreement_headline(pooled: pd.DataFrame) -> list[dict[str, Any]]:
    """The pooled rows as the headline reads them: shares side by side, flags.

    Args:
        pooled: The ``(all codes)`` rows of the agreement table, missing
            values as empty strings (tables of older runs may lack
            ``prevalence_a`` and ``prevalence_b``).

    Returns:
        Per row: ``unit``, ``coder_a``, ``coder_b``, ``auto`` (whether B is
        the auto-coder), ``share_a``, ``share_b`` (each coder's prevalence:
        the share of unit and code pairs it coded, the mean share of units
        per code), ``kappa`` (empty when undefined),
        ``kappa_low``, ``kappa_high``, ``undefined`` and ``flag``.
    """
    rows = []
    for row in pooled.to_dict(orient="records"):
        undefined = row.get("kappa", "") in ("", None)
        flag = str(row.get("flag", "") or "")
        if undefined and "undefined" not in flag:
            flag = "; ".join(filter(None, ["kappa undefined", flag]))
        rows.append(
            {
                "unit": row["unit"],
                "coder_a": row["coder_a"],
                "coder_b": row["coder_b"],
                "auto": row["coder_b"] == "auto",
                "share_a": row.get("prevalence_a", ""),
                "share_b": row.get("prevalence_b", ""),
                "kappa": row.get("kappa", ""),
                "kappa_low": row.get("kappa_low", ""),
                "kappa_high": row.get("kappa_high", ""),
                "undefined": undefined,
                "flag": flag,
            }
        )
    return rows


def auto_coverage(manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    """The auto-coder's share of segments coded and its warnings, from the manifest.

    Args:
        manifest: The run's ``manifest.json``.

    Returns:
        ``share_coded``, ``n_segments``, ``n_coded``, ``model`` and ``notes``,
        or None when the run did not auto-code.
    """
    classify = manifest.get("classify") or {}
    if "share_coded" not in classify:
        return None
    n_segments = int((manifest.get("counts") or {}).get("segments", 0))
    without = classify.get("segments_without_code")
    return {
        "share_coded": classify["share_coded"],
        "n_segments": n_segments,
        "n_coded": None if without is None else n_segments - int(without),
        "model": classify.get("model", ""),
        "notes": list(classify.get("notes") or []),
    }


def codebook_view(codebook) -> list[dict[str, Any]] | None:
    """The codebook's codes as the report lists them (None without a codebook)."""
    if codebook is None:
        return None
    return [
        {
            "id": code.id,
            "name": code.name,
            "parent": code.parent or "",
            "definition": code.definition,
            "include": list(code.include),
            "exclude": list(code.exclude),
            "examples": list(code.examples),
            "counter_examples": list(code.counter_examples),
            "keywords": list(code.keywords),
        }
        for code in codebook.codes
    ]


def _yaml(value: Any) -> str:
    import yaml

    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True)


def _topic_card(manifest: dict) -> dict | None:
    model_dir = (manifest.get("topics") or {}).get("model_dir")
    if model_dir and (Path(model_dir) / "card.json").is_file():
        card = json.loads((Path(model_dir) / "card.json").read_text(encoding="utf-8"))
        return {
            k: v
            for k, v in card.items()
            if k not in ("topics", "versions", "topics_config")
        }
    return None


def render_report(run_dir: str | Path, **options) -> str:
    """The report of a run as an HTML string."""
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
