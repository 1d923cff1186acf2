"""Each benchmark script runs once on tiny inputs, so it cannot rot (figures are not checked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_speed_benchmark_writes_its_table_and_json(tmp_path):
    out = tmp_path / "speed"
    subprocess.run([sys.executable, "bench/speed.py", "--models", "shallow", "--sizes", "64x48", "--repeats", "1",
                    "--batch", "2", "--out", str(out)], cwd=ROOT, check=True, timeout=300,
                   env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True)
    results = json.loads(out.with_suffix(".json").read_text())
    entry = results["models"]["shallow"]
    assert entry["end_to_end_s"]["64x48"] > 0 and entry["gflops"] > 0 and entry["parameters_m"] > 0
    assert entry["batched_photos_per_s"]["64x48"] > 0
    assert "| shallow |" in out.with_suffix(".md").read_text()


def test_memory_benchmark_measures_a_process_and_the_studio(tmp_path):
    out = tmp_path / "memory"
    subprocess.run([sys.executable, "bench/memory.py", "--models", "shallow", "--size", "64x48", "--app-size", "64x48",
                    "--clients", "2", "--out", str(out)], cwd=ROOT, check=True, timeout=300,
                   env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True)
    results = json.loads(out.with_suffix(".json").read_text())
    assert 50 < results["peak_mb"]["shallow"] < 5000
    assert results["app"]["clients"] == 2 and results["app"]["peak_mb"] > results["peak_mb"]["shallow"] / 2
    assert "| shallow |" in out.with_suffix(".md").read_text()
