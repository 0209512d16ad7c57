"""Training-time image augmentation: one recipe type, applied to uint8 batches with one seeded rng.

Two recipes are named here:

- LIGHT, the transfer protocol's (both arms of every target, and task fine-tuning): random shifts of up to
  2 pixels (zero padding), horizontal flips where the dataset's labels survive a mirror;
- SOURCE, the default model's (python -m fixyfpga.train_default): a front-end that is frozen into
  hardware and shared by every task must not depend on colour, contrast or exact position, so it is trained
  on random crops of a 4-pixel zero-padded image, horizontal flips, brightness / contrast / saturation
  jitter and grayscale copies (grayscale targets arrive as one channel replicated three times, see
  fixyfpga.data.to_model_input).

Jittered images are rounded back to uint8, so the network is always trained on inputs the hardware can
receive (pixels / 256, exact in ufixed<8,0>).
"""

from dataclasses import asdict, dataclass

import numpy as np

from fixyfpga.errors import FixyError

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)    # BT.601, as fixyfpga.data's integer weights


@dataclass(frozen=True)
class Augmentation:
    shift: int = 2              # random translation of up to this many pixels (zero padding, then a crop)
    hflip: bool = None          # horizontal flips; None: the dataset decides (fixyfpga.data.hflip_safe)
    brightness: float = 0.0     # add a uniform offset in [-b, b] x 255 per image
    contrast: float = 0.0       # scale each image about its mean by a factor in [1 - c, 1 + c]
    saturation: float = 0.0     # blend with its grayscale by a factor in [1 - s, 1 + s] (3-channel images)
    grayscale: float = 0.0      # probability that an image is replaced by its grayscale, replicated

    def __post_init__(self):
        if isinstance(self.shift, bool) or not isinstance(self.shift, int) or self.shift < 0:
            raise FixyError(f"augmentation shift must be an integer >= 0, got {self.shift!r}")
        for name in ("brightness", "contrast", "saturation", "grayscale"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise FixyError(f"augmentation {name} must be a number between 0 and 1, got {value!r}")

    def describe(self, hflip):
        """One line for records and reports; `hflip`: whether flips apply to this dataset."""
        parts = [f"random shifts up to {self.shift} px" if self.shift else None,
                 "horizontal flips" if hflip else None,
                 f"brightness +-{self.brightness:g}" if self.brightness else None,
                 f"contrast x(1+-{self.contrast:g})" if self.contrast else None,
                 f"saturation x(1+-{self.saturation:g})" if self.saturation else None,
                 f"grayscale copies p={self.grayscale:g}" if self.grayscale else None]
        parts = [p for p in parts if p]
        return ", ".join(parts) if parts else "none"

    def as_dict(self):
        return asdict(self)

    @property
    def jitters(self):
        return bool(self.brightness or self.contrast or self.saturation or self.grayscale)

    def apply(self, x, rng, hflip):
        """Augmented copy of uint8 batch `x` (N, H, W, C); `hflip`: flips allowed for this dataset."""
        out = shift_crop(x, self.shift, rng) if self.shift else np.array(x, copy=True)
        if hflip:
            flip = rng.random(len(out)) < 0.5
            out[flip] = out[flip, :, ::-1]
        if self.jitters:
            out = self._jitter(out, rng)
        return out

    def _jitter(self, x, rng):
        n = len(x)
        y = x.astype(np.float32)
        colour = y.shape[-1] == 3
        if self.brightness:
            y += (rng.uniform(-self.brightness, self.brightness, n) * 255.0).astype(np.float32)[:, None, None, None]
        if self.contrast:
            factor = rng.uniform(1 - self.contrast, 1 + self.contrast, n).astype(np.float32)[:, None, None, None]
            mean = y.mean(axis=(1, 2, 3), keepdims=True)
            y = mean + factor * (y - mean)
        if colour and self.saturation:
            factor = rng.uniform(1 - self.saturation, 1 + self.saturation, n).astype(np.float32)[:, None, None, None]
            grey = (y @ _LUMA)[..., None]
            y = grey + factor * (y - grey)
        if colour and self.grayscale:
            pick = rng.random(n) < self.grayscale
            y[pick] = np.repeat((y[pick] @ _LUMA)[..., None], 3, axis=-1)
        return np.clip(np.rint(y), 0, 255).astype(np.uint8)


def shift_crop(x, shift, rng):
    """Each image of `x` translated by a random (dy, dx) in [-shift, shift] (zero padding), same shape."""
    n, h, w, _ = x.shape
    padded = np.pad(x, ((0, 0), (shift, shift), (shift, shift), (0, 0)))
    dy, dx = rng.integers(0, 2 * shift + 1, size=(2, n))
    rows = dy[:, None] + np.arange(h)[None, :]
    cols = dx[:, None] + np.arange(w)[None, :]
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


LIGHT = Augmentation(shift=2)
SOURCE = Augmentation(shift=4, brightness=0.2, contrast=0.3, saturation=0.5, grayscale=0.3)
NONE = Augmentation(shift=0, hflip=False)


def recipe(augment):
    """An Augmentation from what train_model accepts: True (LIGHT), False/None (NONE) or an Augmentation."""
    if isinstance(augment, Augmentation):
        return augment
    if augment is True:
        return LIGHT
    if augment is False or augment is None:
        return NONE
    raise FixyError(f"augment must be true, false or an Augmentation, got {augment!r}")
