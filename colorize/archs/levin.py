"""Colorization by optimisation: hint colours spread to neighbours of similar lightness.

Levin, Lischinski & Weiss 2004, "Colorization using Optimization". The premise: neighbouring
pixels with similar intensity should have similar colour. Each unhinted pixel's ab is asked
to equal a weighted mean of its 8 neighbours' ab, with weights that fall off with the
lightness difference,

    w_rs ∝ exp(-(Y_r - Y_s)² / 2σ_r²)     (σ_r² from the variance of Y around r),

while hinted pixels keep their given colour. That is one sparse linear system, solved once
per photo for a and b together (scipy's sparse LU). No training, no weights: a classroom
contrast to the networks, and a fine engine when the user paints many strokes. It runs at
the working size and the pipeline upsamples its ab like any model's.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
import torch
import torch.nn.functional as F

from ..hints import resize_hints
from .common import ColorizationModel

_OFFSETS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
_MIN_SIGMA = 2e-6       # Levin et al.'s floor on the local variance
_VARIANCE_FACTOR = 0.6  # their scaling of the window variance
EDGE_STEP = 0.05        # a lightness step (Y in [0, 1]) this big passes on exp(-1/2) of the colour at most
_MAX_EDGE_PENALTY = np.log(1e4)  # even the strongest edge leaks 1e-4: no region is cut off (a singular system)
COLOUR_GUIDE_WEIGHT = 4.0  # a colour guide's ab step counts this many times a lightness step of the same size


def affinity_weights(y: np.ndarray, edge_step: float | None = EDGE_STEP) -> np.ndarray:
    """(8, H, W) normalised weights of each pixel's 8 neighbours (0 outside the image).

    ``y`` is lightness in [0, 1], (H, W), or a guide of several channels, (C, H, W), whose
    squared differences add up (lightness plus a network's predicted colour: then colour also
    stops where the network sees a colour edge that lightness does not show). Follows the
    reference code: σ² is 0.6 x the window variance, raised so the closest neighbour keeps at
    least 1 % weight. That σ is local, so in a busy window (a patterned dress against a wall)
    even a strong edge looks ordinary and colour leaks across it; a second, global factor
    exp(-Δ² / 2·edge_step²) makes every strong step a barrier wherever it is, one that passes
    at least 1e-4 of the colour (None: the reference weights).
    """
    guide = y if y.ndim == 3 else y[None]
    height, width = guide.shape[-2:]
    padded = np.pad(guide, ((0, 0), (1, 1), (1, 1)), constant_values=np.nan)
    neighbours = np.stack([padded[:, 1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width] for dy, dx in _OFFSETS], axis=1)
    inside = ~np.isnan(neighbours[0])
    variance = sum(np.nanvar(np.concatenate([channel, centre[None]]), axis=0) for channel, centre in zip(neighbours, guide))
    squared = np.where(inside, ((neighbours - guide[:, None]) ** 2).sum(axis=0), np.inf)
    closest = squared.min(axis=0)
    closest = np.where(np.isinf(closest), 0.0, closest)  # a 1x1 image: no neighbour at all
    sigma = np.maximum(_VARIANCE_FACTOR * variance, -closest / np.log(0.01))
    exponent = -squared / np.maximum(sigma, _MIN_SIGMA)
    if edge_step is not None:
        exponent -= np.minimum(squared / (2 * edge_step**2), _MAX_EDGE_PENALTY)
    # Normalised from the closest neighbour down, so a pixel walled in by strong edges on every
    # side still leans on its likeliest neighbour instead of all its weights underflowing to 0.
    peak = exponent.max(axis=0)
    weights = np.exp(exponent - np.where(np.isfinite(peak), peak, 0.0))
    return weights / np.maximum(weights.sum(axis=0), np.finfo(weights.dtype).tiny)


def levin_system(y: np.ndarray, mask: np.ndarray, edge_step: float | None = EDGE_STEP,
                 fade: float = 0.0) -> scipy.sparse.linalg.SuperLU:
    """The factorised linear system whose solution spreads the colours set where ``mask``
    (H, W) is: each free pixel equals (1 - ``fade``) x the weighted mean of its neighbours,
    each hinted pixel its hint (``y`` and ``edge_step`` as in ``affinity_weights``)."""
    height, width = y.shape[-2:]
    count = height * width
    index = np.arange(count).reshape(height, width)
    padded = np.pad(index, 1, constant_values=-1)
    free = ~mask.reshape(-1).astype(bool)
    weights = affinity_weights(y.astype(np.float64), edge_step)
    rows, cols, values = [np.arange(count)], [np.arange(count)], [np.ones(count)]
    for k, (dy, dx) in enumerate(_OFFSETS):
        neighbour = padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width].reshape(-1)
        keep = free & (neighbour >= 0)
        rows.append(np.flatnonzero(keep))
        cols.append(neighbour[keep])
        values.append(-(1.0 - fade) * weights[k].reshape(-1)[keep])
    system = scipy.sparse.csc_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(count, count))
    return scipy.sparse.linalg.splu(system)


def propagate(y: np.ndarray, hint_ab: np.ndarray, mask: np.ndarray, edge_step: float | None = EDGE_STEP,
              fade: float = 0.0) -> np.ndarray:
    """Solve for ab everywhere given ``hint_ab`` (2, H, W) where ``mask`` (H, W) is set
    (``y`` and ``edge_step`` as in ``affinity_weights``).

    With ``fade`` > 0 each pixel asks for only (1 - fade) of its neighbours' mean, so colour
    fades towards zero far from every hint; even a tiny fade stops it at strong edges, where
    the links are weaker than the fade. Returns (2, H, W). With no hints ab is zero (gray).
    """
    if not mask.any():
        return np.zeros((2, *y.shape[-2:]))
    targets = (hint_ab * mask.astype(bool)).reshape(2, -1).T
    solution = levin_system(y, mask, edge_step, fade).solve(np.ascontiguousarray(targets))
    return solution.T.reshape(2, *y.shape[-2:])


class _Solve(torch.autograd.Function):
    """x = A⁻¹ b for a factorised A, differentiable in b: b's gradient is A⁻ᵀ times x's,
    one more solve with the same factors. This lets a network learn through the propagation."""

    @staticmethod
    def forward(ctx, targets: torch.Tensor, factors: scipy.sparse.linalg.SuperLU) -> torch.Tensor:
        ctx.factors = factors
        return torch.from_numpy(factors.solve(targets.detach().double().cpu().numpy())).to(targets)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        solved = ctx.factors.solve(np.ascontiguousarray(grad.double().cpu().numpy()), trans="T")
        return torch.from_numpy(solved).to(grad), None


def _propagate_tensor(guide: torch.Tensor, hint: torch.Tensor, fade: float) -> torch.Tensor:
    """``propagate`` for one guide (C, H, W) and hint map (3, H, W), differentiable in the
    hint colours."""
    mask = hint[2] > 0.5
    if not mask.any():
        return hint[:2] * 0
    factors = levin_system(guide.double().cpu().numpy() / 100, mask.cpu().numpy(), fade=fade)
    targets = (hint[:2] * mask).flatten(1).T.contiguous()
    return _Solve.apply(targets, factors).T.reshape(hint[:2].shape)


def propagate_hints(l: torch.Tensor, hints: torch.Tensor, side: int | None = None, fade: float = 0.0,
                    colour_guide: torch.Tensor | None = None) -> torch.Tensor:
    """``propagate`` for a batch: L (N, 1, H, W) in Lab units and hint maps (N, 3, H, W) ->
    ab (N, 2, H, W). With ``side``, each system is solved at about ``side``² pixels and the
    result upsampled: the solve grows faster than the pixel count, the spread colour is smooth.
    ``colour_guide`` (N, 2, H, W), ab in Lab units, joins lightness in the affinities (weighted
    by ``COLOUR_GUIDE_WEIGHT``). The result is linear in the hint colours, and autograd follows
    them through the solve; lightness, mask and guide only shape the system, a constant to it."""
    l = l.detach()
    guide = l if colour_guide is None else torch.cat([l, COLOUR_GUIDE_WEIGHT * colour_guide.detach().to(l)], dim=1)
    height, width = l.shape[-2:]
    scale = 1.0 if side is None else min(1.0, side / (height * width) ** 0.5)
    shape = (max(1, round(height * scale)), max(1, round(width * scale)))
    small_guide = F.interpolate(guide, size=shape, mode="area") if scale < 1 else guide
    small_hints = resize_hints(hints.to(l), shape)
    solved = torch.stack([_propagate_tensor(channels, hint, fade) for channels, hint in zip(small_guide, small_hints)])
    return F.interpolate(solved, size=(height, width), mode="bilinear", align_corners=False) if scale < 1 else solved


class LevinPropagation(ColorizationModel):
    """Levin et al. 2004 as a model: L and a hint map in, ab out; nothing to learn."""

    accepts_hints = True
    needs_weights = False

    def forward(self, l: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        if hints is None:
            return torch.zeros(l.shape[0], 2, *l.shape[-2:], dtype=l.dtype)
        return propagate_hints(l, hints)
