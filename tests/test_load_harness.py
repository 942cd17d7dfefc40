"""The load harness (benchmarks/load) end to end: a short run against PostgreSQL, with no
failed request, and every submission locust made found in the database exactly once.

It takes about two minutes (the database is prepared as ``make database`` does) and needs
the ``bench`` extra (locust), PostgreSQL and Redis (or ``redis-server``), so it runs only
when asked: ``LOAD_SMOKE=1 .venv/bin/python -m pytest tests/test_load_harness.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    os.environ.get("LOAD_SMOKE") != "1",
    reason="the load harness's smoke run takes minutes: set LOAD_SMOKE=1 to run it",
)


def _server_url() -> str:
    """The PostgreSQL server of the tests' database, else the one on 127.0.0.1:5432."""
    url = os.environ.get("PORTAL_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/x")
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_a_short_run_files_every_submission_once(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    done = subprocess.run(
        [
            sys.executable,
            "benchmarks/load/run.py",
            "--duration",
            "20",
            "--users",
            "8",
            "--spawn-rate",
            "8",
            "--think",
            "0.3",
            "--web-workers",
            "2",
            "--personas",
            "1000",
            "--database",
            "load_smoke",
            "--pg-url",
            _server_url(),
            "--json",
            str(figures),
        ],  # fmt: skip
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| journey steps/s |" in done.stdout  # the Markdown block
    results = json.loads(figures.read_text())
    load, checks = results["load"], results["database"]["checks"]
    assert load["failures"] == 0, load["errors"]
    assert load["counts"]["journey_steps"] > 0
    sent = load["counts"]["submissions"]
    assert sent > 0
    assert checks["submitted_by_locust"] == checks["distinct_cases"] == sent
    assert checks["submitted_in_database"] == sent
    assert results["database"]["new_submitted_cases"] == sent
    assert checks["receipts_found"] == checks["receipts_read"] > 0
    assert checks["duplicated_receipt_numbers"] == 0
    # The job worker's session below the web's, as the unit's CPUWeight puts it (autogroup).
    if Path("/proc/self/autogroup").exists():
        assert [group.endswith(" nice 10") for group in results["worker_autogroups"]] == [True]
