"""The one place that prepares TensorFlow and bert4keras for this stack.

`from common.env import tf, keras, K` gives TensorFlow and tf_keras with bert4keras patched. The
patches run whenever bert4keras.layers is first imported, whoever imports it (common/__init__.py
hooks that import), so no import order can skip them.
"""
import contextlib
import functools
import os
import re
import sys
import tempfile
import warnings

# bert4keras 0.11.5 still imports distutils, which is deprecated.
warnings.filterwarnings("ignore", category=DeprecationWarning, module="bert4keras")
# bert4keras reuses one initializer instance per layer; the checkpoint overwrites those values anyway.
warnings.filterwarnings("ignore", message="The initializer .* is unseeded")

# TensorFlow's C++ start-up lines (no CUDA driver, absl's logging notice, CPU features) say nothing a user
# can act on; they are dropped unless the user sets TF_CPP_MIN_LOG_LEVEL, which then decides alone.
START_UP_NOISE = re.compile(r"absl::InitializeLog|cudart_stub\.cc.*cuda drivers|cuda_platform\.cc.*cuInit|"
                            r"cuda_(dnn|blas|fft)\.cc.*Unable to register|computation_placer\.cc|oneDNN custom "
                            r"operations|cpu_feature_guard\.cc|To enable the following instructions|rebuild "
                            r"TensorFlow with the appropriate compiler flags")


@contextlib.contextmanager
def _without_start_up_noise():
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        yield
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"  # read once, at start-up; children decide for themselves
    sys.stderr.flush()
    saved, captured = os.dup(2), tempfile.TemporaryFile()
    os.dup2(captured.fileno(), 2)
    try:
        yield
    finally:
        del os.environ["TF_CPP_MIN_LOG_LEVEL"]
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        captured.seek(0)
        kept = [line for line in captured.read().decode("utf-8", "replace").splitlines(True)
                if not START_UP_NOISE.search(line)]
        sys.stderr.write("".join(kept))
        sys.stderr.flush()


with _without_start_up_noise():
    import tensorflow as tf  # noqa: E402
    tf.config.list_physical_devices("GPU")  # the CUDA probe logs here, once
from tensorflow.python.eager import record  # noqa: E402
from tensorflow.python.util import tf_inspect  # noqa: E402

import bert4keras.backend as _backend  # noqa: E402

tf.get_logger().setLevel("ERROR")  # TensorFlow's Python warnings would drown the progress output

# LIC_LOGICAL_CPUS=N splits the CPU into N logical devices, so that --strategy mirrored can be tried
# (and tested) without GPUs; it must happen before TensorFlow initializes its devices, hence here.
if int(os.environ.get("LIC_LOGICAL_CPUS") or 0) > 1:
    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0],
        [tf.config.LogicalDeviceConfiguration()] * int(os.environ["LIC_LOGICAL_CPUS"]))


def patch_backend():
    """Before bert4keras's layers are defined (once): what its recompute needs from TF 2.21, and a switchable
    recompute decorator."""
    if getattr(_backend, "patched_for_this_stack", False):
        return
    # TF 2.21 moved tape.stop_recording to eager.record; bert4keras's recompute needs it.
    _backend.tape.stop_recording = record.stop_recording
    # bert4keras's recompute wrapper re-records the op itself; give it the function it expects.
    _backend.tape.record_operation = record.record_operation
    _backend.recompute_grad = _switchable(_backend.recompute_grad)
    _backend.patched_for_this_stack = True


def _switchable(recompute_once):
    """bert4keras's decorator, which it applies to every layer class at import, made to recompute only when
    the layer asks for it (`layer.recompute`, set by common.bert)."""
    def decorate(call):
        recomputed = recompute_once(call)
        accepted = set(tf_inspect.getfullargspec(call).args)

        @functools.wraps(call)
        def inner(self, inputs, **kwargs):
            if getattr(self, "recompute", False):
                return recomputed(self, inputs, **kwargs)
            # Keras passes mask/training to a **kwargs signature; not every call takes them
            return call(self, inputs, **{k: v for k, v in kwargs.items() if k in accepted})

        return inner
    return decorate


def patch_layers(layers):
    """Right after bert4keras's layers are defined: every LayerNormalization computes in float32 (Keras casts
    its inputs) whatever the global policy; under bfloat16/float16 the mean and variance of hundreds of values
    lose too much precision."""
    norm = layers.LayerNormalization
    init, build = norm.__init__, norm.build

    def float32_init(self, *args, **kwargs):
        kwargs.setdefault("dtype", "float32")
        init(self, *args, **kwargs)

    def float32_build(self, input_shape):
        build(self, input_shape)
        for name in ("hidden_dense", "beta_dense", "gamma_dense"):  # the conditional variant's own layers
            if getattr(self, name, None) is not None:
                getattr(self, name)._set_dtype_policy(self.dtype_policy)

    norm.__init__, norm.build = float32_init, float32_build


import bert4keras.layers  # noqa: E402,F401  (patched on import: see common/__init__.py)
from bert4keras.backend import keras, K  # noqa: E402

__all__ = ["tf", "keras", "K"]
