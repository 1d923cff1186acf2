"""Weights on disk and on the Hugging Face Hub: one folder format, one loader.

A model folder holds ``config.json`` (architecture, its arguments, working size, training
record), ``model.safetensors`` (fp16 weights) and a ``README.md`` model card: the same files
in ``checkpoints/<name>/`` and in a Hub repository, like huggingface_hub's
``PyTorchModelHubMixin``, but loading strictly and building the class the model table names.
Nothing here unpickles: safetensors only.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from .archs import ARCHITECTURES, ColorizationModel, build_architecture
from .errors import ColorizeError, WeightsNotFoundError
from .zoo import ModelSpec, get_spec

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_pretrained(
    model: torch.nn.Module, folder: str | Path, config: dict[str, Any], model_card: str | None = None, base: str | None = None
) -> Path:
    """Write ``config.json`` + fp16 ``model.safetensors`` (+ model card) into ``folder``.

    ``config`` must name the architecture (``arch``) and its ``kwargs`` so the folder can be
    loaded on its own, without a row in the model table. With ``base`` (a table name), only
    the tensors that differ from that model's weights are written and the config pins the
    base file's sha256: a fine-tune that froze the encoder then costs only its decoder.
    """
    if "arch" not in config:
        raise ValueError("config must contain 'arch'")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().to("cpu", torch.float16 if value.is_floating_point() else value.dtype).contiguous()
             for key, value in model.state_dict().items()}
    if base is not None:
        base_file = resolve_weights(get_spec(base)) / WEIGHTS_FILE
        base_state = load_file(base_file)
        state = {key: value for key, value in state.items() if key not in base_state or not torch.equal(value, base_state[key])}
        config = {**config, "base": {"model": base, "sha256": sha256_of(base_file), "shared_tensors": len(base_state.keys() - state.keys()),
                                     "own_tensors": len(state)}}
    save_file(state, folder / WEIGHTS_FILE, metadata={"format": "pt"})
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    if model_card is not None:
        (folder / CARD_FILE).write_text(model_card)
    return folder


def read_config(folder: Path) -> dict[str, Any]:
    return json.loads((folder / CONFIG_FILE).read_text())


def load_folder(folder: str | Path, spec: ModelSpec | None = None) -> ColorizationModel:
    """Build the model a weights folder describes and load its weights strictly.

    With a ``spec`` the model table decides the class and arguments, and the folder's config
    must agree with it (a unet checkpoint cannot be loaded as the cnn by mistake).
    """
    folder = Path(folder)
    config = read_config(folder)
    arch, kwargs = config["arch"], config.get("kwargs", {})
    # Compare in JSON form: config.json stores a tuple argument, e.g. widths=(64, 128), as a list.
    if spec is not None and (arch, kwargs) != (spec.arch, json.loads(json.dumps(spec.kwargs))):
        raise ColorizeError(
            f"The weights in {folder} are for architecture {arch!r} {kwargs}, "
            f"but model {spec.name!r} is {spec.arch!r} {spec.kwargs}."
        )
    model = build_architecture(arch, **kwargs)
    state = {**_base_weights(folder, config), **load_file(folder / WEIGHTS_FILE)}
    reference = model.state_dict()
    state = {key: value.to(reference[key].dtype) if key in reference else value for key, value in state.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:  # missing, unexpected or mis-shaped tensors
        raise ColorizeError(f"The weights in {folder} do not fit architecture {arch!r}: {error}") from error
    return model.eval()


def _base_weights(folder: Path, config: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The tensors a folder shares with its base model (none if it has no base)."""
    if "base" not in config:
        return {}
    base = config["base"]
    sibling = folder.parent / base["model"]  # a checkpoints folder holds the base beside the fine-tune
    base_file = (sibling if _is_model_folder(sibling) else resolve_weights(get_spec(base["model"]))) / WEIGHTS_FILE
    if sha256_of(base_file) != base["sha256"]:
        raise ColorizeError(
            f"The weights in {folder} were fine-tuned from another version of {base['model']!r} than the one in "
            f"{base_file.parent}; export them again from their run against the current {base['model']!r}."
        )
    return load_file(base_file)


def _is_model_folder(folder: Path) -> bool:
    return (folder / CONFIG_FILE).is_file() and (folder / WEIGHTS_FILE).is_file()


def _download_from_hub(spec: ModelSpec) -> Path:
    """Fetch (or find in the local Hugging Face cache) the pinned revision of a model's repo."""
    from huggingface_hub import hf_hub_download

    paths = [Path(hf_hub_download(spec.hub_repo, name, revision=spec.hub_revision)) for name in (CONFIG_FILE, WEIGHTS_FILE)]
    folder = paths[0].parent
    if spec.hub_sha256 is not None and sha256_of(paths[1]) != spec.hub_sha256:
        raise ColorizeError(f"The weights downloaded for {spec.name!r} from {spec.hub_repo} are damaged (sha256 mismatch).")
    return folder


def resolve_weights(spec: ModelSpec) -> Path:
    """Find a model's weights folder: ``checkpoints/<name>/``, then the Hugging Face Hub.

    The Hub step honours ``HF_HUB_OFFLINE=1`` (cache only). If nothing is found the error
    names every place that was searched.
    """
    looked: list[str] = []
    if _is_model_folder(spec.local_dir):
        return spec.local_dir
    looked.append(f"the folder {spec.local_dir}")
    if spec.hub_repo is None:
        looked.append("the Hugging Face Hub (no repository published for this model yet)")
    else:
        try:
            return _download_from_hub(spec)
        except ColorizeError:
            raise
        except Exception as error:  # network, offline mode, missing repo: all mean "not there"
            looked.append(f"the Hugging Face Hub repository {spec.hub_repo}@{spec.hub_revision or 'main'} ({type(error).__name__})")
    raise WeightsNotFoundError(
        f"Model {spec.name!r} is not trained yet or its weights are missing. Looked in: " + "; ".join(looked) + "."
    )


def has_weights(name: str) -> bool:
    """Whether a model can be loaded without the network (local folder, Hub cache, or an
    engine that has no weights at all)."""
    spec = get_spec(name)
    if not ARCHITECTURES[spec.arch].needs_weights:
        return True
    if _is_model_folder(spec.local_dir):
        base = read_config(spec.local_dir).get("base")
        return base is None or has_weights(base["model"])
    if spec.hub_repo is None:
        return False
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(spec.hub_repo, WEIGHTS_FILE, revision=spec.hub_revision)
    return isinstance(cached, str)


@functools.lru_cache(maxsize=8)
def load_model(name_or_path: str | Path = "default", device: str = "cpu") -> ColorizationModel:
    """Load a model once per process: a table name (``default`` included) or a weights folder.

    The result is cached, in eval mode, on ``device``, with its weights in channels-last
    layout (15-50 % faster convolutions on the CPU, bench/speed.py); treat it as read-only.
    """
    path = Path(name_or_path)
    if isinstance(name_or_path, Path) or (path.is_dir() and _is_model_folder(path)):
        if not _is_model_folder(path):
            raise WeightsNotFoundError(f"No model in {path}: expected {CONFIG_FILE} and {WEIGHTS_FILE} there.")
        model = load_folder(path)
    else:
        spec = get_spec(str(name_or_path))
        if ARCHITECTURES[spec.arch].needs_weights:
            model = load_folder(resolve_weights(spec), spec)
        else:
            model = build_architecture(spec.arch, **spec.kwargs).eval()
    return model.to(device, memory_format=torch.channels_last)


def model_config(name: str) -> dict[str, Any]:
    """The ``config.json`` of a table model that has weights (what ``train.export`` wrote:
    architecture, training settings and the validation scores it measured)."""
    return read_config(resolve_weights(get_spec(name)))


def working_size_of(name_or_path: str | Path) -> int:
    """The working resolution of a table model or a weights folder (from its config)."""
    path = Path(name_or_path)
    if isinstance(name_or_path, Path) or _is_model_folder(path):
        return int(read_config(path).get("working_size", 256))
    return get_spec(str(name_or_path)).working_size
