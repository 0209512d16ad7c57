"""Float vs post-training-quantized accuracy of a float Keras CNN with batch norm (prints figures; no assertions).

    .venv/bin/python benchmarks/quantize_float_cnn.py [--dataset mnist] [--size 16] [--epochs 3]
        [--fine-tune-epochs 0] [--out DIR]

Trains, for a few epochs, a float CNN written the usual Keras way (bias-free Conv2D + BatchNormalization +
ReLU, a depthwise-separable block, Dropout, softmax output), saves it as a float .h5, then runs the
command a user would: `python -m fixyfpga quantize float.h5 --config q.yaml --out quantized.h5`, and
prints the report's figures (whole test split).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def float_cnn(input_shape, classes, width):
    from tensorflow import keras
    L = keras.layers
    return keras.Sequential([
        keras.Input(input_shape),
        L.Conv2D(width, 3, padding="same", use_bias=False), L.BatchNormalization(), L.ReLU(),
        L.MaxPooling2D(2),
        L.DepthwiseConv2D(3, padding="same", use_bias=False), L.BatchNormalization(), L.Activation("relu"),
        L.Conv2D(2 * width, 1, use_bias=False), L.BatchNormalization(), L.ReLU(),
        L.MaxPooling2D(2),
        L.Flatten(), L.Dropout(0.25),
        L.Dense(classes), L.Activation("softmax"),
    ], name="float_bn_cnn")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    ap.add_argument("--size", type=int, default=16, help="model input height and width")
    ap.add_argument("--width", type=int, default=12, help="filters of the first convolution")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--train-images", type=int, default=12000)
    ap.add_argument("--fine-tune-epochs", type=int, default=0, help="quantization-aware fine-tune after PTQ")
    ap.add_argument("--fine-tune-images", type=int, default=12000)
    ap.add_argument("--out", help="folder for float.h5, quantized.h5/.json (default: a temporary folder)")
    args = ap.parse_args()

    import tensorflow as tf
    from tensorflow import keras
    from fixyfpga.data import ImageMap, load_dataset, scale, to_model_input
    ds = load_dataset(args.dataset, args.data_dir, ImageMap(resize="resize"))    # e.g. 28x28 -> 2x2 average -> 16x16
    shape = (args.size, args.size, ds.image_shape[-1])
    tf.keras.utils.set_random_seed(0)
    model = float_cnn(shape, ds.num_classes, args.width)
    n = min(args.train_images, len(ds.y_train))
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    model.fit(scale(to_model_input(ds.x_train[:n], shape, ds.image_map)), ds.y_train[:n], epochs=args.epochs, batch_size=64,
              verbose=0)
    train_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        out.mkdir(parents=True, exist_ok=True)
        model.save(out / "float.h5")
        (out / "q.yaml").write_text(f"input: {{resize: resize}}\nquantize:\n  calibration: {{dataset: {args.dataset}, images: 1000}}\n"
                                    f"  fine_tune: {{epochs: {args.fine_tune_epochs}, images: {args.fine_tune_images}}}\n")
        cmd = [sys.executable, "-m", "fixyfpga", "quantize", str(out / "float.h5"), "--config", str(out / "q.yaml"),
               "--data-dir", args.data_dir, "--out", str(out / "quantized.h5")]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=3600, check=False)
        if proc.returncode != 0:
            sys.exit(f"quantize failed with exit code {proc.returncode}:\n{proc.stderr[-2000:]}")
        quant_s = time.perf_counter() - t0
        rep = json.loads((out / "quantized.json").read_text())
    print(f"{args.dataset} {shape}: trained {args.epochs} epochs on {n} images in {train_s:.1f} s; "
          f"quantize command {quant_s:.1f} s")
    print(" ".join(cmd[1:]))
    print(proc.stdout.strip())
    for stage, t in rep["test"].items():
        print(f"{stage}: float {t['float_accuracy']:.4f}  quantized {t['quantized_accuracy']:.4f}  "
              f"drop {t['float_accuracy'] - t['quantized_accuracy']:+.4f}  top-1 agreement {t['top1_agreement']:.4f}  "
              f"({t['images']} test images)")


if __name__ == "__main__":
    main()
