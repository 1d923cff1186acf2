"""The training loop: every model and recipe, CPU or CUDA, one GPU or many.

    python -m train --model unet --data ../shared/data/train --val ../shared/data/val --out runs/unet
    torchrun --nproc_per_node 4 -m train --model unet --device cuda --amp --batch-size 64 ...

Per step: a batch of RGB crops becomes Lab on the device, the generator predicts ab from L,
and the recipe's loss updates it (L1, MSE or the mean per-crop log MSE that a mean PSNR
scores, optionally colour-rebalanced; pix2pix's PatchGAN game; or, for ``unet-guided``, how
far simulated hints' colours reach through its likeness). An EMA of the generator is
what gets evaluated and exported. A checkpoint holds everything ``--resume`` needs to continue exactly: weights, optimiser and scaler
states, the step and the RNG; it is a plain tensor dict loaded with ``weights_only=True``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from colorize.archs import build_architecture
from colorize.color import rgb_to_lab
from colorize.evaluate import evaluate_photos, load_eval_photos
from colorize.hub import load_folder, load_model
from colorize.zoo import get_spec

from .config import TrainConfig
from .data import PhotosOnDisk, load_photos, training_batches
from .discriminator import PatchDiscriminator
from .losses import ColourRebalancer, bin_loss, chroma_deficit, gan_loss, pixel_loss, simulated_hints
from .plots import plot_curves, sample_grid

CHECKPOINT = "last.pt"
SAMPLE_PHOTOS = 6
GUIDED_HINTS = 10  # a guided model is also scored with this many true-colour hints per photo


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed(device_name: str) -> Distributed:
    """Join the process group when launched by torchrun / accelerate (WORLD_SIZE > 1)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Distributed()
    backend = "nccl" if device_name.startswith("cuda") else "gloo"
    dist.init_process_group(backend)
    return Distributed(dist.get_rank(), world_size, int(os.environ.get("LOCAL_RANK", "0")))


def pick_device(name: str, local_rank: int) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        name = f"cuda:{local_rank}"
    return torch.device(name)


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside a DDP wrapper: what gets saved and exported."""
    return model.module if isinstance(model, DistributedDataParallel) else model


class EMA:
    """Exponential moving average of a generator's weights (buffers copied as they are).

    The decay warms up as ``min(decay, (1 + step) / (10 + step))``: with a fixed 0.999, the
    starting weights (random, or the model a fine-tune begins from) would still make up 37 %
    of the average after 1000 steps, which in a short CPU run is most of the run.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))
        for average, current in zip(self.model.parameters(), model.parameters()):
            average.lerp_(current, 1.0 - decay)
        for average, current in zip(self.model.buffers(), model.buffers()):
            average.copy_(current)


def learning_rate(cfg: TrainConfig, step: int) -> float:
    """Constant (the seeds' recipe) or linear warm-up then cosine decay to zero."""
    if cfg.schedule == "constant":
        return cfg.lr
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def parameter_groups(model: nn.Module, encoder_lr_scale: float) -> list[dict[str, Any]]:
    """The trainable parameters, the encoder's apart: a pretrained encoder is fine-tuned at a
    fraction of the decoder's learning rate so its ImageNet features are adjusted, not erased."""
    groups: dict[bool, list[nn.Parameter]] = {True: [], False: []}
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            groups[name.startswith("encoder.")].append(parameter)
    return [{"params": params, "lr_scale": encoder_lr_scale if in_encoder else 1.0}
            for in_encoder, params in groups.items() if params]


def make_optimizer(cfg: TrainConfig, parameters) -> torch.optim.Optimizer:
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay)
    return torch.optim.Adam(parameters, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))


def load_initial_weights(model: nn.Module, source: str) -> None:
    """Start from a weights folder, a run folder (its EMA) or a table name (fine-tuning)."""
    path = Path(source)
    if (path / CHECKPOINT).is_file():
        state = torch.load(path / CHECKPOINT, map_location="cpu", weights_only=True)
        state = state["ema"] or state["generator"]
    elif path.is_dir():
        state = load_folder(path).state_dict()
    else:
        state = load_model(source).state_dict()
    added = tuple(f"{module}." for module in getattr(model, "added_modules", ()))
    fresh = [name for name, tensor in model.state_dict().items()
             if (name in state and state[name].shape != tensor.shape) or (name not in state and name.startswith(added))]
    for name in fresh:  # a new head (e.g. ab bins instead of ab) or module (unet-guided's likeness) starts afresh
        state.pop(name, None)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if set(missing) != set(fresh) or unexpected:
        raise ValueError(f"--init {source}: weights do not fit (missing {missing}, unexpected {unexpected})")


def frozen_modules(model: nn.Module, names: str) -> list[nn.Module]:
    """The submodules named in ``--freeze`` ("encoder", "encoder.layer1"), checked to exist.

    A fine-tune that leaves the encoder exactly as the model it started from can ship only
    the rest of the weights (``train.export --base``), which is how ``unet-gan`` fits beside
    ``unet`` in the checkpoint budget.
    """
    modules = dict(model.named_modules())
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in modules]
    if unknown:
        raise ValueError(f"--freeze: no submodule {', '.join(unknown)} in {type(model).__name__}")
    return [modules[name] for name in wanted]


class Trainer:
    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        self.dist = setup_distributed(cfg.device)
        self.device = pick_device(cfg.device, self.dist.local_rank)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed + self.dist.rank)
        self.out = Path(cfg.out)
        self.spec = get_spec(cfg.model)
        self.kwargs = {**self.spec.kwargs, **cfg.kwargs}
        self.memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format

        generator = build_architecture(self.spec.arch, **self.kwargs)
        if cfg.init:
            load_initial_weights(generator, cfg.init)
        elif cfg.pretrained and hasattr(generator, "load_pretrained_encoder"):
            generator.load_pretrained_encoder()
        self.frozen = frozen_modules(generator, cfg.freeze)
        for module in self.frozen:
            module.requires_grad_(False)
        self.generator = generator.to(self.device, memory_format=self.memory_format)
        self.ema = EMA(self.generator, cfg.ema) if cfg.ema > 0 else None
        self.critic = PatchDiscriminator().to(self.device, memory_format=self.memory_format) if cfg.recipe == "gan" else None

        self.opt_g = make_optimizer(cfg, parameter_groups(self.generator, cfg.encoder_lr_scale))
        self.opt_d = make_optimizer(cfg, self.critic.parameters()) if self.critic is not None else None
        fp16 = cfg.amp and cfg.amp_dtype == "fp16"
        self.scaler_g = torch.amp.GradScaler(self.device.type, enabled=fp16)
        self.scaler_d = torch.amp.GradScaler(self.device.type, enabled=fp16)
        self.step = 0
        if cfg.resume and (self.out / CHECKPOINT).is_file():
            self._load_checkpoint()
        if self.dist.world_size > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.generator = DistributedDataParallel(self.generator, device_ids=ids)
            if self.critic is not None:
                self.critic = DistributedDataParallel(self.critic, device_ids=ids)

        self.photos = self._training_photos()
        self.rebalancer = (ColourRebalancer.from_photos(self.photos, cfg.rebalance, seed=cfg.seed)
                           if cfg.rebalance > 0 and self.photos is not None else None)
        self.val_photos = load_eval_photos(cfg.val, cfg.val_size, cfg.val_limit) if cfg.val and self.dist.is_main else []

    # --- data -----------------------------------------------------------------------------

    def _training_photos(self):
        if self.cfg.data.startswith("hf://"):
            return None
        if self.cfg.cache:
            return load_photos(self.cfg.data, self.cfg.cache_side, self.cfg.min_chroma)
        return PhotosOnDisk(self.cfg.data, self.cfg.cache_side, self.cfg.min_chroma)

    def _autocast(self):
        if not self.cfg.amp:
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.cfg.amp_dtype == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def _to_lab(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch of RGB crops -> L (N,1,H,W) and ab (N,2,H,W), converted on the device."""
        lab = rgb_to_lab(rgb.to(self.device, non_blocking=True))
        lab = lab.contiguous(memory_format=self.memory_format)
        return lab[:, :1], lab[:, 1:]

    # --- one optimisation step ------------------------------------------------------------

    def _update(self, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    def train_step(self, rgb: torch.Tensor) -> dict[str, float]:
        l, ab = self._to_lab(rgb)
        weights = self.rebalancer(ab) if self.rebalancer is not None else None
        rate = learning_rate(self.cfg, self.step)
        for group in self.opt_g.param_groups:
            group["lr"] = rate * group["lr_scale"]
        for group in self.opt_d.param_groups if self.opt_d else []:
            group["lr"] = rate * self.cfg.critic_lr_scale
        if self.cfg.recipe == "likeness":  # unet-guided's likeness: the hints' colours reach the right pixels
            hints = simulated_hints(ab)
            with self._autocast():
                ab_pred = self.generator(l, hints, output=self.cfg.hint_loss_on)
            loss = pixel_loss(ab_pred, ab, "mse")
            self._update(self.opt_g, self.scaler_g, loss)
            return {"loss": loss.item()}
        if self.cfg.recipe == "bins":
            with self._autocast():
                logits = self.generator(l, output="bins")
            loss = bin_loss(logits, ab, weights)
            self._update(self.opt_g, self.scaler_g, loss)
            return {"loss": loss.item()}
        with self._autocast():
            ab_pred = self.generator(l)
        if self.critic is None:
            loss = pixel_loss(ab_pred, ab, self.cfg.recipe, weights)
            if not self.cfg.colour_weight:
                self._update(self.opt_g, self.scaler_g, loss)
                return {"loss": loss.item()}
            deficit = chroma_deficit(ab_pred, ab)
            self._update(self.opt_g, self.scaler_g, loss + self.cfg.colour_weight * deficit)
            return {"loss": loss.item(), "chroma_deficit": deficit.item()}
        return self._gan_step(l, ab, ab_pred, weights)

    def _gan_step(self, l: torch.Tensor, ab: torch.Tensor, ab_pred: torch.Tensor, weights: torch.Tensor | None) -> dict[str, float]:
        """pix2pix: the critic learns real vs fake, then the generator learns to fool the
        frozen critic while staying near the truth (L1 x lambda)."""
        self.critic.requires_grad_(True)
        with self._autocast():
            loss_d = 0.5 * (gan_loss(self.critic(l, ab), True, self.cfg.real_label)
                            + gan_loss(self.critic(l, ab_pred.detach()), False))
        self._update(self.opt_d, self.scaler_d, loss_d)

        critic = unwrap(self.critic).requires_grad_(False)  # frozen; unwrapped so DDP expects no gradients
        with self._autocast():
            loss_adv = gan_loss(critic(l, ab_pred), True)
        loss_l1 = pixel_loss(ab_pred, ab, "l1", weights)
        self._update(self.opt_g, self.scaler_g, self.cfg.gan_weight * loss_adv + self.cfg.l1_weight * loss_l1)
        return {"loss_l1": loss_l1.item(), "loss_adv": loss_adv.item(), "loss_critic": loss_d.item()}

    # --- checkpoints ----------------------------------------------------------------------

    def checkpoint_state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "config": self.cfg.to_dict(),
            "arch": self.spec.arch,
            "kwargs": self.kwargs,
            "generator": unwrap(self.generator).state_dict(),
            "ema": self.ema.model.state_dict() if self.ema else {},
            "critic": unwrap(self.critic).state_dict() if self.critic is not None else {},
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict() if self.opt_d else {},
            "scaler_g": self.scaler_g.state_dict(),
            "scaler_d": self.scaler_d.state_dict(),
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }

    def save_checkpoint(self) -> None:
        """Write ``last.pt`` atomically, so a kill mid-write never loses the previous one."""
        if not self.dist.is_main:
            return
        temporary = self.out / (CHECKPOINT + ".tmp")
        torch.save(self.checkpoint_state(), temporary)
        temporary.replace(self.out / CHECKPOINT)

    def _load_checkpoint(self) -> None:
        state = torch.load(self.out / CHECKPOINT, map_location="cpu", weights_only=True)
        self.generator.load_state_dict(state["generator"], strict=True)
        if self.ema:
            self.ema.model.load_state_dict(state["ema"], strict=True)
        if self.critic is not None:
            self.critic.load_state_dict(state["critic"], strict=True)
            self.opt_d.load_state_dict(state["opt_d"])
            self.scaler_d.load_state_dict(state["scaler_d"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.scaler_g.load_state_dict(state["scaler_g"])
        torch.set_rng_state(state["rng_cpu"])
        if state["rng_cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        self.step = state["step"]

    def train_mode(self) -> None:
        """Generator in training mode, frozen parts in eval mode (their BatchNorm statistics stay put)."""
        self.generator.train()
        for module in self.frozen:
            module.eval()

    # --- evaluation and logs --------------------------------------------------------------

    def inference_model(self) -> nn.Module:
        return self.ema.model if self.ema else unwrap(self.generator)

    def evaluate(self) -> dict[str, Any]:
        """Validation metrics beside the gray baseline, a sample grid and the curves."""
        model = self.inference_model()
        was_training = model.training
        model.eval()
        hints = GUIDED_HINTS if self.cfg.recipe == "likeness" else 0
        report, colorized = evaluate_photos(model, self.val_photos, self.spec.working_size, device=str(self.device), hints=hints)
        if was_training:
            self.train_mode()
        record = {"step": self.step, "val": report.to_dict()}
        sample_grid(self.val_photos[:SAMPLE_PHOTOS], colorized[:SAMPLE_PHOTOS], self.out / "samples" / f"step_{self.step:07d}.png")
        return record

    def log(self, record: dict[str, Any]) -> None:
        with open(self.out / "log.jsonl", "a") as stream:
            stream.write(json.dumps(record) + "\n")

    # --- the loop -------------------------------------------------------------------------

    def fit(self) -> Path:
        cfg = self.cfg
        if self.dist.is_main:
            (self.out / "samples").mkdir(parents=True, exist_ok=True)
            (self.out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
        batches = training_batches(cfg, self.photos, self.step, self.dist.rank, self.dist.world_size,
                                   pin_memory=self.device.type == "cuda")
        self.train_mode()
        progress = tqdm(total=cfg.steps, initial=self.step, disable=not self.dist.is_main, desc=cfg.model, dynamic_ncols=True)
        started = time.perf_counter()
        while self.step < cfg.steps:
            losses = self.train_step(next(batches))
            if self.ema:
                self.ema.update(unwrap(self.generator), self.step)
            self.step += 1
            progress.update()
            progress.set_postfix({key: f"{value:.4f}" for key, value in losses.items()})
            if self.dist.is_main:
                elapsed = time.perf_counter() - started
                self.log({"step": self.step, "lr": learning_rate(cfg, self.step - 1), "time": round(elapsed, 2), **losses})
            if self.step % cfg.save_every == 0 or self.step == cfg.steps:
                self.save_checkpoint()
            if self.dist.is_main and self.val_photos and (self.step % cfg.eval_every == 0 or self.step == cfg.steps):
                self.log(self.evaluate())
                plot_curves(self.out / "log.jsonl", self.out / "curves.png")
        progress.close()
        if self.dist.world_size > 1:
            dist.destroy_process_group()
        return self.out


def train(cfg: TrainConfig) -> Path:
    """Run (or ``--resume``) one training run; returns its output folder."""
    return Trainer(cfg).fit()
