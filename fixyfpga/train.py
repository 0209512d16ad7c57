"""Quantization-aware training of zoo models (QKeras) on a Dataset.

One recipe for every run, so baseline and FixyNN numbers differ only in what is trainable: Adam with a
cosine-decayed learning rate, sparse categorical cross-entropy on logits (zoo models output logits),
and the same light augmentation (random shifts of up to 2 pixels; horizontal flips only for datasets
whose labels survive a mirror, see data.hflip_safe). Seeds are fixed, so a run is reproducible.
"""

import time

import numpy as np

from fixyfpga.data import scale, to_model_input
from fixyfpga.errors import FixyError

MAX_SHIFT = 2          # pixels; small enough not to push CIFAR objects or digits out of frame
EVAL_BATCH = 500


def set_seed(seed):
    """Seed Python, numpy and TensorFlow; call before building a model so its initial weights repeat."""
    import tensorflow as tf
    tf.keras.utils.set_random_seed(int(seed))


def _batches_class():
    from tensorflow import keras

    class AugmentedBatches(keras.utils.Sequence):
        """Float batches from uint8 images, reshuffled and re-augmented every epoch from one seeded rng."""

        def __init__(self, images, labels, batch_size, seed, augment, hflip):
            super().__init__()
            self.images, self.labels = images, labels
            self.batch_size, self.augment, self.hflip = batch_size, augment, hflip
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(labels))

        def __len__(self):
            return int(np.ceil(len(self.labels) / self.batch_size))

        def __getitem__(self, i):
            idx = self.order[i * self.batch_size:(i + 1) * self.batch_size]
            x = self.images[idx]
            if self.augment:
                x = self._augment(x)
            return scale(x), self.labels[idx]

        def _augment(self, x):
            n, h, w, _ = x.shape
            padded = np.pad(x, ((0, 0), (MAX_SHIFT, MAX_SHIFT), (MAX_SHIFT, MAX_SHIFT), (0, 0)))
            dy, dx = self.rng.integers(0, 2 * MAX_SHIFT + 1, size=(2, n))
            out = np.empty_like(x)
            for k in range(n):
                out[k] = padded[k, dy[k]:dy[k] + h, dx[k]:dx[k] + w]
            if self.hflip:
                flip = self.rng.random(n) < 0.5
                out[flip] = out[flip, :, ::-1]
            return out

        def on_epoch_end(self):
            self.order = self.rng.permutation(len(self.labels))

    return AugmentedBatches


def _progress_callback(epochs, steps, desc):
    from tensorflow import keras
    from tqdm.auto import tqdm

    class EpochBars(keras.callbacks.Callback):
        """One tqdm bar per epoch, with running loss and accuracy."""

        def on_epoch_begin(self, epoch, logs=None):
            self.bar = tqdm(total=steps, desc=f"{desc} epoch {epoch + 1}/{epochs}", unit="batch", leave=False)

        def on_train_batch_end(self, batch, logs=None):
            self.bar.update(1)
            if logs:
                self.bar.set_postfix(loss=f"{logs.get('loss', 0):.3f}", acc=f"{logs.get('accuracy', 0):.3f}")

        def on_epoch_end(self, epoch, logs=None):
            self.bar.close()
            logs = logs or {}
            tqdm.write(f"{desc} epoch {epoch + 1}/{epochs}: loss {logs.get('loss', float('nan')):.4f} "
                       f"acc {logs.get('accuracy', float('nan')):.4f}")

    return EpochBars()


def set_trainable(model, trainable):
    """Make only the layers named in `trainable` trainable (None: all). Unknown names are errors."""
    names = [layer.name for layer in model.layers]
    if trainable is None:
        for layer in model.layers:
            layer.trainable = True
        return
    trainable = set(trainable)
    unknown = sorted(trainable - set(names))
    if unknown:
        raise FixyError(f"trainable layer(s) {', '.join(unknown)} not in model '{model.name}'; layers: "
                        f"{', '.join(names)}")
    for layer in model.layers:
        layer.trainable = layer.name in trainable


def predict_logits(model, images_uint8, batch_size=EVAL_BATCH):
    """Logits for uint8 images that are already at the model's input shape."""
    return model.predict(scale(images_uint8), batch_size=batch_size, verbose=0)


def accuracy(model, images, labels, batch_size=EVAL_BATCH):
    """Top-1 accuracy on raw dataset images (preprocessed here to the model's input)."""
    x = to_model_input(images, model.input_shape[1:])
    return float(np.mean(np.argmax(predict_logits(model, x, batch_size), axis=1) == labels))


def train_model(model, dataset, epochs, batch_size=128, lr=1e-2, seed=0, augment=True, trainable=None,
                progress=True, hflip=None, desc="train"):
    """Train `model` on `dataset` and measure test accuracy on the full test split.

    trainable: names of the layers to train (None: all), e.g. the back-end layers for FixyNN fine-tuning.
    hflip: horizontal flips during augmentation; None decides from the dataset name.
    Returns {test_accuracy, epochs, seconds, history}.
    """
    import tensorflow as tf
    from tensorflow import keras

    if epochs < 1:
        raise FixyError(f"epochs must be at least 1, got {epochs}")
    out_units = int(model.output_shape[-1])
    if out_units < dataset.num_classes:
        raise FixyError(f"model '{model.name}' has {out_units} outputs but dataset '{dataset.name}' has "
                        f"{dataset.num_classes} classes; build it with num_classes={dataset.num_classes}")
    input_shape = tuple(model.input_shape[1:])
    x_train = to_model_input(dataset.x_train, input_shape)
    hflip = dataset.hflip_ok if hflip is None else bool(hflip)

    set_seed(seed)
    set_trainable(model, trainable)
    batches = _batches_class()(x_train, dataset.y_train, batch_size, seed, augment, hflip)
    schedule = keras.optimizers.schedules.CosineDecay(lr, decay_steps=epochs * len(batches), alpha=0.05)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    callbacks = [_progress_callback(epochs, len(batches), desc)] if progress else []
    start = time.perf_counter()
    with tf.device("/CPU:0"):
        hist = model.fit(batches, epochs=epochs, verbose=0, callbacks=callbacks, shuffle=False)
    seconds = time.perf_counter() - start
    test_acc = accuracy(model, dataset.x_test, dataset.y_test)
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    return {"test_accuracy": test_acc, "epochs": int(epochs), "seconds": round(seconds, 2), "history": history}
