"""Models written the way users write them (not the zoo's style), built inside the tests and saved in
the formats the kit imports. Weights: a few seconds of training on real images, so ranges, batch-norm
statistics and saturation are realistic."""

import numpy as np


def mnist_sequential(x_train, y_train, seed=0, input_shape=(28, 28, 1)):
    """Sequential QKeras MNIST CNN: no input quantizer, activations fused into QConv2D, 'valid' padding,
    MaxPooling2D, Flatten, Dropout, QDense and a softmax output. `input_shape`: the images it is trained on
    (e.g. 32x32x3 for MNIST padded and repeated to RGB, as a model meant for colour cameras would be)."""
    import tensorflow as tf
    from qkeras import QConv2D, QDense
    tf.keras.utils.set_random_seed(seed)
    q = "quantized_bits(6,0,alpha=1)"
    model = tf.keras.Sequential([
        tf.keras.Input(tuple(input_shape)),
        QConv2D(8, (3, 3), padding="valid", activation="quantized_relu(6,0)", kernel_quantizer=q,
                bias_quantizer=q, name="conv1"),
        tf.keras.layers.MaxPooling2D((2, 2), name="pool1"),
        QConv2D(12, (3, 3), padding="valid", activation="quantized_relu(6,0)", kernel_quantizer=q,
                bias_quantizer=q, name="conv2"),
        tf.keras.layers.MaxPooling2D((2, 2), name="pool2"),
        tf.keras.layers.Flatten(name="flatten"),
        tf.keras.layers.Dropout(0.25, name="dropout"),
        QDense(10, kernel_quantizer=q, bias_quantizer="quantized_bits(8,3,alpha=1)", name="logits"),
        tf.keras.layers.Activation("softmax", name="softmax"),
    ], name="user_mnist")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train.astype(np.float32) / 256, y_train, epochs=1, batch_size=64, verbose=0)
    return model


def save_json_and_weights(model, folder, name):
    """hls4ml's example-model layout: <name>.json + <name>_weights.h5."""
    path = folder / f"{name}.json"
    path.write_text(model.to_json())
    model.save_weights(str(folder / f"{name}_weights.h5"))
    return path


def cifar_resnet(x_train, y_train, seed=0):
    """Functional QKeras ResNet-style CIFAR-10 model: QConv2DBatchnorm with strides 2 and 4, QActivation,
    residual Add on both sides of the cut, GlobalAveragePooling2D, QDense."""
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QConv2DBatchnorm, QDense, quantized_bits, quantized_relu
    tf.keras.utils.set_random_seed(seed)
    w = dict(kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 3, alpha=1))

    # The front-end is unrolled into LUTs: narrow weights keep it on a PYNQ-Z2.
    front = dict(kernel_quantizer=quantized_bits(4, 0, alpha=1), bias_quantizer=quantized_bits(8, 3, alpha=1))

    def conv_bn(filters, k, name, strides=1, q=front):
        return QConv2DBatchnorm(filters, k, strides=strides, padding="same", name=name, **q)

    x_in = tf.keras.Input((32, 32, 3), name="rgb")
    x = conv_bn(4, 3, "stem", strides=2)(x_in)                           # 16x16
    x = QActivation(quantized_relu(6, 2), name="stem_relu")(x)
    y = conv_bn(4, 3, "res1_a")(x)
    y = QActivation(quantized_relu(6, 2), name="res1_a_relu")(y)
    y = conv_bn(4, 3, "res1_b")(y)
    y = QActivation(quantized_bits(6, 2, alpha=1), name="res1_b_q")(y)
    x = tf.keras.layers.Add(name="res1_add")([x, y])
    x = QActivation(quantized_relu(6, 2), name="res1_out")(x)
    x = conv_bn(16, 3, "down", strides=4, q=w)(x)                             # 4x4
    x = QActivation(quantized_relu(6, 2), name="down_relu")(x)
    y = QConv2D(16, 1, name="res2_pw", **w)(x)
    y = QActivation(quantized_bits(6, 2, alpha=1), name="res2_q")(y)
    x = tf.keras.layers.Add(name="res2_add")([x, y])
    x = QActivation(quantized_relu(6, 2), name="res2_out")(x)
    x = tf.keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = QDense(10, name="fc", **w)(x)
    model = tf.keras.Model(x_in, x, name="user_resnet")
    model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x_train.astype(np.float32) / 256, y_train, epochs=1, batch_size=64, verbose=0)
    return model


def mixed_kinds(x_train, y_train, seed=0):
    """Functional model with the remaining layer kinds: ZeroPadding2D, a strided 'valid' QConv2D with a
    fused float 'relu', QSeparableConv2D, AveragePooling2D, QDepthwiseConv2D, Reshape and a sigmoid output."""
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense, QDepthwiseConv2D, QSeparableConv2D, quantized_bits, quantized_relu
    tf.keras.utils.set_random_seed(seed)
    wq, bq = quantized_bits(6, 0, alpha=1), quantized_bits(8, 3, alpha=1)
    x_in = tf.keras.Input((16, 16, 3), name="pixels")
    x = tf.keras.layers.ZeroPadding2D(1, name="pad")(x_in)                                     # 18x18
    x = QConv2D(8, 3, strides=2, activation="relu", kernel_quantizer=wq, bias_quantizer=bq, name="c1")(x)  # 8x8
    x = QActivation(quantized_relu(6, 2), name="c1_q")(x)
    x = QSeparableConv2D(8, 3, padding="same", depthwise_quantizer=wq, pointwise_quantizer=wq, bias_quantizer=bq,
                         activation=quantized_relu(6, 2), name="sep")(x)
    x = tf.keras.layers.AveragePooling2D(2, name="avg")(x)                                     # 4x4
    x = QDepthwiseConv2D(3, padding="same", depthwise_quantizer=wq, bias_quantizer=bq,
                         activation=quantized_relu(6, 2), name="dw")(x)
    x = QConv2D(8, 1, kernel_quantizer=wq, bias_quantizer=bq, activation=quantized_relu(6, 2), name="pw")(x)
    x = tf.keras.layers.Reshape((128,), name="reshape")(x)
    x = QDense(7, kernel_quantizer=wq, bias_quantizer=bq, name="out")(x)
    x = tf.keras.layers.Activation("sigmoid", name="sigmoid")(x)
    model = tf.keras.Model(x_in, x, name="user_mixed")
    model.compile("adam", "binary_crossentropy")
    onehot = np.eye(7)[np.asarray(y_train) % 7]
    model.fit(x_train.astype(np.float32) / 256, onehot, epochs=1, batch_size=64, verbose=0)
    return model


def mnist_with_batchnorm(x_train, y_train, seed=0):
    """Plain BatchNormalization after a QConv2D: folded into its weights and re-quantized (not exact)."""
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense
    tf.keras.utils.set_random_seed(seed)
    q = "quantized_bits(6,0,alpha=1)"
    model = tf.keras.Sequential([
        tf.keras.Input((28, 28, 1)),
        QConv2D(6, 3, kernel_quantizer=q, bias_quantizer=q, name="conv1"),
        tf.keras.layers.BatchNormalization(name="bn1"),
        QActivation("quantized_relu(6,2)", name="act1"),
        tf.keras.layers.MaxPooling2D(2, name="pool1"),
        QConv2D(6, 3, kernel_quantizer=q, bias_quantizer=q, activation="quantized_relu(6,2)", name="conv2"),
        tf.keras.layers.MaxPooling2D(2, name="pool2"),
        tf.keras.layers.Flatten(name="flatten"),
        QDense(10, kernel_quantizer=q, bias_quantizer="quantized_bits(8,3,alpha=1)", name="logits"),
    ], name="user_bn")
    model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x_train.astype(np.float32) / 256, y_train, epochs=1, batch_size=64, verbose=0)
    return model


def float_mnist_bn(x_train, y_train, seed=0):
    """Float Keras MNIST CNN (no QKeras) as people write it: bias-free Conv2D + BatchNormalization + ReLU,
    a Conv2D with a fused relu, MaxPooling2D, Flatten, Dropout, Dense and a softmax output. The kit
    quantizes it (`quantize:` in the experiment config)."""
    import tensorflow as tf
    L = tf.keras.layers
    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.Sequential([
        tf.keras.Input((28, 28, 1)),
        L.Conv2D(8, 3, use_bias=False, name="conv1"), L.BatchNormalization(name="bn1"), L.ReLU(name="relu1"),
        L.MaxPooling2D(2, name="pool1"),
        L.Conv2D(12, 3, use_bias=False, name="conv2"), L.BatchNormalization(name="bn2"),
        L.Activation("relu", name="relu2"), L.MaxPooling2D(2, name="pool2"),
        L.Flatten(name="flatten"), L.Dropout(0.25, name="dropout"),
        L.Dense(10, activation="softmax", name="logits"),
    ], name="user_float")
    model.compile(tf.keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train.astype(np.float32) / 256, y_train, epochs=3, batch_size=64, verbose=0)
    return model
