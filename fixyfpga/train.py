"""Quantization-aware training of zoo models (QKeras) on a Dataset.

One recipe for every run, so baseline and FixyNN numbers differ only in what is trainable: Adam,
sparse categorical cross-entropy on logits (zoo models output logits), and by default the same light
augmentation (fixyfpga.augment.LIGHT: random shifts of up to 2 pixels; horizontal flips only for datasets
whose labels survive a mirror, see data.hflip_safe; the default model's source training passes a
stronger recipe). Seeds are fixed, so a run is reproducible. Two schedules:

- fixed budget (`patience=None`): `epochs` epochs, learning rate cosine-decayed to 5% of `lr`;
- to convergence (`patience=N`): a seeded, class-stratified `val_fraction` of the train split is held out
  as a validation split (never trained on); the learning rate stays at `lr` and is multiplied by
  LR_FACTOR after every `lr_patience` epochs without a new best validation accuracy; training stops after
  `patience` epochs without one, or at `epochs` (the maximum), and the weights of the best epoch (highest
  validation accuracy; on a tie, lower validation loss) are restored before the test split is measured.
"""

import time

import numpy as np

from fixyfpga.augment import recipe
from fixyfpga.data import scale, to_model_input
from fixyfpga.errors import FixyError

EVAL_BATCH = 500
LR_FACTOR = 0.2        # learning-rate cut on a validation plateau (training to convergence)
MIN_LR_SHARE = 1e-3    # the learning rate is never cut below lr * MIN_LR_SHARE


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
            self.batch_size, self.hflip = batch_size, hflip
            self.augment = augment if augment.shift or hflip or augment.jitters else None
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(labels))

        def __len__(self):
            return int(np.ceil(len(self.labels) / self.batch_size))

        def __getitem__(self, i):
            idx = self.order[i * self.batch_size:(i + 1) * self.batch_size]
            x = self.images[idx]
            if self.augment is not None:
                x = self.augment.apply(x, self.rng, self.hflip)
            return scale(x), self.labels[idx]

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
            val = f" val_acc {logs['val_accuracy']:.4f}" if "val_accuracy" in logs else ""
            tqdm.write(f"{desc} epoch {epoch + 1}/{epochs}: loss {logs.get('loss', float('nan')):.4f} "
                       f"acc {logs.get('accuracy', float('nan')):.4f}{val}")

    return EpochBars()


def validation_split(labels, fraction, seed):
    """(train indices, validation indices): a seeded `fraction` of every class held out (at least one
    image of each class with two or more images), both sorted."""
    if not 0 < fraction < 1:
        raise FixyError(f"val_fraction must be between 0 and 1 (exclusive), got {fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    held = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 2:
            continue
        take = min(len(idx) - 1, max(1, int(round(fraction * len(idx)))))
        held.append(rng.permutation(idx)[:take])
    val = np.sort(np.concatenate(held)) if held else np.array([], dtype=np.int64)
    if len(val) == 0:
        raise FixyError(f"cannot carve a validation split from {len(labels)} training images; add images or "
                        f"train with a fixed epoch budget (no patience)")
    train = np.setdiff1d(np.arange(len(labels)), val)
    return train, val


def _convergence_callback(lr, patience, lr_patience):
    from tensorflow import keras

    class BestCheckpoint(keras.callbacks.Callback):
        """Keeps the weights of the best epoch (highest validation accuracy; on a tie, lower validation
        loss), cuts the learning rate on plateaus, stops after `patience` epochs without a new best and
        restores the best weights when training ends."""

        def __init__(self):
            super().__init__()
            self.best, self.best_loss, self.best_epoch, self.best_weights, self.wait = -1.0, float("inf"), 0, None, 0
            self.lr, self.lr_cuts, self.converged = float(lr), [], False

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            val, loss = float(logs.get("val_accuracy", float("nan"))), float(logs.get("val_loss", float("inf")))
            if val > self.best or (val == self.best and loss < self.best_loss):
                self.best, self.best_loss, self.best_epoch, self.wait = val, loss, epoch + 1, 0
                self.best_weights = self.model.get_weights()
                return
            self.wait += 1
            if self.wait >= patience:
                self.model.stop_training = True
                self.converged = True
            elif self.wait % lr_patience == 0 and self.lr > lr * MIN_LR_SHARE:
                self.lr = max(self.lr * LR_FACTOR, lr * MIN_LR_SHARE)
                keras.backend.set_value(self.model.optimizer.learning_rate, self.lr)
                self.lr_cuts.append(epoch + 1)

        def on_train_end(self, logs=None):
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return BestCheckpoint()


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


def accuracy(model, images, labels, batch_size=EVAL_BATCH, image_map=None):
    """Top-1 accuracy on raw dataset images (brought here to the model's input by `image_map`)."""
    x = to_model_input(images, model.input_shape[1:], image_map)
    return float(np.mean(np.argmax(predict_logits(model, x, batch_size), axis=1) == labels))


def train_model(model, dataset, epochs, batch_size=128, lr=1e-2, seed=0, augment=True, trainable=None,
                progress=True, hflip=None, desc="train", patience=None, lr_patience=None, val_fraction=0.1):
    """Train `model` on `dataset` and measure test accuracy on the full test split.

    trainable: names of the layers to train (None: all), e.g. the back-end layers for FixyNN fine-tuning.
    augment: True (fixyfpga.augment.LIGHT, the transfer protocol's), False (none) or an Augmentation recipe.
    hflip: horizontal flips during augmentation; None: the recipe's setting, else the dataset name decides.
    patience: None trains exactly `epochs` epochs (cosine schedule); N trains to convergence on a held-out
    validation split (see the module docstring) with `epochs` as the maximum; lr_patience (default
    max(1, patience // 2)) epochs without improvement cut the learning rate.
    Returns {test_accuracy, epochs, seconds, history}, to convergence also {best_epoch, epochs_run,
    val_accuracy, val_images, train_images, stopped_early, converged, lr_cuts}: `converged` is True when
    the patience rule stopped training (`patience` epochs without a new best), False when the maximum
    epoch count ended it first (the arm may still have been improving).
    """
    import tensorflow as tf
    from tensorflow import keras

    if epochs < 1:
        raise FixyError(f"epochs must be at least 1, got {epochs}")
    out_units = int(model.output_shape[-1])
    if out_units < dataset.num_classes:
        raise FixyError(f"model '{model.name}' has {out_units} outputs but dataset '{dataset.name}' has "
                        f"{dataset.num_classes} classes; build it with num_classes={dataset.num_classes}")
    if patience is not None and (isinstance(patience, bool) or not isinstance(patience, int) or patience < 1):
        raise FixyError(f"patience must be an integer >= 1 (or None for a fixed epoch budget), got {patience!r}")
    input_shape = tuple(model.input_shape[1:])
    x_train, y_train = to_model_input(dataset.x_train, input_shape, dataset.image_map), dataset.y_train
    augment = recipe(augment)
    if augment.hflip is not None:
        hflip = augment.hflip
    hflip = dataset.hflip_ok if hflip is None else bool(hflip)
    validation = None
    if patience is not None:
        keep, held = validation_split(y_train, val_fraction, seed)
        validation = (scale(x_train[held]), y_train[held])
        x_train, y_train = x_train[keep], y_train[keep]

    set_seed(seed)
    set_trainable(model, trainable)
    batches = _batches_class()(x_train, y_train, batch_size, seed, augment, hflip)
    if patience is None:
        rate = keras.optimizers.schedules.CosineDecay(lr, decay_steps=epochs * len(batches), alpha=0.05)
    else:
        rate = float(lr)
    model.compile(optimizer=keras.optimizers.Adam(rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    callbacks = [_progress_callback(epochs, len(batches), desc)] if progress else []
    best = None
    if patience is not None:
        best = _convergence_callback(lr, patience, lr_patience or max(1, patience // 2))
        callbacks.insert(0, best)
    start = time.perf_counter()
    with tf.device("/CPU:0"):
        hist = model.fit(batches, epochs=epochs, verbose=0, callbacks=callbacks, shuffle=False,
                         validation_data=validation, validation_batch_size=EVAL_BATCH)
    seconds = time.perf_counter() - start
    test_acc = accuracy(model, dataset.x_test, dataset.y_test, image_map=dataset.image_map)
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    result = {"test_accuracy": test_acc, "epochs": int(epochs), "seconds": round(seconds, 2), "history": history}
    if best is not None:
        run = len(history.get("loss", []))
        result.update({"best_epoch": int(best.best_epoch), "epochs_run": run, "val_accuracy": float(best.best),
                       "val_images": int(len(validation[1])), "train_images": int(len(y_train)),
                       "stopped_early": run < epochs, "converged": bool(best.converged),
                       "lr_cuts": list(best.lr_cuts)})
    return result
