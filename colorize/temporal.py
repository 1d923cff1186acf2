"""Colour that holds still from frame to frame, and the measure of how much it flickers.

A network that colours each frame on its own answers slightly differently every time (a coat
brown, then blue, then brown again): the eye sees flicker even where each frame looks fine.
``ColourCarrier`` is a recurrent blend along optical flow: the previous frame's colour is
moved onto the new frame by the flow between their small L images and mixed with the new
prediction wherever the flow is trusted, so each pixel's colour is a running average along
its own motion path. Where the flow is not trusted (occlusions, things entering the frame)
the new prediction is used as it is, and a frame where most of the flow fails is a new shot
and starts afresh.

The flow is DIS (Kroeger et al. 2016, "Fast Optical Flow using Dense Inverse Search"),
OpenCV's fastest dense flow: a few milliseconds at the network's working size on one core.
Trust is the forward-backward check of Sundaram et al. 2010 (as used by Ruder et al. 2016
and Lai et al. 2018): following the flow to the previous frame and back must land near the
start.

``warping_errors`` is the flicker measure of Lai et al. 2018 ("Learning Blind Video
Temporal Consistency", ECCV): the mean squared difference between each output frame and the
previous output frame warped onto it by the flow of the ground-truth frames, outside
occlusions.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .color import image_to_lab

CARRY = 0.8
"""Weight of the colour carried along the flow where it is trusted; the new prediction gets
the rest. 0.8 averages about five frames: enough to still flicker, little enough to follow
a colour that really changes (measured with ``bench/video.py``)."""

NEW_SHOT_TRUST = 0.5
"""A frame where fewer pixels than this share pass the flow check is a new shot (a hard cut,
a flash): its colour starts afresh. Lai et al.'s measure skips such pairs too."""

_FB_RELATIVE = 0.01  # forward-backward check of Sundaram et al. 2010: |a + b|² <= 0.01 (|a|² + |b|²) + 0.5 px²
_FB_ABSOLUTE = 0.5
_TRUST_BLUR = 5  # px of working-size blur on the trust mask, so carried and new colour meet without a seam


def l_to_uint8(l: np.ndarray) -> np.ndarray:
    """L in 0..100 as the 8-bit gray image DIS works on."""
    return np.clip(l * 2.55 + 0.5, 0, 255).astype(np.uint8)


def dis_flow(first: np.ndarray, second: np.ndarray, preset: int = cv2.DISOPTICAL_FLOW_PRESET_FAST) -> np.ndarray:
    """Dense flow from ``first`` to ``second`` (8-bit gray, same shape): (H, W, 2) float32 x, y
    displacements such that ``first[p]`` is seen at ``second[p + flow[p]]``."""
    return cv2.DISOpticalFlow_create(preset).calc(first, second, None)


@functools.lru_cache(maxsize=4)
def _pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pixel's x and y, (H, W) float32 each: made once per frame size."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return xs, ys


def _targets(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each pixel's flow points: ``p + flow[p]`` as x and y maps."""
    xs, ys = _pixel_grid(*flow.shape[:2])
    return xs + flow[..., 0], ys + flow[..., 1]


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image`` at ``p + flow[p]`` for every pixel p (bilinear, edges repeated): the
    previous frame moved onto the current one when ``flow`` goes from current to previous."""
    return cv2.remap(image, *_targets(flow), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def trusted(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Pixels of the current frame whose flow to the previous frame (``backward``) is confirmed
    by the flow back (``forward``, previous to current) and stays inside the frame: (H, W) bool.

    Occluded pixels fail because the forward flow at their match belongs to whatever hides them.
    """
    height, width = backward.shape[:2]
    xs, ys = _targets(backward)
    returned = cv2.remap(forward, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    gap = np.sum((backward + returned) ** 2, axis=-1)
    bound = _FB_RELATIVE * (np.sum(backward**2, axis=-1) + np.sum(returned**2, axis=-1)) + _FB_ABSOLUTE
    inside = (xs >= 0) & (xs <= width - 1) & (ys >= 0) & (ys <= height - 1)
    return (gap <= bound) & inside


def motion(previous: np.ndarray, current: np.ndarray, preset: int = cv2.DISOPTICAL_FLOW_PRESET_FAST) -> tuple[np.ndarray, np.ndarray]:
    """The flow from ``current`` back to ``previous`` (8-bit gray) and where it is trusted."""
    backward = dis_flow(current, previous, preset)
    return backward, trusted(backward, dis_flow(previous, current, preset))


@dataclass(frozen=True)
class Motion:
    """How the current frame came from the previous one: the flow back and where it is trusted."""

    backward: np.ndarray  # (h, w, 2) float32, current -> previous
    trust: np.ndarray     # (h, w) bool


class ColourCarrier:
    """Stabilises a stream of predicted ab maps, frame after frame (one instance per clip).

    Per frame, in display order: ``follow`` its small L (8-bit, ``l_to_uint8``), which finds
    the motion from the previous frame (None at the first frame and at a new shot) and moves
    the colour hints along; then ``blend`` the frame's predicted ab ((h, w, 2) float32, Lab
    units) with that motion, which returns the ab to show. The two are apart so that a batch
    of frames can be followed (and given its hints) before the network colours them.

    ``hints`` is a hint map of the first frame ((h, w, 3): ab and the 0/1 mask, as
    ``colorize.hints``) that travels with what it was painted on: each hinted pixel moves
    along the flow, is dropped where the flow is not trusted (it went out of view or behind
    something) and all are dropped at a new shot (a different scene). A ``carry`` of 0 gives
    frame-by-frame colour that still carries the hints.
    """

    def __init__(self, carry: float = CARRY, hints: np.ndarray | None = None) -> None:
        self.carry = carry
        self.hints = hints
        self.new_shots = 0
        self._l: np.ndarray | None = None
        self._ab: np.ndarray | None = None

    def __call__(self, l_small: np.ndarray, ab: np.ndarray) -> np.ndarray:
        return self.blend(ab, self.follow(l_small))

    def follow(self, l_small: np.ndarray) -> Motion | None:
        found = None
        if self._l is not None and self._l.shape == l_small.shape:
            found = Motion(*motion(self._l, l_small))
            if found.trust.mean() < NEW_SHOT_TRUST:
                found = None
        if found is None:
            self.new_shots += 1
            if self._l is not None:
                self.hints = None
        elif self.hints is not None:
            self.hints = carry_hints(self.hints, found)
        self._l = l_small
        return found

    def blend(self, ab: np.ndarray, found: Motion | None) -> np.ndarray:
        if found is not None and self.carry:
            weight = self.carry * cv2.blur(found.trust.astype(np.float32), (_TRUST_BLUR, _TRUST_BLUR))[..., None]
            ab = weight * warp(self._ab, found.backward) + (1 - weight) * ab
        self._ab = ab
        return ab


def carry_hints(hints: np.ndarray, found: Motion) -> np.ndarray:
    """A hint map moved onto the current frame: nearest-pixel moves (a hint neither blurs nor
    shrinks however far it travels), nothing where the flow is not trusted."""
    moved = cv2.remap(hints, *_targets(found.backward), cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    moved[~found.trust] = 0
    return moved


def warping_errors(videos: Mapping[str, Sequence[np.ndarray]], truth: Sequence[np.ndarray]) -> dict[str, tuple[float, float]]:
    """Lai et al. 2018's warping error of each video ((H, W, 3) uint8 RGB frames, in order):
    ``{name: (RGB figure, chroma figure)}``.

    For each pair of consecutive frames: the mean over non-occluded pixels of the squared
    distance between frame t and frame t-1 warped onto it, with the flow and the occlusions of
    the ground truth (``truth``, the same frames in true colour; the flow runs on its gray,
    DIS at the medium preset, full resolution, once for all videos). Distances are RGB on a
    0..1 scale as in the paper, and CIELAB a, b over 100 (the chroma figure): a colorizer
    keeps the input's L, so its own flicker is all in a and b, while the RGB figure also
    counts the L changes every method shares (flow errors, lighting). Pairs at a new shot
    (``NEW_SHOT_TRUST``) are left out: the colour there should change.
    """
    sums = {name: np.zeros(2) for name in videos}
    pairs = 0
    for t in range(1, len(truth)):
        previous, current = (cv2.cvtColor(truth[i], cv2.COLOR_RGB2GRAY) for i in (t - 1, t))
        backward, trust = motion(previous, current, cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        if trust.mean() < NEW_SHOT_TRUST:
            continue
        pairs += 1
        for name, frames in videos.items():
            sums[name] += [_warped_gap(frames[t - 1], frames[t], backward, trust, chroma) for chroma in (False, True)]
    return {name: (float(total[0] / max(pairs, 1)), float(total[1] / max(pairs, 1))) for name, total in sums.items()}


def _warped_gap(previous: np.ndarray, current: np.ndarray, backward: np.ndarray, trust: np.ndarray, chroma: bool) -> float:
    """Mean squared distance between ``current`` and ``previous`` moved onto it, over ``trust``."""
    def values(frame: np.ndarray) -> np.ndarray:
        return image_to_lab(frame)[..., 1:] / 100 if chroma else frame.astype(np.float32) / 255

    gap = values(current) - warp(values(previous), backward)
    return float(np.sum(gap**2, axis=-1)[trust].mean())
