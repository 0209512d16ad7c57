"""Real images that need no dataset and no network: crops of the photographs that ship inside
installed packages (matplotlib's sample data). Used for C-simulation when no dataset folder exists."""

from pathlib import Path

import numpy as np

from fixyfpga.errors import FixyError


def _photos():
    import matplotlib
    from matplotlib import image as mpimg
    sample_dir = Path(matplotlib.get_data_path()) / "sample_data"
    photos = []
    for name in ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png"):
        path = sample_dir / name
        if path.is_file():
            img = mpimg.imread(str(path))
            if img.dtype != np.uint8:
                img = np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)
            photos.append(img[..., :3] if img.ndim == 3 else np.repeat(img[..., None], 3, axis=2))
    if not photos:
        raise FixyError("no sample photographs found in matplotlib's data folder; give a dataset folder instead")
    return photos


def photo_crops(n, shape=(32, 32, 3), seed=0):
    """`n` uint8 images of `shape`: random square crops (16 to 256 px) of real photos, resized by
    nearest-neighbour sampling."""
    rng = np.random.default_rng(seed)
    photos = _photos()
    h, w, c = shape
    out = np.empty((n, h, w, c), dtype=np.uint8)
    for i in range(n):
        photo = photos[i % len(photos)]
        size = int(rng.integers(16, min(256, photo.shape[0], photo.shape[1]) + 1))
        y = int(rng.integers(0, photo.shape[0] - size + 1))
        x = int(rng.integers(0, photo.shape[1] - size + 1))
        rows = y + (np.arange(h) * size) // h
        cols = x + (np.arange(w) * size) // w
        crop = photo[rows][:, cols]
        out[i] = crop[..., :c] if c <= 3 else np.repeat(crop[..., :1], c, axis=2)
    return out
