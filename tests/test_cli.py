"""Tests for the command lines, run as real subprocesses: ``python -m colorize`` and
``python -m colorize.evaluate``, against a checkpoints folder holding one tiny trained model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorize.__main__ import output_paths
from colorize.archs.shallow import ShallowColorizationNet
from colorize.files import default_jobs
from colorize.hub import save_pretrained
from colorize.zoo import DEFAULT_MODEL, MODELS

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED_MODELS = ["unet", "unet-gan", "autoencoder", "shallow", "cnn"]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """The subprocess environment: a checkpoints folder where only ``shallow`` has weights
    (the table's architecture and arguments, random values), and an empty offline Hub cache."""
    checkpoints = tmp_path_factory.mktemp("checkpoints")
    torch.manual_seed(0)
    save_pretrained(ShallowColorizationNet(), checkpoints / "shallow", {"arch": "shallow", "kwargs": MODELS["shallow"].kwargs, "working_size": 64})
    return {
        **os.environ,
        "COLORIZE_CHECKPOINTS": str(checkpoints),
        "HF_HUB_CACHE": str(tmp_path_factory.mktemp("hf-cache")),
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",  # the machine is shared; see conftest.py
    }


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


def colour_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x / width, y / height, 0.5 + 0 * x], axis=-1) * 230 + rng.integers(0, 25, (height, width, 3))
    return rgb.clip(0, 255).astype(np.uint8)


def test_list_models_shows_every_seed_model_and_which_are_ready(env):
    result = run(env, "-m", "colorize", "--list-models")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    rows = {line.split()[0]: line.split("\t") for line in lines}
    assert len(rows) == len(lines)  # one model per line
    assert set(SEED_MODELS) <= rows.keys()
    assert rows["shallow"][1] == "ready"
    for name in set(SEED_MODELS) - {"shallow"}:
        assert rows[name][1] == "not trained yet", name
    assert rows[DEFAULT_MODEL][0] == f"{DEFAULT_MODEL} (default)"
    assert rows["levin"][1:4:2] == ["ready", "guided"]  # nothing to train, takes hints only
    assert rows["unet-guided"][3] == "automatic+guided"


def test_colorize_folder_writes_good_photos_and_reports_the_broken_one(env, tmp_path):
    photos = tmp_path / "photos"
    (photos / "nested").mkdir(parents=True)
    Image.fromarray(colour_photo(61, 97)).save(photos / "street.jpg", quality=90)
    Image.fromarray(colour_photo(40, 30, seed=1)).convert("L").save(photos / "nested" / "portrait.png")
    good_jpeg = (photos / "street.jpg").read_bytes()
    (photos / "nested" / "broken.jpg").write_bytes(good_jpeg[: len(good_jpeg) // 2])
    out = tmp_path / "out"

    result = run(env, "-m", "colorize", str(photos), "--model", "shallow", "--out", str(out))

    assert result.returncode == 1
    assert "broken.jpg" in result.stderr
    assert sorted(path.name for path in out.iterdir()) == ["portrait.png", "street.png"]
    with Image.open(out / "street.png") as street, Image.open(out / "portrait.png") as portrait:
        assert (street.mode, street.size) == ("RGB", (97, 61))
        assert (portrait.mode, portrait.size) == ("RGB", (30, 40))


def test_worker_processes_write_the_same_files_as_one_process(env, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for seed in range(5):
        Image.fromarray(colour_photo(45 + seed, 70, seed=seed)).save(photos / f"photo{seed}.jpg", quality=90)
    (photos / "not-a-photo.jpg").write_bytes(b"hello")
    outputs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out-{jobs}"
        result = run(env, "-m", "colorize", str(photos), "--model", "shallow", "--out", str(out), "--jobs", jobs)
        assert result.returncode == 1 and "not-a-photo.jpg" in result.stderr and "Traceback" not in result.stderr
        assert "5 of 6 photos written" in result.stderr
        outputs[jobs] = {path.name: path.read_bytes() for path in out.iterdir()}
    assert len(outputs["1"]) == 5 and outputs["1"] == outputs["2"]


def test_big_batches_get_one_worker_per_core_and_small_ones_none():
    assert default_jobs(3, cores=2) == 1
    assert default_jobs(10_000, cores=2) == 2
    assert default_jobs(10_000, cores=1) == 1


def test_output_paths_never_overwrite_one_another(tmp_path):
    inputs = [Path("a/scan.jpg"), Path("a/scan.png"), Path("b/scan.jpg"), Path("a/a_scan_2.png"), Path("c/solo.tif")]
    targets = output_paths(inputs, tmp_path)
    assert len(set(targets.values())) == len(inputs)
    assert all(target.parent == tmp_path and target.suffix == ".png" for target in targets.values())
    assert targets[Path("c/solo.tif")] == tmp_path / "solo.png"
    assert targets[Path("b/scan.jpg")] == tmp_path / "b_scan.png"


def test_colorize_with_an_untrained_model_fails_with_a_plain_message(env, tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray(colour_photo(20, 20)).save(photo)
    out = tmp_path / "out"
    result = run(env, "-m", "colorize", str(photo), "--model", "unet", "--out", str(out))
    assert result.returncode == 1
    assert "not trained" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(out.glob("*.png"))


def test_evaluate_prints_json_with_model_and_gray_baseline_psnr(env, tmp_path):
    folder = tmp_path / "val"
    folder.mkdir()
    for seed in range(2):
        Image.fromarray(colour_photo(48, 64, seed=seed)).save(folder / f"photo{seed}.png")
    result = run(env, "-m", "colorize.evaluate", str(folder), "--model", "shallow", "--size", "32", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["images"] == 2 and report["size"] == 32
    model_psnr = report["models"]["shallow"]["model"]["psnr"]
    gray_psnr = report["gray_baseline"]["psnr"]
    assert isinstance(model_psnr, float) and isinstance(gray_psnr, float)
    assert 0 < model_psnr < 100 and 0 < gray_psnr < 100


def test_evaluate_samples_photos_and_scores_a_colour_strength(env, tmp_path):
    """``--sample 2`` scores two of the five photos; ``--saturation 0`` renders the gray
    baseline exactly, so the model's scores become the baseline's."""
    folder = tmp_path / "val"
    folder.mkdir()
    for seed in range(5):
        Image.fromarray(colour_photo(48, 64, seed=seed)).save(folder / f"photo{seed}.png")
    result = run(env, "-m", "colorize.evaluate", str(folder), "--model", "shallow", "--size", "32", "--json",
                 "--sample", "2", "--saturation", "0")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["images"] == 2
    model, gray = report["models"]["shallow"]["model"], report["gray_baseline"]
    assert model["psnr"] == pytest.approx(gray["psnr"]) and model["colourfulness"] == pytest.approx(gray["colourfulness"])
    vivid = json.loads(run(env, "-m", "colorize.evaluate", str(folder), "--model", "shallow", "--size", "32", "--json",
                           "--sample", "2").stdout)
    assert vivid["models"]["shallow"]["model"]["psnr"] != pytest.approx(gray["psnr"])


def test_importing_colorize_loads_neither_gradio_nor_the_training_code(env):
    code = (
        "import importlib.util, json, sys, colorize\n"
        "assert importlib.util.find_spec('train') is not None, 'train should be importable from the repo root'\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('gradio', 'train'))))\n"
    )
    result = run(env, "-c", code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
