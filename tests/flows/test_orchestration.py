"""Orchestration: incremental reruns, cache invalidation, crash and resume,
concurrent runs, Dask, and a real Prefect server with served and deployed flows.

The flows run as the user runs them: the ``themes`` command in a subprocess,
Prefect's home in a temporary folder. The runs share one Prefect server on
loopback (``shared_prefect_server``) instead of each booting a temporary one;
``test_concurrency`` keeps testing that boot.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import ROOT, shared_prefect_server

THEMES = str(Path(sys.executable).parent / "themes")


def write_config(
    folder: Path, corpus: Path, *, extra: str = "", topics: bool = True
) -> Path:
    """A run's config for the subprocess tests (``topics``: whether to find them).

    Tests of locking, servers and executors leave topics out: each process
    would import BERTopic and fit, which is not what they test.
    """
    path = folder / "config.yaml"
    path.write_text(
        f"""
ingest:
  corpus: {corpus}
segment:
  spacy_model: 'blank:en'
embed:
  backend: hashing
topics:
  enabled: {str(topics).lower()}
  lemmatize: false
  rerank_words: false
  small_corpus: 100000   # k-means, not UMAP: no numba compiling in each process
  intertopic_map: false  # its UMAP too (the in-process flow tests draw it)
  model_dir: {folder / "models"}
classify:
  codebook: {ROOT / "config" / "codebooks" / "nhs_managers.yaml"}
network:
  enabled: false  # its parser too (tests/network and the report tests run it)
store:
  database: {folder / "store" / "themes.duckdb"}
  runs_dir: {folder / "store"}
{extra}
"""
    )
    return path


def environment(folder: Path, *, shared_server: bool = True) -> dict[str, str]:
    """The environment of a ``themes`` subprocess: its own Prefect home.

    With ``shared_server``, the process talks to the test session's Prefect
    server; without, it boots a temporary one as a user's first run does.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(folder / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        HF_HUB_OFFLINE="1",
    )
    if shared_server:
        env["PREFECT_API_URL"] = shared_prefect_server()
    return env


def themes(
    folder: Path, *args: str, timeout: float = 600
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [THEMES, *args],
        cwd=ROOT,
        env=environment(folder),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def manifest(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text())


@pytest.fixture()
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in ("M01.txt", "M04.txt", "M07.txt", "M10.txt", "metadata.csv"):
        shutil.copy(ROOT / "examples" / "nhs_managers" / name, folder / name)
    return folder


@pytest.mark.slow
def test_rerun_on_a_new_interview_processes_only_the_new_work(tmp_path, corpus):
    config = write_config(tmp_path, corpus)
    first = themes(
        tmp_path, "run", "--config", str(config), "--out", str(tmp_path / "r1")
    )
    assert first.returncode == 0, first.stderr
    again = themes(
        tmp_path, "run", "--config", str(config), "--out", str(tmp_path / "r2")
    )
    assert again.returncode == 0, again.stderr
    second = manifest(tmp_path / "r2")
    assert (
        second["counts"]["embedded"] == 0
        and second["counts"]["documents_segmented"] == 0
    )
    assert second["reused"] == {"ingest": True, "topics": True, "classify": True}
    assert "Reused from earlier runs: steps ingest, topics, classify" in " ".join(
        again.stdout.split()
    )
    # the same folder again: nothing is run (no Prefect, no new run id)
    unchanged = themes(
        tmp_path, "run", "--config", str(config), "--out", str(tmp_path / "r2")
    )
    assert unchanged.returncode == 0, unchanged.stderr
    assert "Nothing new" in unchanged.stdout
    assert manifest(tmp_path / "r2")["run_id"] == second["run_id"]

    shutil.copy(ROOT / "examples" / "nhs_managers" / "M12.vtt", corpus / "M12.vtt")
    third = themes(
        tmp_path, "run", "--config", str(config), "--out", str(tmp_path / "r3")
    )
    assert third.returncode == 0, third.stderr
    counts = manifest(tmp_path / "r3")["counts"]
    assert counts["documents"] == 5 and counts["new_documents"] == 1
    assert counts["documents_segmented"] == 1
    new_texts = pq.read_table(tmp_path / "r3" / "segments.parquet").to_pandas()
    assert 0 < counts["embedded"] <= (new_texts["document_id"] == "M12").sum()
    topics = manifest(tmp_path / "r3")["topics"]
    assert topics["method"] == "transform"
    auto = pq.read_table(tmp_path / "r3" / "auto_codes.parquet").to_pandas()
    assert "M12" in set(auto["document_id"])
    # earlier segments keep their codes; only M12's are scored, by the saved
    # keyword models
    n_first = manifest(tmp_path / "r1")["counts"]["segments"]
    assert manifest(tmp_path / "r3")["classify"]["keyword_models"] == {
        "action": "reused",
        "trained_on": n_first,
        "scored": int((new_texts["document_id"] == "M12").sum()),
    }
    before = pq.read_table(tmp_path / "r1" / "auto_codes.parquet").to_pandas()
    assert (
        auto[auto["document_id"] != "M12"]
        .reset_index(drop=True)
        .drop(columns="model")
        .equals(before.drop(columns="model"))
    )

    # a changed classify section reruns classification only
    changed = write_config(tmp_path, corpus, extra="execution:\n  text_batch: 500\n")
    config_text = changed.read_text().replace(
        "classify:\n", "classify:\n  margin: 0.05\n"
    )
    changed.write_text(config_text)
    fourth = themes(
        tmp_path, "run", "--config", str(changed), "--out", str(tmp_path / "r4")
    )
    assert fourth.returncode == 0, fourth.stderr
    assert manifest(tmp_path / "r4")["reused"] == {
        "ingest": True,
        "topics": True,
        "classify": False,
    }
    assert (
        manifest(tmp_path / "r4")["classify"]["keyword_models"]["action"] == "trained"
    )


def outputs(run: Path) -> dict[str, object]:
    import numpy as np

    return {
        "segments": pq.read_table(run / "segments.parquet").to_pandas(),
        "embeddings": np.load(run / "embeddings.npy"),
        "topics": pq.read_table(run / "segment_topics.parquet").to_pandas()
        if (run / "segment_topics.parquet").is_file()
        else None,
        "auto": pq.read_table(run / "auto_codes.parquet").to_pandas(),
    }


def assert_same_outputs(a: Path, b: Path) -> None:
    import numpy as np

    left, right = outputs(a), outputs(b)
    assert left["segments"].equals(right["segments"])
    np.testing.assert_array_equal(left["embeddings"], right["embeddings"])
    if left["topics"] is None or right["topics"] is None:
        assert left["topics"] is right["topics"]
    else:
        assert left["topics"].equals(right["topics"])
    assert (
        left["auto"]
        .drop(columns=["model"])
        .equals(right["auto"].drop(columns=["model"]))
    )


def store_counts(database: Path) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as connection:
        return {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("documents", "segments", "embeddings")
        }


@pytest.mark.slow
def test_run_killed_half_way_resumes_with_no_duplicates_and_the_same_outputs(
    tmp_path, corpus
):
    clean = tmp_path / "clean"
    clean.mkdir()
    reference = themes(
        clean,
        "run",
        "--config",
        str(write_config(clean, corpus)),
        "--out",
        str(clean / "run"),
    )
    assert reference.returncode == 0, reference.stderr

    crash = tmp_path / "crash"
    crash.mkdir()
    config = write_config(crash, corpus)
    process = subprocess.Popen(
        [THEMES, "run", "--config", str(config), "--out", str(crash / "killed")],
        cwd=ROOT,
        env=environment(crash),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 300
    while not (crash / "killed" / "embeddings.json").exists():
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the CLI and Prefect's temporary server
    process.wait()
    assert not (crash / "killed" / "manifest.json").exists()

    rerun = themes(crash, "run", "--config", str(config), "--out", str(crash / "rerun"))
    assert rerun.returncode == 0, rerun.stderr
    assert_same_outputs(clean / "run", crash / "rerun")
    assert store_counts(clean / "store" / "themes.duckdb") == store_counts(
        crash / "store" / "themes.duckdb"
    )
    import duckdb

    with duckdb.connect(
        str(crash / "store" / "themes.duckdb"), read_only=True
    ) as connection:
        statuses = sorted(
            s for (s,) in connection.execute("SELECT status FROM runs").fetchall()
        )
    assert statuses == ["completed", "interrupted"]


@pytest.mark.slow
def test_topics_beside_coding_on_dask_or_a_second_process_give_the_same_outputs(
    tmp_path, corpus
):
    def run(name: str, execution: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        config = write_config(folder, corpus, extra=f"execution:\n{execution}")
        done = themes(
            folder, "run", "--config", str(config), "--out", str(folder / "run")
        )
        assert done.returncode == 0, done.stderr
        return folder / "run"

    in_line = run("local", "  parallel_topics_from: null\n")
    # the topic step in a second process while this one codes
    beside = run("beside", "  parallel_topics_from: 1\n")
    # mapped batches and the topic step on the workers
    dask = run(
        "dask",
        "  executor: dask\n  dask_workers: 2\n  document_batch: 1\n  text_batch: 100\n",
    )
    for other in (beside, dask):
        assert_same_outputs(in_line, other)
        assert (
            manifest(other)["topics"]["n_topics"]
            == (manifest(in_line)["topics"]["n_topics"])
        )
        # the topic table too (labels, sizes, words)
        assert (other / "topics.csv").read_bytes() == (
            in_line / "topics.csv"
        ).read_bytes()
        assert {"topics", "classify"} <= set(manifest(other)["timings"])


@pytest.mark.slow
def test_a_second_run_on_a_busy_store_waits_or_stops_clearly(tmp_path, corpus):
    # with topics: the first run must still hold the store when the second starts
    config = write_config(tmp_path, corpus)
    first = subprocess.Popen(
        [THEMES, "run", "--config", str(config), "--out", str(tmp_path / "first")],
        cwd=ROOT,
        env=environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lock = tmp_path / "store" / "themes.duckdb.lock"
    deadline = time.time() + 120
    while not (tmp_path / "first" / "ingest.json").exists():
        assert time.time() < deadline and first.poll() is None
        time.sleep(0.05)
    impatient = tmp_path / "impatient.yaml"
    impatient.write_text(
        config.read_text().replace("store:\n", "store:\n  lock_timeout_seconds: 0.5\n")
    )
    second = themes(
        tmp_path, "run", "--config", str(impatient), "--out", str(tmp_path / "second")
    )
    assert second.returncode == 4
    assert "another run is using the results store" in second.stderr
    assert "waiting for run " in second.stderr  # said when the wait started
    assert "Traceback" not in second.stderr + second.stdout

    patient = themes(
        tmp_path, "run", "--config", str(config), "--out", str(tmp_path / "third")
    )
    assert first.wait(timeout=300) == 0
    assert patient.returncode == 0, patient.stderr
    assert manifest(tmp_path / "third")["status"] == "completed"
    assert lock.exists()


@pytest.fixture()
def prefect_server() -> str:
    """A real Prefect server on loopback (the session's shared one)."""
    return shared_prefect_server()


def trigger_and_wait(
    url: str, home: Path, deployment: str, timeout: float = 240
) -> str:
    code = (
        "from prefect.deployments import run_deployment\n"
        f"run = run_deployment({deployment!r}, timeout={timeout})\n"
        "print(run.state.name)\n"
    )
    env = environment(home) | {"PREFECT_API_URL": url}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout + 60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if the process is still shutting down after 30 s."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


@pytest.mark.slow
def test_served_and_deployed_flows_run_on_a_real_prefect_server(
    tmp_path, corpus, prefect_server
):
    config = write_config(tmp_path, corpus, topics=False)
    env = environment(tmp_path) | {"PREFECT_API_URL": prefect_server}
    served = subprocess.Popen(
        [THEMES, "serve", "--config", str(config), "--name", "test"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 120
        state = None
        while state is None:
            try:
                state = trigger_and_wait(
                    prefect_server, tmp_path, "theme_pipeline/test"
                )
            except AssertionError:
                assert time.time() < deadline, "the served deployment never appeared"
                time.sleep(2)
        assert state == "Completed"
    finally:
        stop_process_group(served)
    runs = [
        p for p in (tmp_path / "store").iterdir() if (p / "manifest.json").is_file()
    ]
    assert len(runs) == 1 and manifest(runs[0])["status"] == "completed"

    # the prefect.yaml deployment, run by a process worker
    deploy_env = env | {"THEMES_HOME": str(ROOT), "THEMES_CONFIG": str(config)}
    prefect = str(Path(sys.executable).parent / "prefect")
    for command in (
        [prefect, "work-pool", "create", "themes", "--type", "process"],
        [prefect, "--no-prompt", "deploy", "--name", "nightly"],
    ):
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=deploy_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    worker = subprocess.Popen(
        [prefect, "worker", "start", "--pool", "themes"],
        cwd=ROOT,
        env=deploy_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert (
            trigger_and_wait(prefect_server, tmp_path, "theme_pipeline/nightly")
            == "Completed"
        )
    finally:
        stop_process_group(worker)
    runs = [
        p for p in (tmp_path / "store").iterdir() if (p / "manifest.json").is_file()
    ]
    assert len(runs) == 2
