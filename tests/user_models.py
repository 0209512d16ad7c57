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


def every_exact_kind(x_train, y_train, seed=0):
    """Every layer kind the kit builds exactly, the same block before and after the cut (the interface is a
    flat vector, reshaped back into a map by the back-end): QConv2D with QKeras's default per-channel
    power-of-two alpha, ternary and binary weights, LeakyReLU(0.25), Maximum/Minimum/Subtract/Average/Multiply
    concatenated, MaxPooling2D(3, strides 2, 'same'), AveragePooling2D(2, strides 1, 'same'), UpSampling2D,
    Cropping2D, ThresholdedReLU, GlobalMaxPooling2D, GlobalAveragePooling2D(keepdims=True), a binary
    activation, Add on flat vectors, and a Softmax layer at the output."""
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense, binary, quantized_bits, quantized_relu, ternary
    L = tf.keras.layers
    tf.keras.utils.set_random_seed(seed)
    bq = quantized_bits(8, 3, alpha=1)

    def block(x, p, crop, crop_gap):
        # quantized_bits without alpha: QKeras layers make it 'auto_po2', a power of two per output channel.
        a = QConv2D(4, 3, padding="same", kernel_quantizer="quantized_bits(4,0)", bias_quantizer=bq, name=f"{p}conv")(x)
        a = L.LeakyReLU(0.25, name=f"{p}leaky")(a)
        a = QActivation(quantized_bits(8, 3, alpha=1), name=f"{p}a")(a)
        b = QConv2D(4, 1, kernel_quantizer=ternary(), bias_quantizer=bq, name=f"{p}ternary")(x)
        b = QActivation(quantized_relu(6, 2), name=f"{p}b")(b)
        c = L.Concatenate(name=f"{p}cat")([L.Maximum(name=f"{p}max")([a, b]), L.Minimum(name=f"{p}min")([a, b]),
                                           L.Subtract(name=f"{p}sub")([a, b]), L.Average(name=f"{p}avg")([a, b]),
                                           L.Multiply(name=f"{p}mul")([a, b])])
        c = L.MaxPooling2D(3, strides=2, padding="same", name=f"{p}maxpool")(c)
        c = L.AveragePooling2D(2, strides=1, padding="same", name=f"{p}avgpool")(c)
        c = QActivation(quantized_bits(8, 4, alpha=1), name=f"{p}c")(c)
        c = L.UpSampling2D(2, name=f"{p}up")(c)
        c = L.Cropping2D(crop, name=f"{p}crop")(c)
        c = L.ThresholdedReLU(0.5, name=f"{p}thr")(c)
        g = L.GlobalMaxPooling2D(name=f"{p}gmp")(c)
        h = L.GlobalAveragePooling2D(keepdims=True, name=f"{p}gap")(L.Cropping2D(crop_gap, name=f"{p}crop2")(c))
        h = QActivation(quantized_relu(6, 2), name=f"{p}gap_q")(h)
        h = QConv2D(20, 1, kernel_quantizer=quantized_bits(4, 0, alpha=1), bias_quantizer=bq, name=f"{p}head")(h)
        h = QActivation(binary(), name=f"{p}sign")(h)
        return L.Add(name=f"{p}add")([L.Flatten(name=f"{p}flat")(h), g])

    x_in = tf.keras.Input((16, 16, 3), name="pixels")
    x = block(x_in, "f_", ((2, 2), (1, 3)), ((0, 4), (4, 0)))      # 16x16 -> 8x8 -> 16x16 -> 12x12; GAP over 8x8
    x = QDense(24, kernel_quantizer=binary(), bias_quantizer=bq, name="f_dense")(x)
    x = QActivation(quantized_bits(6, 3, alpha=1), name="cut")(x)
    x = L.Reshape((2, 4, 3), name="to_map")(x)
    x = block(x, "b_", ((0, 0), (1, 1)), ((0, 0), (0, 0)))        # 2x4 -> 1x2 -> 2x4 -> 2x2
    x = QDense(10, kernel_quantizer=binary(), bias_quantizer=bq, name="logits")(x)
    x = L.Softmax(name="softmax")(x)
    model = tf.keras.Model(x_in, x, name="every_exact_kind")
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x_train.astype(np.float32) / 256, y_train, epochs=1, batch_size=64, verbose=0)
    return model


def normalizations(x_train, y_train, seed=0):
    """The rewrites that are not exact, on both sides of the cut: BatchNormalization after the input, after
    a concatenation, on a flat vector and right after a layer with a power-of-two alpha (merged into its
    scale), QBatchNormalization after pooling, and LeakyReLUs whose alpha has many significant bits
    (LeakyReLU(0.3), Activation('leaky_relu')); a sigmoid output."""
    import tensorflow as tf
    from qkeras import QActivation, QBatchNormalization, QConv2D, QDense, quantized_bits, quantized_relu
    L = tf.keras.layers
    tf.keras.utils.set_random_seed(seed)
    bq, wq, q = quantized_bits(8, 3, alpha=1), quantized_bits(6, 0, alpha=1), quantized_bits(8, 3, alpha=1)

    def block(x, p):
        a = QConv2D(4, 3, padding="same", kernel_quantizer=wq, bias_quantizer=bq, name=f"{p}conv")(x)
        a = QActivation(q, name=f"{p}a")(L.LeakyReLU(0.3, name=f"{p}leaky")(a))
        b = QConv2D(4, 1, kernel_quantizer="quantized_bits(6,0)", bias_quantizer=bq, name=f"{p}po2")(x)
        b = QActivation(q, name=f"{p}po2_q")(L.BatchNormalization(name=f"{p}po2_bn")(b))
        b = QActivation(q, name=f"{p}b")(L.Activation("leaky_relu", name=f"{p}b_leaky")(b))
        c = L.BatchNormalization(name=f"{p}cat_bn")(L.Concatenate(name=f"{p}cat")([a, b]))
        c = L.MaxPooling2D(2, name=f"{p}pool")(QActivation(quantized_relu(8, 3), name=f"{p}c")(c))
        return QActivation(q, name=f"{p}out")(QBatchNormalization(name=f"{p}qbn")(c))

    x_in = tf.keras.Input((16, 16, 3), name="pixels")
    x = QActivation(q, name="q_bn_in")(L.BatchNormalization(name="bn_in")(x_in))
    x = block(block(x, "f_"), "b_")                                                # 8x8x8, then 4x4x8
    x = L.BatchNormalization(name="flat_bn")(L.GlobalAveragePooling2D(name="gap")(x))
    x = QDense(10, kernel_quantizer=wq, bias_quantizer=bq, name="logits")(QActivation(q, name="flat_q")(x))
    x = L.Activation("sigmoid", name="sigmoid")(x)
    model = tf.keras.Model(x_in, x, name="normalizations")
    model.compile("adam", "binary_crossentropy")
    model.fit(x_train.astype(np.float32) / 256, np.eye(10)[np.asarray(y_train) % 10], epochs=1, batch_size=64,
              verbose=0)
    return model


def unusual_models():
    """{name: (model, is_float)}: models the kit answers with a list of problems, a one-line error or a
    build, never a traceback: several inputs or outputs, a feature-map output, 1D and recurrent layers, an
    input of unknown size, a shared layer, TensorFlow ops as layers, a flat MLP, and one QKeras model with a
    problem in nearly every layer (some after layers the kit cannot plan)."""
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_po2, quantized_relu, ternary
    L = tf.keras.layers
    w = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(8, 3, alpha=1))
    out = {}
    a, b = tf.keras.Input((8, 8, 1), name="left"), tf.keras.Input((8, 8, 1), name="right")
    out["two_inputs"] = (tf.keras.Model([a, b], L.Dense(3)(L.Flatten()(L.Conv2D(2, 3)(L.Concatenate()([a, b]))))),
                         True)
    i = tf.keras.Input((8, 8, 3))
    y = L.Flatten()(L.Conv2D(4, 3, activation="relu")(i))
    out["two_outputs"] = (tf.keras.Model(i, [L.Dense(3)(y), L.Dense(2)(y)]), True)
    i = tf.keras.Input((16, 16, 3))
    out["feature_map_output"] = (tf.keras.Model(i, L.Conv2D(12, 1)(L.Conv2D(16, 3, strides=2, activation="relu")(i))),
                                 True)
    i = tf.keras.Input((32, 3))
    out["conv1d"] = (tf.keras.Model(i, L.Dense(3)(L.Flatten()(L.MaxPooling1D()(L.Conv1D(4, 3)(i))))), True)
    i = tf.keras.Input((8, 8, 1))
    out["lstm"] = (tf.keras.Model(i, L.Dense(3)(L.LSTM(4)(L.Reshape((8, 8))(i)))), True)
    i = tf.keras.Input((None, None, 3))
    out["unknown_size"] = (tf.keras.Model(i, L.Dense(3)(L.GlobalAveragePooling2D()(L.Conv2D(4, 3)(i)))), True)
    i = tf.keras.Input((8, 8, 4))
    shared = L.Conv2D(4, 3, padding="same")
    out["shared_layer"] = (tf.keras.Model(i, L.Dense(2)(L.Flatten()(shared(shared(i))))), True)
    i = tf.keras.Input((8, 8, 3))
    out["tf_ops"] = (tf.keras.Model(i, L.Dense(2)(L.Flatten()(tf.nn.relu(L.Conv2D(4, 3)(i) * 2.0)))), True)
    out["flat_mlp"] = (tf.keras.Sequential([tf.keras.Input((64,)), QDense(16, **w), QActivation(quantized_relu(6, 2)),
                                           QDense(4, **w)], name="flat_mlp"), False)
    i = tf.keras.Input((16, 16, 3))
    y = L.Conv2D(4, 3, name="float_conv")(i)
    y = QConv2D(4, 3, kernel_quantizer=quantized_po2(4), bias_quantizer=quantized_bits(8, 3, alpha=1),
                name="po2_conv")(y)
    y = L.Activation("tanh", name="tanh")(y)
    y = L.AveragePooling2D(3, name="avg9")(y)
    y = L.UpSampling2D(interpolation="bilinear", name="bilinear")(y)
    y = L.Average(name="avg3")([y, y, y])
    y = QActivation(ternary(), name="ternary_act")(y)
    y = L.ReLU(max_value=6.0, name="relu6")(y)
    y = L.Softmax(name="inner_softmax")(y)
    y = QConv2D(4, 1, kernel_quantizer=quantized_bits(6, 0, alpha="auto"), bias_quantizer=quantized_bits(8, 3, alpha=1),
                name="auto_alpha")(y)
    out["many_problems"] = (tf.keras.Model(i, L.Flatten()(QDense(3, name="dense_on_map", **w)(y)), name="many"), False)
    return out
