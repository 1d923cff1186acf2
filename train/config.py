"""Training hyper-parameters: one dataclass of defaults, exposed as command-line flags.

The resolved config is written next to the run (``config.json``) and inside every
checkpoint, so a set of weights always says how it was made (nanoGPT's habit).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colorize.zoo import MODELS


@dataclass
class TrainConfig:
    model: str = "unet"                 # a row of colorize's model table; decides the architecture
    data: str = "../shared/data/train"  # folder of colour photos (recursive) or hf://dataset[:split]
    val: str = "../shared/data/val"     # folder of colour photos for validation
    out: str = "runs/unet"
    recipe: str = "l1"                  # l1 | mse | psnr (mean log MSE per crop) | gan (pix2pix: L1 + lambda * PatchGAN) | bins (Zhang et al.'s ab classes) | likeness (unet-guided's, simulated hints)
    init: str = ""                      # weights folder or run to start the generator from (GAN fine-tuning)
    freeze: str = ""                    # comma-separated submodules kept as `init` left them, e.g. "encoder"
    pretrained: bool = True             # start the encoder from ImageNet where the architecture can (no --init)
    encoder_lr_scale: float = 1.0       # the encoder's learning rate relative to the rest (0.1: fine-tune gently)
    steps: int = 3000
    batch_size: int = 16
    crop: int = 128                     # training crop side in pixels (chroma is low-frequency)
    crop_min: float = 0.5               # crops span a random crop_min..crop_max fraction of the photo's
    crop_max: float = 1.0               # short side, resized to `crop` px (scale jitter)
    optimizer: str = "adam"             # adam (the seeds: Adam 2e-4, betas 0.5/0.999) | adamw
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 0.0           # AdamW only
    schedule: str = "constant"          # constant | cosine (with `warmup` steps of linear warm-up)
    warmup: int = 0
    rebalance: float = 0.0              # colour rebalancing strength: 0 off, 1 inverse frequency, Zhang et al. 0.5
    colour_weight: float = 0.0          # l1/mse/psnr: + this x each crop's missing mean chroma (Lab units), against the sepia bias
    gan_weight: float = 1.0             # adversarial term; the L1 term is multiplied by `l1_weight`
    l1_weight: float = 100.0            # pix2pix's lambda
    critic_lr_scale: float = 1.0        # the critic's learning rate relative to the generator's
    real_label: float = 1.0             # the critic's target for real patches (0.9: one-sided label smoothing)
    hint_loss_on: str = "likeness"      # likeness recipe: the colours after the likeness step (fast) | "ab", the final ones, through Levin
    ema: float = 0.999                  # decay of the exported EMA generator (0 = export the raw weights)
    eval_every: int = 500
    save_every: int = 250
    val_limit: int = 0                  # evaluate on the first N val photos only (0 = all)
    val_size: int = 256                 # short side of val photos for metrics, as colorize.evaluate
    seed: int = 0
    device: str = "auto"                # auto | cpu | cuda | cuda:N
    amp: bool = False                   # bf16/fp16 autocast + GradScaler on CUDA
    amp_dtype: str = "bf16"             # bf16 | fp16
    channels_last: bool = False
    workers: int = 0                    # DataLoader workers (0 = load in the main process)
    cache: bool = True                  # decode every photo once into memory (uint8)
    cache_side: int = 256               # short side photos are stored at in the cache
    min_chroma: float = 5.0             # photos with mean chroma below this are skipped as gray
    resume: bool = False
    threads: int = 0                    # torch CPU threads (0 = torch's default)
    kwargs: dict[str, Any] = field(default_factory=dict)  # architecture overrides (tiny test models)

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; choose from {', '.join(MODELS)}")
        if self.recipe not in ("l1", "mse", "psnr", "gan", "bins", "likeness"):
            raise ValueError(f"unknown recipe {self.recipe!r}")
        if self.hint_loss_on not in ("likeness", "ab"):
            raise ValueError(f"unknown --hint-loss-on {self.hint_loss_on!r}; choose likeness or ab")
        if self.colour_weight and self.recipe not in ("l1", "mse", "psnr"):
            raise ValueError(f"--colour-weight adds to the l1, mse and psnr recipes, not to {self.recipe!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _add_flag(parser: argparse.ArgumentParser, item: dataclasses.Field) -> None:
    flag = "--" + item.name.replace("_", "-")
    default = item.default if item.default is not dataclasses.MISSING else item.default_factory()
    if isinstance(default, bool):
        parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
    elif isinstance(default, dict):
        parser.add_argument(flag, type=json.loads, default=default, help="JSON object")
    else:
        parser.add_argument(flag, type=type(default), default=default)


def parse_config(argv: list[str] | None = None) -> TrainConfig:
    """Flags over the dataclass defaults; ``--config FILE`` (JSON) supplies other defaults."""
    parser = argparse.ArgumentParser(prog="python -m train", description="Train a colorize model.")
    parser.add_argument("--config", type=Path, help="JSON file of defaults (e.g. a run's config.json)")
    for item in dataclasses.fields(TrainConfig):
        _add_flag(parser, item)
    known, _ = parser.parse_known_args(argv)
    if known.config is not None:
        parser.set_defaults(**json.loads(known.config.read_text()))
    values = vars(parser.parse_args(argv))
    values.pop("config")
    return TrainConfig(**values)
