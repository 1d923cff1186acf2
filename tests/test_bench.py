"""Each benchmark script runs once on tiny inputs, so it cannot rot (figures are not checked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import smooth_colour_photo
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def test_speed_benchmark_writes_its_table_and_json(tmp_path):
    out = tmp_path / "speed"
    subprocess.run([sys.executable, "bench/speed.py", "--models", "shallow", "--sizes", "64x48", "--repeats", "1",
                    "--batch", "2", "--out", str(out)], cwd=ROOT, check=True, timeout=300,
                   env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True)
    results = json.loads(out.with_suffix(".json").read_text())
    entry = results["models"]["shallow"]
    assert entry["end_to_end_s"]["64x48"] > 0 and entry["gflops"] > 0 and entry["parameters_m"] > 0
    assert entry["batched_size"] == "64x48" and entry["batched_photos_per_s"] > 0
    assert all(folder["photos_per_s"] > 0 and folder["start_up_s"] >= 0 for folder in entry["folder"].values())
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


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory) -> Path:
    """A few small colourful photos standing in for ../shared/data/val (and bw, and train)."""
    folder = tmp_path_factory.mktemp("photos")
    for seed in range(3):
        Image.fromarray(smooth_colour_photo(48, 64, seed)).save(folder / f"photo{seed}.png")
    return folder


def run_bench(*args: str) -> None:
    subprocess.run([sys.executable, *args], cwd=ROOT, check=True, timeout=300,
                   env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True)


def test_guided_benchmark_writes_the_hint_curve_speed_and_plot(tmp_path, photo_folder):
    out, plot = tmp_path / "guided", tmp_path / "hints.png"
    run_bench("bench/guided.py", "--models", "levin", "--val", str(photo_folder), "--size", "48", "--counts", "0", "20",
              "--repeats", "1", "--out", str(out), "--plot", str(plot))
    results = json.loads(out.with_suffix(".json").read_text())
    curve = results["curve"]["models"]["levin"]
    assert curve["20"]["psnr"] > curve["0"]["psnr"] == pytest.approx(results["curve"]["gray"], abs=0.01)
    assert results["seconds_1024x768"]["levin"] > 0
    assert Image.open(plot).size[0] > 300 and "| levin |" in out.with_suffix(".md").read_text()


def test_loader_benchmark_compares_cache_and_disk(tmp_path, photo_folder):
    out = tmp_path / "loader"
    run_bench("bench/loader.py", "--data", str(photo_folder), "--photos", "3", "--batches", "2", "--batch-size", "2",
              "--crop", "32", "--workers", "0", "--out", str(out))
    results = json.loads(out.with_suffix(".json").read_text())
    assert results["photos"] == 3 and set(results["crops_per_s"]) == {"cache, 0 workers", "no-cache, 0 workers"}
    assert all(value > 0 for value in results["crops_per_s"].values())


def test_quality_benchmark_writes_the_table_and_both_figures(tmp_path, photo_folder):
    out, figures = tmp_path / "quality", tmp_path / "figures"
    run_bench("bench/quality.py", "--models", "shallow", "--val", str(photo_folder), "--bw", str(photo_folder),
              "--size", "48", "--rows", "0", "1", "--bw-rows", "2", "--out", str(out), "--figures", str(figures),
              "--contact-models", "shallow", "shallow", "--contact-val", *sorted(path.stem for path in photo_folder.iterdir())[:2],
              "--contact-bw", "0")
    results = json.loads(out.with_suffix(".json").read_text())
    assert results["images"] == 3 and results["models"]["shallow"]["psnr"] > 0 and results["gray_baseline"]["psnr"] > 0
    assert "| gray baseline |" in out.with_suffix(".md").read_text()
    assert Image.open(figures / "comparison.png").size[0] > Image.open(figures / "bw-photos.png").size[0] / 2
    val_sheet, bw_sheet = Image.open(figures / "contact-val.jpg"), Image.open(figures / "contact-bw.jpg")
    assert val_sheet.size[0] > bw_sheet.size[0] and val_sheet.size[1] > bw_sheet.size[1]  # 3 vs 2 columns, 2 vs 1 rows


def test_backends_benchmark_times_eager_and_compile_and_checks_their_outputs(tmp_path):
    out = tmp_path / "backends"
    run_bench("bench/backends.py", "--models", "shallow", "--backends", "eager", "compile", "--photo", "64x48",
              "--repeats", "1", "--out", str(out))
    results = json.loads(out.with_suffix(".json").read_text())
    figures = results["models"]["shallow"]["backends"]
    assert figures["eager"]["forward_s"] > 0 and figures["eager"]["max_ab_difference"] == 0
    assert figures["compile"]["forward_s"] > 0 and figures["compile"]["max_ab_difference"] < 0.01
    assert "| shallow |" in out.with_suffix(".md").read_text()
