"""Agreement with real human codes per answer: the World after Covid interviews.

``../shared/data/world_after_covid`` (MIT): 57 experts each answered the same
five questions; the authors' consensus codes mark themes per answer
(``<theme>_q<N>`` columns), and ``codebook.md`` defines each theme in prose
with example statements grouped by question.

The data are first handed over as a study team would (in a temporary folder,
never in the repository): one row per answer (``document_id`` ``<Name>-Q<N>``,
the answer, and its question, expert, gender, location and field as
metadata), the human codes in long format (``document_id,code``) and a YAML
codebook made from ``codebook.md``. A code is a *theme*, not a
theme-by-question column: the codebook defines each theme once (its examples
come from several questions: *Solidarity* is coded in answers to Q1, Q2, Q4
and Q5), researchers code themes, and the question stays with the answer as
metadata. The 110 columns become 60 themes; the column names that differ from
the codebook's headings are matched by hand (:data:`ALIASES`).

Then the same coders as ``agreement_real.py`` (``benchmarks/_coders.py``),
with the default settings (sentences as segments): zero-shot from the
definitions alone (the codebook's example statements are quotes from these
very answers, so a codebook with them would score its own test data), and,
on the themes coded on at least 8 answers, zero-shot, the supervised coder
(the codes are per answer, so it learns and predicts per answer:
``classify.unit: auto``) and the two baselines, 5 folds grouped by expert.
"""

from __future__ import annotations

import csv
import re
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import _coders  # noqa: E402
from benchmarks._harness import SHARED, Results  # noqa: E402

WAC = SHARED / "world_after_covid"
QUESTIONS = 5

ALIASES = {
    "improved care for elders": "improve care for elders",
    "improved work-life balance": "improve work-life balance",
    "increased interest in science": "interest in science",
    "learning from pandemics": "learning from the pandemic(s)",
    "learning from the pandemics": "learning from the pandemic(s)",
    "bipartisanship and international cooperation": (
        "bipartisanship and political cooperation"
    ),
    "acknowledge of uncertainty/flexibility": "acknowledge uncertainty/flexibility",
    "balance of personal & others interest": "balance of personal and others' interest",
    "perspective taking": "perspective-taking",
    "self-reflection on what is important": "self-reflection on what's important",
    "career disruptions": "career disruption",
    "exacerbated social inequality": "social inequality",
    "misperception about the world": "misperception of the world",
    "intimate relations": "poor intimate relations",
    "long term orientation": "long-term orientation",
}
"""Theme names of ``codes.csv`` that differ from ``codebook.md``'s headings."""


def slug(name: str) -> str:
    """A YAML code id from a theme name: lower case, words joined by ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def read_codebook_md(path: Path) -> list[dict]:
    """Themes of ``codebook.md``: name, definition, examples and their questions."""
    themes: list[dict] = []
    current: dict | None = None
    field = None
    question = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip().replace("\\'", "'")
        if line.startswith("### "):
            current = {"name": line[4:].strip(), "definition": "", "examples": []}
            themes.append(current)
            field = question = None
        elif line.startswith("#"):
            current = field = None
        elif current is None:
            continue
        elif line.startswith("Definition:"):
            current["definition"] = line.removeprefix("Definition:").strip()
            field = "definition"
        elif re.fullmatch(r"\*\*Q\d\*\*", line):
            question = int(line[3])
            field = None
        elif line.startswith("* >") or line.startswith("*>"):
            current["examples"].append([question, line.split(">", 1)[1].strip()])
            field = "example"
        elif not line:
            if field == "definition":
                field = None
        elif field == "definition":
            current["definition"] += " " + line
        elif field == "example" and current["examples"]:
            current["examples"][-1][1] += " " + line
    for theme in themes:
        theme["examples"] = [
            (q, " ".join(text.split())) for q, text in theme["examples"] if text
        ]
        theme["definition"] = " ".join(theme["definition"].split())
    return themes


def write_codebook(themes: list[dict], path: Path, *, examples: bool) -> None:
    """A YAML codebook of the themes (with or without their example statements)."""
    import yaml  # heavy

    codes = []
    for theme in themes:
        code = {
            "id": slug(theme["name"]),
            "name": theme["name"],
            "definition": theme["definition"],
        }
        if examples:
            code["examples"] = [text for _, text in theme["examples"]]
        codes.append(code)
    path.write_text(
        yaml.safe_dump(
            {
                "name": "World after Covid themes",
                "version": "1.0",
                "source": "grossmania/wac codebook.md (MIT)",
                "codes": codes,
            },
            sort_keys=False,
            allow_unicode=True,
        ),
        encoding="utf-8",
    )


def question_texts(path: Path) -> dict[int, str]:
    """The five questions as asked, from ``codebook.md``."""
    text = path.read_text(encoding="utf-8")
    block = text.split("## Questions", 1)[1].split("*Themes below", 1)[0]
    found = re.findall(r"Q(\d)\.\s+(.*?)(?=\nQ\d\.|\Z)", block, flags=re.S)
    return {int(n): " ".join(q.split()) for n, q in found}


def hand_over(folder: Path) -> dict[str, Path]:
    """Write the data as a study team hands them over (see the module docstring).

    Returns:
        Paths of ``answers.csv``, ``codes.csv``, ``codebook.yaml`` (with
        examples) and ``codebook_definitions.yaml``.
    """
    themes = read_codebook_md(WAC / "codebook.md")
    by_name = {theme["name"].lower(): theme for theme in themes}
    questions = question_texts(WAC / "codebook.md")
    paths = {
        "answers": folder / "answers.csv",
        "codes": folder / "codes.csv",
        "codebook": folder / "codebook.yaml",
        "definitions": folder / "codebook_definitions.yaml",
    }
    with (WAC / "transcripts.csv").open(encoding="utf-8") as source:
        experts = list(csv.DictReader(source))
    with paths["answers"].open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["document_id", "text", "question", "question_text", "expert"]
            + ["Gender", "Location", "Field"]
        )
        for expert in experts:
            for n in range(1, QUESTIONS + 1):
                answer = (expert[f"Q{n}"] or "").strip()
                if answer:
                    writer.writerow(
                        [f"{expert['Name']}-Q{n}", answer, f"Q{n}", questions[n]]
                        + [expert["Name"], expert["Gender"]]
                        + [expert["Location"], expert["Field"]]
                    )
    with (WAC / "codes.csv").open(encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    with paths["codes"].open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["document_id", "code"])
        for row in rows:
            for column, value in row.items():
                if column == "Name" or value.strip() != "1":
                    continue
                theme, n = column.rsplit("_q", 1)
                name = ALIASES.get(theme.strip().lower(), theme.strip().lower())
                writer.writerow([f"{row['Name']}-Q{n}", by_name[name]["name"]])
    write_codebook(themes, paths["codebook"], examples=True)
    write_codebook(themes, paths["definitions"], examples=False)
    return paths


def main() -> None:
    """Hand the data over, code them, and record the figures."""
    from pipeline.config.run import load_config

    results = Results("world_after_covid")
    with tempfile.TemporaryDirectory() as tmp:
        paths = hand_over(Path(tmp))
        config = load_config(
            overrides={
                "ingest.corpus": str(paths["answers"]),
                "ingest.id_column": "document_id",
                "ingest.text_column": "text",
                "store.database": str(Path(tmp) / "themes.duckdb"),
                "classify.group_by": "expert",
                "classify.cv_folds": 5,
            }
        )
        study = _coders.prepare(
            "World after Covid", config, None, paths["codes"], paths["definitions"]
        )
        _coders.measure(results, study, [_coders.zero_shot], baselines=())
        trainable = replace(
            study.trainable(), label="World after Covid, themes on >= 8 answers"
        )
        _coders.measure(results, trainable, [_coders.zero_shot, _coders.supervised])
    results.save()


if __name__ == "__main__":
    main()
