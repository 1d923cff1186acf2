"""sRGB <-> CIELAB (D65, 2° observer) in torch, and the one place for Lab normalisation.

The colour contract of the whole project lives here:

* RGB images are float32 in [0, 1], layout (N, 3, H, W), sRGB-encoded.
* L is in Lab units, 0..100; a and b are in Lab units, roughly -110..110.
* Models see ``normalize_l(L)`` in [-1, 1] and produce ``ab / AB_SCALE`` in [-1, 1]
  (a tanh output), so the constants below are the only normalisation in the code base.

The formulas follow scikit-image's ``rgb2lab``/``lab2rgb`` so that numbers agree with the
reference implementation used across colorization papers. Every conversion runs in
float32 even inside an autocast region: half precision loses about 1 ΔE in the cube roots.
"""

from __future__ import annotations

import numpy as np
import torch

L_CENTER = 50.0
L_SCALE = 50.0
AB_SCALE = 110.0

# sRGB primaries -> CIE XYZ, and the D65 reference white (scikit-image's values).
_XYZ_FROM_RGB = torch.tensor(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ],
    dtype=torch.float64,
)
_RGB_FROM_XYZ = torch.linalg.inv(_XYZ_FROM_RGB)
_D65_WHITE = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)

_EPSILON = 0.008856  # (6/29)^3: below it the Lab cube root becomes linear
_KAPPA = 7.787
_DELTA = 16.0 / 116.0


def _srgb_to_linear(rgb: torch.Tensor) -> torch.Tensor:
    """Undo the sRGB gamma: [0, 1] -> linear light."""
    return torch.where(rgb > 0.04045, ((rgb.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4, rgb / 12.92)


def _lab_f(xyz: torch.Tensor) -> torch.Tensor:
    """CIELAB's compressive function of a white-normalised XYZ component (cube root, linear near 0)."""
    return torch.where(xyz > _EPSILON, xyz.clamp(min=_EPSILON) ** (1.0 / 3.0), _KAPPA * xyz + _DELTA)


# Each uint8 channel value's contribution to the luminance Y (D65 white has Y = 1): image_l's tables.
_LUMINANCE_OF_UINT8 = (_XYZ_FROM_RGB[1][:, None] * _srgb_to_linear(torch.arange(256, dtype=torch.float64) / 255)).float().numpy()


def normalize_l(l: torch.Tensor) -> torch.Tensor:
    """Map L (0..100) to the network input range [-1, 1]."""
    return (l - L_CENTER) / L_SCALE


def normalize_ab(ab: torch.Tensor) -> torch.Tensor:
    """Map ab in Lab units to the network target range, about [-1, 1]."""
    return ab / AB_SCALE


def denormalize_ab(ab_normalized: torch.Tensor) -> torch.Tensor:
    """Map a network's tanh output back to ab in Lab units."""
    return ab_normalized * AB_SCALE


def _apply_matrix(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Multiply every pixel of an (N, 3, H, W) image by a 3x3 matrix."""
    return torch.einsum("ij,njhw->nihw", matrix.to(image), image)


def _channel_vector(vector: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return vector.to(like).view(1, 3, 1, 1)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """Convert sRGB to CIELAB.

    Args:
        rgb: (N, 3, H, W) float in [0, 1], any device.
    Returns:
        (N, 3, H, W) float32 with L in 0..100 and a, b in Lab units.
    """
    with torch.autocast(rgb.device.type, enabled=False):
        linear = _srgb_to_linear(rgb.float())
        f = _lab_f(_apply_matrix(_XYZ_FROM_RGB, linear) / _channel_vector(_D65_WHITE, linear))
        fx, fy, fz = f[:, 0:1], f[:, 1:2], f[:, 2:3]
        l = 116.0 * fy - 16.0
        a = 500.0 * (fx - fy)
        b = 200.0 * (fy - fz)
        return torch.cat([l, a, b], dim=1)


def image_l(image: np.ndarray) -> torch.Tensor:
    """The L channel of an (H, W, 3) uint8 RGB photo, (1, 1, H, W) float32.

    L depends on the luminance Y alone, and Y is a sum of one table look-up per channel (a
    uint8 has only 256 values), so a full-resolution photo skips the per-pixel gamma powers:
    4x faster than ``rgb_to_lab`` on a 4000x1000 band, equal to 2e-5 L units.
    """
    image = np.asarray(image)
    y = sum(np.take(table, image[..., channel]) for channel, table in enumerate(_LUMINANCE_OF_UINT8))
    return 116.0 * _lab_f(torch.from_numpy(y)[None, None]) - 16.0


def _lab_to_linear_rgb(lab: torch.Tensor, clamp_z: bool = False) -> torch.Tensor:
    """Lab -> linear RGB without clipping, so that out-of-gamut colours stay visible.

    ``clamp_z`` reproduces scikit-image, which sets a negative Z to zero before converting.
    """
    l, a, b = lab[:, 0:1], lab[:, 1:2], lab[:, 2:3]
    fy = (l + 16.0) / 116.0
    fz = fy - b / 200.0
    f = torch.cat([fy + a / 500.0, fy, fz.clamp(min=0.0) if clamp_z else fz], dim=1)
    xyz = torch.where(f > 0.2068966, f.clamp(min=0.2068966) ** 3, (f - _DELTA) / _KAPPA)
    return _apply_matrix(_RGB_FROM_XYZ, xyz * _channel_vector(_D65_WHITE, f))


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Convert CIELAB to sRGB, clipping out-of-gamut colours to [0, 1].

    Args:
        lab: (N, 3, H, W) float, L in 0..100, a and b in Lab units, any device.
    Returns:
        (N, 3, H, W) float32 sRGB in [0, 1].
    """
    with torch.autocast(lab.device.type, enabled=False):
        linear = _lab_to_linear_rgb(lab.float(), clamp_z=True)
        rgb = torch.where(
            linear > 0.0031308,
            1.055 * linear.clamp(min=0.0031308) ** (1.0 / 2.4) - 0.055,
            12.92 * linear,
        )
        return rgb.clamp(0.0, 1.0)


def image_to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 RGB array -> (1, 3, H, W) float32 tensor in [0, 1]."""
    return torch.from_numpy(np.require(image, requirements=["C", "W"])).permute(2, 0, 1)[None].float() / 255.0


def tensor_to_image(rgb: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) float tensor in [0, 1] -> (H, W, 3) uint8 RGB array, rounded."""
    scaled = (rgb[0].clamp(0.0, 1.0) * 255.0).round().to(torch.uint8)
    return scaled.permute(1, 2, 0).cpu().numpy()


def image_to_lab(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB array -> (H, W, 3) float32 Lab array."""
    return rgb_to_lab(image_to_tensor(image))[0].permute(1, 2, 0).numpy()


def lab_to_image(lab: np.ndarray) -> np.ndarray:
    """(H, W, 3) Lab array -> (H, W, 3) uint8 RGB array (out-of-gamut colours clipped)."""
    tensor = torch.from_numpy(np.ascontiguousarray(lab, dtype=np.float32)).permute(2, 0, 1)[None]
    return tensor_to_image(lab_to_rgb(tensor))


def mean_chroma(image: np.ndarray) -> float:
    """Mean Lab chroma sqrt(a² + b²) of an (H, W, 3) uint8 RGB photo; about 0 for black and white.

    Big photos are subsampled to about 65 000 pixels: the mean barely moves, and neither a
    1-megapixel upload nor a 50-megapixel scan pays for a full float Lab copy to answer this.
    """
    step = max(1, round(np.sqrt(image.shape[0] * image.shape[1] / 65_536)))
    lab = image_to_lab(image[::step, ::step])
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


GRAYSCALE_CHROMA = 5.0
"""Photos whose mean chroma is below this count as black and white (the threshold used to
build ../shared/data): no colour ground truth for metrics, and skipped by training."""


def is_grayscale(image: np.ndarray, threshold: float = GRAYSCALE_CHROMA) -> bool:
    """Whether an (H, W, 3) uint8 RGB photo is black and white (or nearly, e.g. faintly toned)."""
    return mean_chroma(image) < threshold


_GAMUT_TOLERANCE = 1e-4  # linear RGB this far outside [0, 1] still counts as displayable


def _outside_gamut(linear_px: torch.Tensor) -> torch.Tensor:
    """(P, 3) linear RGB -> (P,) bool: which pixels no sRGB colour can show."""
    return ((linear_px < -_GAMUT_TOLERANCE) | (linear_px > 1.0 + _GAMUT_TOLERANCE)).any(dim=1)


def _displayable_scale(l_px: torch.Tensor, ab_px: torch.Tensor, steps: int) -> torch.Tensor:
    """(P, 1) the largest factor on ab (to 1 / 2**steps) that keeps each pixel displayable,
    found by bisection: chroma can only shrink, so lightness and hue stay."""
    low = torch.zeros_like(l_px)
    high = torch.ones_like(l_px)
    for _ in range(steps):
        middle = (low + high) / 2
        linear = _lab_to_linear_rgb(torch.cat([l_px, ab_px * middle], dim=1).view(-1, 3, 1, 1)).view(-1, 3)
        ok = ~_outside_gamut(linear)[:, None]
        low = torch.where(ok, middle, low)
        high = torch.where(ok, high, middle)
    return low


def _pixels(image: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N*H*W, C)."""
    return image.permute(0, 2, 3, 1).reshape(-1, image.shape[1])


def _srgb_encoding_table(levels: int = 1 << 16) -> torch.Tensor:
    """uint8 sRGB code of each of ``levels`` evenly spaced linear values in [0, 1].

    A table look-up replaces three gamma powers per pixel; 65 536 levels are fine enough that
    the result differs from the exact rounding by at most one code, and rarely at all.
    """
    linear = torch.linspace(0.0, 1.0, levels, dtype=torch.float64)
    encoded = torch.where(linear > 0.0031308, 1.055 * linear ** (1.0 / 2.4) - 0.055, 12.92 * linear)
    return (encoded * 255.0).round().to(torch.uint8)


_SRGB_CODE_OF_LINEAR = _srgb_encoding_table()


def render_lab(l: torch.Tensor, ab: torch.Tensor, steps: int = 8) -> np.ndarray:
    """A full-resolution L (1, 1, H, W) and ab (1, 2, H, W) -> (H, W, 3) uint8 sRGB, ab fitted into gamut.

    Out-of-gamut pixels lose chroma, not lightness: clipping RGB instead would change the
    pixel's L, while scaling ab keeps L and hue (a bisection, on those pixels alone, which are
    few in a typical prediction). Each pixel is converted to linear RGB once and gamma-encoded
    by table look-up; this is most of the time a big photo spends outside the network (a
    1024x768 photo: 34 ms with a separate gamut pass and per-pixel powers, 19 ms like this).
    """
    with torch.autocast(ab.device.type, enabled=False):
        l, ab = l.float(), ab.float()
        linear = _pixels(_lab_to_linear_rgb(torch.cat([l, ab], dim=1)))
        outside = _outside_gamut(linear)
        if outside.any():
            l_out, ab_out = _pixels(l)[outside], _pixels(ab)[outside]
            fitted = torch.cat([l_out, ab_out * _displayable_scale(l_out, ab_out, steps)], dim=1)
            linear[outside] = _lab_to_linear_rgb(fitted.view(-1, 3, 1, 1)).view(-1, 3)
        levels = _SRGB_CODE_OF_LINEAR.numel() - 1
        codes = (linear.clamp(0.0, 1.0) * levels).round_().to(torch.int32)
        return _SRGB_CODE_OF_LINEAR[codes].view(*l.shape[2:], 3).cpu().numpy()


def gray_image(image: np.ndarray) -> np.ndarray:
    """The photo with its colour removed (a = b = 0): the 'gray baseline' every metric compares to.

    Rendered exactly as the pipeline renders a prediction with saturation 0, band by band so
    that a 50-megapixel scan stays within a few hundred megabytes.
    """
    out = np.empty_like(image)
    band = max(1, (1 << 20) // image.shape[1])
    for top in range(0, image.shape[0], band):
        l = image_l(image[top : top + band])
        out[top : top + band] = render_lab(l, l.new_zeros(1, 2, *l.shape[2:]))
    return out
