"""Tests for colorize.hub: the weights folder format, strict loading, the model table's local
folders and Hugging Face Hub resolution from a real (pre-filled, offline) Hub cache."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import huggingface_hub.constants
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import colorize.zoo as zoo
from colorize.archs import build_architecture
from colorize.archs.shallow import ShallowColorizationNet
from colorize.errors import ColorizeError, WeightsNotFoundError
from colorize.hub import has_weights, load_model, save_pretrained, working_size_of
from colorize.zoo import MODELS, ModelSpec, register_model

TINY_CONFIG = {"arch": "shallow", "kwargs": {"width": 4}, "working_size": 64}
HUB_REPO = "colorize-tests/tiny-shallow"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(autouse=True)
def isolated_checkpoints(tmp_path: Path, monkeypatch) -> Iterator[Path]:
    """Every test sees an empty checkpoints folder of its own and a cold ``load_model`` cache.

    ``ModelSpec.local_dir`` reads ``colorize.zoo.CHECKPOINTS_DIR`` when it is called, so
    patching the module global redirects every table model.
    """
    checkpoints = tmp_path / "checkpoints"
    monkeypatch.setattr(zoo, "CHECKPOINTS_DIR", checkpoints)
    load_model.cache_clear()
    yield checkpoints
    load_model.cache_clear()


@pytest.fixture
def register() -> Iterator[Callable[..., ModelSpec]]:
    """Register temporary table rows (``arch="shallow"`` with width 4 unless told) and remove them afterwards."""
    added: list[str] = []

    def add(name: str, **fields) -> ModelSpec:
        fields = {"arch": "shallow", "kwargs": {"width": 4}, "working_size": 64, **fields}
        spec = register_model(ModelSpec(name=name, description="test model", reference="tests", good_at="-", bad_at="-", **fields))
        added.append(name)
        return spec

    yield add
    for name in added:
        MODELS.pop(name, None)


@pytest.fixture
def tiny_model() -> ShallowColorizationNet:
    torch.manual_seed(0)
    return ShallowColorizationNet(width=4).eval()


def sample_l() -> torch.Tensor:
    return torch.rand(2, 1, 24, 40, generator=torch.Generator().manual_seed(0)) * 100


def assert_same_outputs(loaded: torch.nn.Module, original: torch.nn.Module) -> None:
    """fp16 weights: outputs agree to a few hundredths of a Lab unit."""
    with torch.no_grad():
        assert torch.allclose(loaded(sample_l()), original(sample_l()), atol=0.05)


# --- Folder format and strict loading ---------------------------------------------------


def test_save_pretrained_writes_fp16_safetensors_config_and_card(tmp_path, tiny_model):
    folder = save_pretrained(tiny_model, tmp_path / "tiny", TINY_CONFIG, model_card="# tiny\n")
    assert json.loads((folder / "config.json").read_text()) == TINY_CONFIG
    assert (folder / "README.md").read_text() == "# tiny\n"
    state = load_file(folder / "model.safetensors")
    assert state.keys() == tiny_model.state_dict().keys()
    assert all(value.dtype == torch.float16 for value in state.values() if value.is_floating_point())
    with safe_open(folder / "model.safetensors", framework="pt") as weights:
        assert weights.metadata() == {"format": "pt"}


def test_save_pretrained_needs_the_architecture_in_the_config(tmp_path, tiny_model):
    with pytest.raises(ValueError, match="arch"):
        save_pretrained(tiny_model, tmp_path / "tiny", {"kwargs": {"width": 4}})


def test_load_model_from_folder_round_trips(tmp_path, tiny_model):
    folder = save_pretrained(tiny_model, tmp_path / "tiny", TINY_CONFIG)
    loaded = load_model(Path(folder))
    assert isinstance(loaded, ShallowColorizationNet) and not loaded.training
    for key, value in tiny_model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value.half().float()), key
    assert_same_outputs(loaded, tiny_model)
    assert load_model(Path(folder)) is loaded  # cached per process
    assert working_size_of(Path(folder)) == 64


def test_load_model_from_folder_without_weights_raises(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="model.safetensors"):
        load_model(tmp_path)


@pytest.mark.parametrize("damage", ["missing-key", "extra-key"])
def test_weights_with_missing_or_extra_keys_do_not_load(tmp_path, tiny_model, damage):
    folder = save_pretrained(tiny_model, tmp_path / "tiny", TINY_CONFIG)
    state = load_file(folder / "model.safetensors")
    if damage == "missing-key":
        del state["decoder.4.bias"]
    else:
        state["decoder.5.weight"] = torch.zeros(3, dtype=torch.float16)
    save_file(state, folder / "model.safetensors")
    with pytest.raises(ColorizeError, match="Missing key" if damage == "missing-key" else "Unexpected key"):
        load_model(Path(folder))


@pytest.mark.parametrize("table_name, config", [
    ("cnn", {"arch": "shallow", "kwargs": {}}),                 # another architecture
    ("shallow", {"arch": "shallow", "kwargs": {"width": 4}}),   # same class, other arguments
])
def test_table_model_refuses_weights_of_another_architecture(isolated_checkpoints, table_name, config):
    model = ShallowColorizationNet(**config["kwargs"])
    save_pretrained(model, isolated_checkpoints / table_name, config)
    with pytest.raises(ColorizeError, match=table_name) as error:
        load_model(table_name)
    assert not isinstance(error.value, WeightsNotFoundError)


def test_table_model_loads_from_its_local_folder(isolated_checkpoints, register, tiny_model):
    register("test-local")
    assert not has_weights("test-local")
    save_pretrained(tiny_model, isolated_checkpoints / "test-local", TINY_CONFIG)
    assert has_weights("test-local")
    assert_same_outputs(load_model("test-local"), tiny_model)


def test_table_model_with_tuple_arguments_loads_its_own_weights(isolated_checkpoints, register):
    # config.json turns the tuple into a list; the table row must still match its own weights.
    spec = register("test-tuple-kwargs", arch="autoencoder", kwargs={"widths": (4, 8, 16, 32)})
    model = build_architecture(spec.arch, **spec.kwargs).eval()
    save_pretrained(model, spec.local_dir, {"arch": spec.arch, "kwargs": spec.kwargs})
    assert_same_outputs(load_model("test-tuple-kwargs"), model)


def test_model_without_weights_names_the_folder_it_looked_in(isolated_checkpoints, register):
    spec = register("test-untrained")
    assert not has_weights("test-untrained")
    with pytest.raises(WeightsNotFoundError) as error:
        load_model("test-untrained")
    message = str(error.value)
    assert "not trained" in message
    assert str(isolated_checkpoints / "test-untrained") in message
    assert str(spec.local_dir) in message


def fine_tuned_decoder(model: ShallowColorizationNet) -> ShallowColorizationNet:
    """A copy of ``model`` whose decoder moved and whose encoder did not (a ``--freeze encoder`` run)."""
    tuned = ShallowColorizationNet(width=4).eval()
    tuned.load_state_dict(model.state_dict())
    with torch.no_grad():
        for parameter in tuned.decoder.parameters():
            parameter.add_(0.1)
    return tuned


def test_fine_tune_with_a_base_stores_only_what_it_changed(isolated_checkpoints, register, tiny_model):
    register("test-base")
    register("test-tuned")
    save_pretrained(tiny_model, isolated_checkpoints / "test-base", TINY_CONFIG)
    tuned = fine_tuned_decoder(tiny_model)
    folder = save_pretrained(tuned, isolated_checkpoints / "test-tuned", TINY_CONFIG, base="test-base")

    decoder_keys = {"decoder." + key for key in tuned.decoder.state_dict()}
    assert set(load_file(folder / "model.safetensors")) == decoder_keys
    base = json.loads((folder / "config.json").read_text())["base"]
    base_file = isolated_checkpoints / "test-base" / "model.safetensors"
    assert base == {"model": "test-base", "sha256": hashlib.sha256(base_file.read_bytes()).hexdigest(),
                    "shared_tensors": len(tuned.state_dict()) - len(decoder_keys), "own_tensors": len(decoder_keys)}
    assert has_weights("test-tuned")
    loaded = load_model("test-tuned").state_dict()
    assert loaded.keys() == tuned.state_dict().keys()
    for key, value in tuned.state_dict().items():
        assert torch.equal(loaded[key], value.half().float()), key


def test_fine_tune_without_its_base_is_missing_weights(isolated_checkpoints, register, tiny_model):
    register("test-base")
    register("test-tuned")
    save_pretrained(tiny_model, isolated_checkpoints / "test-base", TINY_CONFIG)
    save_pretrained(fine_tuned_decoder(tiny_model), isolated_checkpoints / "test-tuned", TINY_CONFIG, base="test-base")
    (isolated_checkpoints / "test-base" / "model.safetensors").unlink()
    assert not has_weights("test-tuned")
    with pytest.raises(WeightsNotFoundError, match="test-base"):
        load_model("test-tuned")


def test_fine_tune_refuses_a_base_that_changed_since(isolated_checkpoints, register, tiny_model):
    register("test-base")
    register("test-tuned")
    save_pretrained(tiny_model, isolated_checkpoints / "test-base", TINY_CONFIG)
    save_pretrained(fine_tuned_decoder(tiny_model), isolated_checkpoints / "test-tuned", TINY_CONFIG, base="test-base")
    save_pretrained(fine_tuned_decoder(fine_tuned_decoder(tiny_model)), isolated_checkpoints / "test-base", TINY_CONFIG)
    with pytest.raises(ColorizeError, match="another version of 'test-base'"):
        load_model("test-tuned")


def test_unknown_model_name_lists_the_available_ones():
    with pytest.raises(ColorizeError, match="Available models: default") as error:
        load_model("no-such-model")
    assert all(name in str(error.value) for name in MODELS)


# --- Hugging Face Hub, offline, from a pre-filled cache ----------------------------------


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch) -> Path:
    """An empty Hugging Face cache, offline. huggingface_hub reads its environment once at
    import, so the module constants are patched along with the variables."""
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return cache


def fill_hub_cache(cache: Path, repo: str, model_folder: Path, commit: str = COMMIT) -> str:
    """Lay out ``model_folder``'s files the way ``hf_hub_download`` leaves them: content in
    ``blobs/``, symlinks in ``snapshots/<commit>/``, and ``refs/main`` naming the commit.
    Returns the sha256 of the weights file."""
    storage = cache / f"models--{repo.replace('/', '--')}"
    (storage / "blobs").mkdir(parents=True)
    (storage / "refs").mkdir()
    (storage / "refs" / "main").write_text(commit)
    snapshot = storage / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        content = (model_folder / name).read_bytes()
        digest = hashlib.sha256(content).hexdigest()
        (storage / "blobs" / digest).write_bytes(content)
        (snapshot / name).symlink_to(Path("..", "..", "blobs", digest))
    return hashlib.sha256((model_folder / "model.safetensors").read_bytes()).hexdigest()


@pytest.mark.parametrize("revision", [COMMIT, None], ids=["pinned-commit", "main-branch"])
def test_table_model_loads_from_the_hub_cache_offline(tmp_path, hub_cache, register, tiny_model, revision):
    sha256 = fill_hub_cache(hub_cache, HUB_REPO, save_pretrained(tiny_model, tmp_path / "upload", TINY_CONFIG))
    register("test-hub", hub_repo=HUB_REPO, hub_revision=revision, hub_sha256=sha256)
    assert has_weights("test-hub")
    loaded = load_model("test-hub")
    assert isinstance(loaded, ShallowColorizationNet)
    assert_same_outputs(loaded, tiny_model)


def test_hub_weights_with_a_wrong_checksum_are_refused(tmp_path, hub_cache, register, tiny_model):
    fill_hub_cache(hub_cache, HUB_REPO, save_pretrained(tiny_model, tmp_path / "upload", TINY_CONFIG))
    register("test-hub-damaged", hub_repo=HUB_REPO, hub_revision=COMMIT, hub_sha256="0" * 64)
    with pytest.raises(ColorizeError, match="sha256") as error:
        load_model("test-hub-damaged")
    assert not isinstance(error.value, WeightsNotFoundError)


def test_hub_model_missing_from_an_offline_cache_names_the_repository(hub_cache, register):
    register("test-hub-missing", hub_repo=HUB_REPO, hub_revision=COMMIT, hub_sha256="0" * 64)
    assert not has_weights("test-hub-missing")
    with pytest.raises(WeightsNotFoundError) as error:
        load_model("test-hub-missing")
    message = str(error.value)
    assert f"{HUB_REPO}@{COMMIT}" in message
    assert "test-hub-missing" in message
