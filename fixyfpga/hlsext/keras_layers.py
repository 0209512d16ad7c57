"""Keras classes of the kit's own HLS layers: subclasses that compute exactly what their parent computes
and differ only in name, so that hls4ml hands them to the kit's converter handler. Created on first use
(TensorFlow is imported lazily)."""

_CLASSES = {}
# Kit class -> the Keras class it computes like (the importer treats them alike).
PARENTS = {"FixyMaxPooling2D": "MaxPooling2D", "FixyAveragePooling2D": "AveragePooling2D"}


def _build():
    from tensorflow import keras

    class FixyMaxPooling2D(keras.layers.MaxPooling2D):
        """MaxPooling2D built by the kit's fixy_pooling2d_cl (overlapping windows or padding)."""

    class FixyAveragePooling2D(keras.layers.AveragePooling2D):
        """AveragePooling2D built by the kit's fixy_pooling2d_cl (overlapping windows or padding)."""

    for cls in (FixyMaxPooling2D, FixyAveragePooling2D):
        _CLASSES[cls.__name__] = cls


def keras_class(name):
    if not _CLASSES:
        _build()
    return _CLASSES[name]


def custom_objects():
    """{class name: class} of the kit's Keras classes."""
    if not _CLASSES:
        _build()
    return dict(_CLASSES)
