"""Export a run's EMA generator as a shippable weights folder, and optionally publish it.

    python -m train.export runs/unet --name unet                 # -> checkpoints/unet/
    python -m train.export runs/unet --name unet --push-to-hub ORG/colorize-unet
    python -m train.export runs/unet-gan --name unet-gan --base effnet-unet   # decoder only (--freeze encoder)
    python -m train.export checkpoints/effnet-unet --name unet-guided --base effnet-unet   # same network, another engine

The folder holds fp16 ``model.safetensors``, ``config.json`` and a model card with the data,
the command, the steps, the validation metrics of exactly these fp16 weights beside the gray
baseline, and the weight file's sha256. An existing checkpoint is only replaced by a better
one on val (PSNR), unless ``--force``: every committed weight file stays in git history.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from colorize.archs import ARCHITECTURES, build_architecture
from colorize.archs.common import pad_edges
from colorize.evaluate import evaluate_photos, load_eval_photos
from colorize.hub import CONFIG_FILE, WEIGHTS_FILE, load_folder, read_config, save_pretrained, sha256_of
from colorize.metrics import Report
from colorize.zoo import CHECKPOINTS_DIR, MODELS, get_spec

from .trainer import CHECKPOINT, GUIDED_HINTS


def load_run(run: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The run's inference weights (EMA if it kept one) and its checkpoint metadata.

    A weights folder stands in for the run it was exported from (its config keeps the run's
    metadata): that is how one network ships under a second engine (``unet-guided``).
    """
    if not (run / CHECKPOINT).is_file() and (run / CONFIG_FILE).is_file():
        config = read_config(run)
        return load_folder(run), {"arch": config["arch"], "kwargs": config["kwargs"], "step": config["steps"],
                                  "config": config["training"]}
    state = torch.load(run / CHECKPOINT, map_location="cpu", weights_only=True)
    model = build_architecture(state["arch"], **state["kwargs"])
    model.load_state_dict(state["ema"] or state["generator"], strict=True)
    return model.eval(), state


def _metrics_table(report: Report) -> str:
    rows = [("this model", report.model), ("gray baseline (a = b = 0)", report.gray)]
    lines = ["| | PSNR (dB) | SSIM | colourfulness | CIEDE2000 | AuC | green recall | blue recall |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {name} | {s.psnr:.2f} | {s.ssim:.4f} | {s.colourfulness:.1f} | {s.ciede2000:.2f} | {s.auc:.4f} "
              f"| {s.green_recall:.2f} | {s.blue_recall:.2f} |" for name, s in rows]
    lines.append(f"\nGround truth colourfulness: {report.target_colourfulness:.1f} "
                 f"(this model {report.colourfulness_gap:+.0%} relative to it).")
    return "\n".join(lines)


def model_card(name: str, config: dict[str, Any], report: Report | None, val_info: str, sha256: str, command: str,
               guided: Report | None = None) -> str:
    spec = MODELS.get(name)
    training = config["training"]
    metrics = _metrics_table(report) if report is not None else "Not evaluated."
    if guided is not None:
        metrics += (f"\n\nWith {GUIDED_HINTS} true-colour hints per photo (the same photos; "
                    f"`--hints {GUIDED_HINTS}` below):\n\n{_metrics_table(guided)}")
    return f"""---
library_name: colorize
pipeline_tag: image-to-image
tags: [image-colorization, cielab]
---
# colorize · {name}

{spec.description if spec else ''}

Architecture `{config['arch']}` {json.dumps(config['kwargs'])}; follows {spec.reference if spec else 'n/a'}.
Input: L (Lab units, 0..100) at about {config['working_size']}² pixels; output: ab in Lab units,
upsampled and merged with the photo's own full-resolution L by `colorize`.

## Training

- data: `{training['data']}` (colour photos; gray ones skipped, mean chroma < {training['min_chroma']})
- recipe: `{training['recipe']}`, {config['steps']} steps of batch {training['batch_size']}, {training['crop']} px crops,
  {training['optimizer']} lr {training['lr']} ({training['schedule']}), colour rebalancing {training['rebalance']},
  EMA {training['ema']}{f", initialised from `{training['init']}`" if training['init'] else ''}{_pretrained_note(config)}
- command (a resumed run lists each invocation): `{command}`

## Validation

{val_info}

{metrics}

Reproduce: `python -m colorize.evaluate {training['val']} --model {name} --size {training['val_size']}{f" [--hints {GUIDED_HINTS}]" if guided else ""}`

## Files

- `model.safetensors` (fp16) sha256 `{sha256}`{_base_note(config)}
"""


def _pretrained_note(config: dict[str, Any]) -> str:
    """Where the encoder's weights came from, when they descend from ImageNet (directly, or
    through the run or model named by ``--init``), and how much of them training changed."""
    training = config["training"]
    source = getattr(ARCHITECTURES[config["arch"]], "pretrained_source", None)
    if source is None or not (training["init"] or training.get("pretrained")):
        return ""
    origin = f"through `{training['init']}`, " if training["init"] else ""
    frozen = training.get("freeze", "")
    if frozen == "encoder":
        use = "kept frozen, BatchNorm statistics included (`--freeze encoder`)"
    else:
        use = f"fine-tuned at {training.get('encoder_lr_scale', 1.0)}x the decoder's learning rate"
        use += f", with `{frozen}` kept frozen (BatchNorm statistics included)" if frozen else ""
    with_base = f" (with `{config['base']['model']}`'s)" if "base" in config else ""
    return (f"\n- encoder initialised, {origin}from {source}; {use}. "
            f"Only training needs that package: the shipped weights{with_base} hold the whole network")


def _base_note(config: dict[str, Any]) -> str:
    if "base" not in config:
        return ""
    base = config["base"]
    shared = (f"shares {base['shared_tensors']} tensors (the frozen `{config['training'].get('freeze', '')}`)"
              if base.get("own_tensors", 1) else "holds no tensors of its own: it runs on the network")
    return f"\n- {shared} of `{base['model']}`, whose `model.safetensors` (sha256 `{base['sha256']}`) it needs beside it"


def export_run(run: Path, name: str, dest: Path, evaluate: bool = True, force: bool = False,
               base: str | None = None, padding_mode: str | None = None,
               colour_gain: float | None = None) -> tuple[Path, Report | None]:
    """Write ``dest/<name>/`` from a run; returns the folder and its validation report.

    With ``base``, tensors equal to that model's are not stored again (see ``save_pretrained``).
    With ``padding_mode``, the network is shipped padding that way whatever it was trained with
    (a network trained with zero padding may take replicate padding at no cost: the validation
    run below says whether it did). With ``colour_gain``, its predicted colours are amplified
    by that factor (architectures that have one, ``effnet_unet.py``).
    """
    model, state = load_run(run)
    spec, kwargs = get_spec(name), state["kwargs"]
    if spec.arch != state["arch"]:  # the same weights in another engine of the table
        model = _rebuild(model, spec.arch, kwargs)
    if padding_mode is not None:
        kwargs = {**kwargs, "padding_mode": padding_mode}
        pad_edges(model, padding_mode)
    if colour_gain is not None:
        if not hasattr(model, "colour_gain"):
            raise SystemExit(f"Architecture {spec.arch} has no colour gain to set.")
        kwargs = {**kwargs, "colour_gain": colour_gain}
        model.colour_gain = colour_gain
    training = state["config"]
    config = {"name": name, "arch": spec.arch, "kwargs": kwargs, "steps": state["step"],
              "working_size": spec.working_size, "training": training}
    options = {"--base": base, "--padding-mode": padding_mode, "--colour-gain": colour_gain}
    command = f"python -m train.export {run} --name {name}" + "".join(f" {flag} {value}" for flag, value in options.items() if value is not None)
    command_file = run / "command.txt"
    if command_file.is_file():  # (for a weights folder, the network's own command is in that folder's card)
        command = " && ".join([*command_file.read_text().splitlines(), command])
    with tempfile.TemporaryDirectory() as scratch:
        staged = save_pretrained(model, Path(scratch) / name, config, base=base)
        config = read_config(staged)
        report, guided, val_info = None, None, "Not evaluated (--no-eval)."
        if evaluate and training.get("val"):
            photos = load_eval_photos(training["val"], training["val_size"])
            report = evaluate_photos(load_folder(staged), photos, config["working_size"])[0]
            val_info = f"{len(photos)} photos of `{training['val']}`, short side {training['val_size']} px, fp16 weights as shipped."
            config["val"] = report.to_dict()
            if spec.guided:
                guided = evaluate_photos(load_folder(staged), photos, config["working_size"], hints=GUIDED_HINTS)[0]
                config[f"val_{GUIDED_HINTS}_hints"] = guided.to_dict()
            (staged / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        target = dest / name
        if guided is not None:  # without hints a guided engine is its base network: judge it by its hints
            _refuse_if_worse(target, guided, force, f"val_{GUIDED_HINTS}_hints")
        else:
            _refuse_if_worse(target, report, force)
        (staged / "README.md").write_text(model_card(name, config, report, val_info, sha256_of(staged / WEIGHTS_FILE), command, guided))
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(staged, target)
    return target, report


def _rebuild(model: torch.nn.Module, arch: str, kwargs: dict[str, Any]) -> torch.nn.Module:
    """``model``'s weights in architecture ``arch``: the tensors must be the same, but for the
    modules that engine adds (``added_modules``), which keep their untrained start."""
    engine = build_architecture(arch, **kwargs)
    missing, unexpected = engine.load_state_dict(model.state_dict(), strict=False)
    added = tuple(f"{module}." for module in getattr(engine, "added_modules", ()))
    if unexpected or not all(name.startswith(added) for name in missing):
        raise SystemExit(f"The weights do not fit architecture {arch} (missing {missing}, unexpected {unexpected}).")
    return engine.eval()


def _refuse_if_worse(target: Path, report: Report | None, force: bool, key: str = "val") -> None:
    if force or not (target / CONFIG_FILE).is_file():
        return
    with_hints = "" if key == "val" else f" with {GUIDED_HINTS} hints"
    previous = read_config(target).get(key)
    if previous is None or report is None:
        raise SystemExit(f"{target} exists; pass --force to replace it without a validation comparison.")
    if report.model.psnr <= previous["model"]["psnr"]:
        raise SystemExit(f"Not replacing {target}: val PSNR {report.model.psnr:.2f} dB{with_hints} does not beat "
                         f"{previous['model']['psnr']:.2f} dB (use --force to override).")


def push_to_hub(folder: Path, repo_id: str) -> str:
    """Upload the folder to a Hub model repo (token from HF_TOKEN); returns the commit id to pin."""
    from huggingface_hub import HfApi

    api = HfApi(token=os.environ.get("HF_TOKEN"))
    api.create_repo(repo_id, repo_type="model", exist_ok=True)
    commit = api.upload_folder(folder_path=str(folder), repo_id=repo_id, commit_message=f"Upload {folder.name}")
    return commit.oid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a run folder written by python -m train")
    parser.add_argument("--name", required=True, help="public model name (a row of colorize's model table)")
    parser.add_argument("--dest", type=Path, default=CHECKPOINTS_DIR, help="where model folders live")
    parser.add_argument("--no-eval", dest="evaluate", action="store_false", help="skip the validation run")
    parser.add_argument("--force", action="store_true", help="replace a checkpoint even if it was better")
    parser.add_argument("--base", help="store only the tensors that differ from this table model's weights")
    parser.add_argument("--padding-mode", choices=["zeros", "replicate"], help="ship the network with this padding")
    parser.add_argument("--colour-gain", type=float, help="ship the network with its colours amplified by this factor")
    parser.add_argument("--push-to-hub", metavar="ORG/REPO", help="also upload the folder to this Hub repo")
    args = parser.parse_args(argv)
    folder, report = export_run(args.run, args.name, args.dest, args.evaluate, args.force, args.base, args.padding_mode,
                                args.colour_gain)
    print(f"wrote {folder}")
    if report is not None:
        print(_metrics_table(report))
    if args.push_to_hub:
        commit = push_to_hub(folder, args.push_to_hub)
        print(f"pushed to {args.push_to_hub}@{commit}; pin hub_repo/hub_revision/hub_sha256 in colorize/zoo.py:")
        print(f"  hub_repo={args.push_to_hub!r}, hub_revision={commit!r}, hub_sha256={sha256_of(folder / WEIGHTS_FILE)!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
