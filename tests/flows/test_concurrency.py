"""Runs started together: one at a time on the store, each saying why it waits.

Two locks are involved: the store's (``<database>.lock``, held for a whole
run) and the one under which Prefect's temporary server starts and migrates
its database in ``PREFECT_HOME`` (``themes-server.lock``). A run that has to
wait for either logs one warning naming the holder; the store's wait ends in
exit status 4 after ``store.lock_timeout_seconds``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import filelock
import pytest

from pipeline.errors import StoreBusyError
from pipeline.store.database import ResultsStore
from tests.conftest import ROOT
from tests.flows.test_orchestration import THEMES, environment, write_config

WAITING = re.compile(r"waiting for (.+?) to release the store (\S+)")
SERVER_WAITING = re.compile(r"waiting for .+? to finish starting Prefect's server")


def waiting_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if WAITING.search(r.getMessage())]


def test_a_run_waiting_for_the_store_names_the_holder_then_stops_after_the_timeout(
    tmp_path, caplog
):
    database = tmp_path / "store" / "themes.duckdb"
    waiter = ResultsStore(database, lock_timeout=0.2)
    with ResultsStore(database).lock(run_id="20250101-000000-abcd"):
        with (
            caplog.at_level(logging.WARNING, logger="pipeline.store.locking"),
            pytest.raises(
                StoreBusyError,
                match=r"another run is using the results store .* \(run "
                r"20250101-000000-abcd \(pid \d+\)\) and did not finish within 0.2 s",
            ),
            waiter.lock(run_id="second"),
        ):
            pass
    assert waiting_messages(caplog) == [
        f"waiting for run 20250101-000000-abcd (pid {os.getpid()}) to release the "
        f"store {database} (up to 0.2 s)"
    ]


def test_a_run_waiting_for_the_store_goes_on_once_it_is_released(tmp_path, caplog):
    database = tmp_path / "themes.duckdb"
    holder_file = tmp_path / "themes.duckdb.lock.json"
    taken, released = threading.Event(), threading.Event()

    def hold() -> None:
        with ResultsStore(database).lock(run_id="first"):
            taken.set()
            time.sleep(0.5)
        released.set()

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait(timeout=10)
    with caplog.at_level(logging.WARNING, logger="pipeline.store.locking"):
        with ResultsStore(database, lock_timeout=30).lock(run_id="second"):
            assert released.is_set()
            assert json.loads(holder_file.read_text())["run_id"] == "second"
    holder.join()
    assert len(waiting_messages(caplog)) == 1
    assert "waiting for run first (pid" in waiting_messages(caplog)[0]
    assert not holder_file.exists()


def test_a_holder_record_left_by_a_dead_process_names_no_run(tmp_path, caplog):
    database = tmp_path / "themes.duckdb"
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / "themes.duckdb.lock.json").write_text(
        json.dumps({"run_id": "gone", "pid": dead.pid, "host": os.uname().nodename})
    )
    with filelock.FileLock(str(database) + ".lock"):
        with (
            caplog.at_level(logging.WARNING, logger="pipeline.store.locking"),
            pytest.raises(StoreBusyError),
            ResultsStore(database, lock_timeout=0.1).lock(),
        ):
            pass
    assert waiting_messages(caplog)[0].startswith(
        "waiting for another run to release the store"
    )


def test_a_run_waits_for_another_run_starting_prefects_server_then_stops_clearly(
    tmp_path, monkeypatch, caplog
):
    from flows.api_server import TemporaryServer

    home = tmp_path / "prefect-home"
    home.mkdir()
    monkeypatch.setenv("PREFECT_HOME", str(home))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    (home / "themes-server.lock.json").write_text(json.dumps({"pid": 4242}))
    with filelock.FileLock(str(home / "themes-server.lock")):
        server = TemporaryServer(boot_timeout=0.2)
        try:
            assert server.process is None  # no second migration while one runs
            assert not server.ready()  # so a run preloads no further
            with (
                caplog.at_level(logging.WARNING, logger="flows.api_server"),
                pytest.raises(StoreBusyError, match="the run in process 4242"),
            ):
                server.wait()
            assert server.process is None
        finally:
            server.stop()
    assert (
        f"waiting for the run in process 4242 to finish starting Prefect's server in "
        f"{home}" in caplog.text
    )


def test_the_temporary_server_skips_automations_and_block_registration_unless_asked(
    tmp_path, monkeypatch
):
    import flows.api_server as api_server

    spawned: list[dict[str, str]] = []

    class Recorder:
        def __init__(self, args, *, env, stdin):
            spawned.append(env)

    monkeypatch.setattr(api_server.subprocess, "Popen", Recorder)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_API_BLOCKS_REGISTER_ON_START", "true")
    server = api_server.TemporaryServer()
    try:
        (env,) = spawned
        assert env["PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED"] == "false"
        assert env["PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION"] == "false"
        assert env["PREFECT_API_BLOCKS_REGISTER_ON_START"] == "true"  # the user's
        assert env["PREFECT__SERVER_EPHEMERAL"] == "1"
        assert "PREFECT_API_URL" not in env
    finally:
        server.process = None
        server.stop()


@pytest.mark.slow
def test_runs_started_together_on_a_new_store_proceed_or_wait_visibly(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("M01.txt", "M04.txt", "M07.txt", "M10.txt", "metadata.csv"):
        shutil.copy(ROOT / "examples" / "nhs_managers" / name, corpus / name)
    config = write_config(tmp_path, corpus, topics=False)
    database = tmp_path / "store" / "themes.duckdb"
    processes = [
        subprocess.Popen(
            [THEMES, "run", "--config", str(config), "--out", str(tmp_path / f"r{i}")],
            cwd=ROOT,
            env=environment(tmp_path, shared_server=False),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    finished = [(p.communicate(timeout=900), p.returncode) for p in processes]

    codes = [code for _, code in finished]
    assert set(codes) <= {0, 4} and 0 in codes, codes
    run_ids = {
        manifest["run_id"]
        for manifest in (
            json.loads(path.read_text()) for path in tmp_path.glob("r*/manifest.json")
        )
    }
    assert len(run_ids) == codes.count(0)
    n_waited = 0
    for (stdout, stderr), code in finished:
        output = stdout + stderr
        assert "Traceback" not in output and "duplicate column" not in output, output
        n_waited += len(SERVER_WAITING.findall(stderr))
        waits = WAITING.findall(stderr)
        assert len(waits) <= 1, stderr  # said once, when the wait starts
        if code == 4:
            assert waits, stderr
        for holder, path in waits:
            n_waited += 1
            assert path == str(database)
            named = re.fullmatch(r"run (\S+) \(pid \d+\)", holder)
            assert named and named.group(1) in run_ids, holder
            assert named.group(1) not in stdout  # a run never waits for itself
    # four runs started at once: at least one waits, and says so: for the
    # store, or (short runs, one after the other) for a server's start
    assert n_waited >= 1
    assert not Path(str(database) + ".lock.json").exists()
