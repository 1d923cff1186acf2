"""The model table: every public model name, what it is built from and where its weights live.

One row per model, in the spirit of timm's registry: the architecture (a key of
``colorize.archs.ARCHITECTURES``) and its keyword arguments, the working resolution the
network sees, the local weights folder, the Hugging Face Hub repository that holds the same
files, and the words the app and the command line show about it. Adding a model means
adding a row here; tests, app, CLI and benchmarks pick it up from the table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ColorizeError

CHECKPOINTS_DIR = Path(os.environ.get("COLORIZE_CHECKPOINTS", Path(__file__).resolve().parent.parent / "checkpoints"))

DEFAULT_MODEL = "effnet-unet"
"""What the name ``default`` resolves to: the best automatic model on ../shared/data/val."""


@dataclass(frozen=True)
class ModelSpec:
    """One row of the model table.

    ``working_size`` is the side of the square whose area the network works at: a photo is
    resized to about ``working_size ** 2`` pixels (keeping its aspect ratio) before the
    network runs, and the predicted colour is then upsampled to the photo's full size.
    ``hub_revision`` pins a commit and ``hub_sha256`` the weight file, so a Hub download is
    reproducible and verified. ``automatic`` models colorize on their own; ``guided`` ones
    take colour hints (a model can be both).
    """

    name: str
    arch: str
    description: str
    reference: str
    good_at: str
    bad_at: str
    working_size: int = 256
    kwargs: dict[str, Any] = field(default_factory=dict)
    hub_repo: str | None = None
    hub_revision: str | None = None
    hub_sha256: str | None = None
    automatic: bool = True
    guided: bool = False

    @property
    def local_dir(self) -> Path:
        return CHECKPOINTS_DIR / self.name


EDGE_PADDING = {"padding_mode": "replicate"}
"""Every network here pads its convolutions with the edge pixel, not with zeros: zero padding
tells a network where the border is, and on a featureless area it then paints by position
(a blob in a corner). See ``colorize.archs.common.pad_edges``."""

MODELS: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add a row to the table (tests and plug-ins use this for models of their own)."""
    MODELS[spec.name] = spec
    return spec


for _spec in (
    ModelSpec(
        name="effnet-unet",
        arch="effnet-unet",
        kwargs=EDGE_PADDING,
        description="U-Net on an ImageNet-pretrained EfficientNet-Lite0: knows grass, sky and skin, so paints them.",
        reference="U-Net generator (Isola et al. 2017) on an ImageNet-pretrained EfficientNet-Lite0 encoder (Tan & Le 2019), "
                  "the pretrained-encoder recipe of Zhang et al. 2016, DeOldify and DDColor",
        good_at="recognises what it sees: green grass and foliage, blue sky and water, skin tones; fast on a CPU",
        bad_at="small objects whose colour the scene does not tell (a shirt, a car) often stay pale",
    ),
    ModelSpec(
        name="unet",
        arch="unet",
        kwargs=EDGE_PADDING,
        description="ResNet-18 U-Net trained with L1 from scratch: the seed projects' best model.",
        reference="U-Net generator of Isola et al. 2017 (pix2pix) with a ResNet-18 encoder (He et al. 2016), as in the seed projects",
        good_at="sharp colour edges via skip links; shows how far a deep network gets without ImageNet (beats gray by 0.5 dB)",
        bad_at="learnt from 6,000 photos alone, it paints no green and no blue: a brownish wash (the sepia bias)",
    ),
    ModelSpec(
        name="unet-gan",
        arch="effnet-unet",
        kwargs={**EDGE_PADDING, "colour_gain": 1.2},  # its colours amplified a fifth (README, Models)
        description="The default U-Net fine-tuned against a PatchGAN critic: livelier, riskier colours.",
        reference="pix2pix (Isola et al. 2017): L1 + adversarial loss with a 70x70 PatchGAN discriminator, "
                  "on the effnet-unet generator (decoder fine-tuned, ImageNet encoder kept), colours x 1.2",
        good_at="vivid, saturated colour that looks like a real photo at a glance; paints more green and blue",
        bad_at="sometimes a wrong or overdone hue (orange rhinos, a green tint on a plain backdrop); lower PSNR than effnet-unet",
    ),
    ModelSpec(
        name="unet-guided",
        arch="effnet-unet-levin",
        kwargs=EDGE_PADDING,
        description="The default U-Net's colours, corrected where you paint a colour: paint a few and the photo follows.",
        reference="effnet-unet's prediction, corrected by the hints (Zhang et al. 2017's sparse ab hints): each hint's "
                  "correction goes first to the pixels the network sees as alike (a learnt likeness of its features, "
                  "the only part trained for this engine), then is spread by Levin et al. 2004's edge-aware propagation, "
                  "averaged with Levin's own spread once hints are many",
        good_at="a few painted colours recolour their objects, the network colours the rest; without hints it is effnet-unet",
        bad_at="a hint on the wrong side of a faint edge can bleed into the neighbour",
        guided=True,
    ),
    ModelSpec(
        name="autoencoder",
        arch="autoencoder",
        kwargs=EDGE_PADDING,
        description="ColorAutoEncoder: four strided convs down and up with skip connections.",
        reference="convolutional autoencoder with U-Net-style skips (Ronneberger et al. 2015), seed student project",
        good_at="fast, keeps edges through its skip connections",
        bad_at="small receptive field at 1/16 scale: little understanding of the scene",
    ),
    ModelSpec(
        name="shallow",
        arch="shallow",
        kwargs=EDGE_PADDING,
        description="ShallowColorizationNet: two conv/pool blocks and a transposed-conv decoder.",
        reference="shallow encoder-decoder of the seed student project",
        good_at="tiny and very fast: a good first network to read in class",
        bad_at="mostly paints the dataset's average tint",
    ),
    ModelSpec(
        name="cnn",
        arch="cnn",
        kwargs=EDGE_PADDING,
        description="8-layer full-resolution CNN (1-64-128-256-512-256-128-64-2): no down-sampling.",
        reference="plain convolutional colorizer of the seed student project, after Cheng et al. 2015-style per-pixel regression",
        good_at="shows what local texture alone can tell about colour",
        bad_at="sees only 17x17 pixels at a time, so it cannot tell sky from sea; slowest per pixel",
        working_size=128,
    ),
    ModelSpec(
        name="levin",
        arch="levin",
        description="Colorization by optimisation: hint colours flow to neighbours of similar lightness.",
        reference="Levin, Lischinski & Weiss 2004, Colorization using Optimization (sparse linear system, no training)",
        good_at="follows strokes exactly and never invents a colour; shows the idea networks improve on",
        bad_at="needs a stroke in every region; colour leaks across soft edges",
        working_size=144,
        automatic=False,
        guided=True,
    ),
):
    register_model(_spec)


def list_models() -> list[str]:
    """The automatic models' names, best first (the order of the table)."""
    return [name for name, spec in MODELS.items() if spec.automatic]


def list_guided_models() -> list[str]:
    """The models that take colour hints, best first."""
    return [name for name, spec in MODELS.items() if spec.guided]


def get_spec(name: str) -> ModelSpec:
    """The table row for ``name`` (``default`` included); unknown names get a helpful error."""
    resolved = DEFAULT_MODEL if name == "default" else name
    if resolved not in MODELS:
        raise ColorizeError(f"Unknown model {name!r}. Available models: {', '.join(['default', *MODELS])}.")
    return MODELS[resolved]
