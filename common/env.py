"""The one place that prepares TensorFlow and bert4keras for this stack.

Import this module before anything that imports tensorflow or bert4keras:
`from common import env` at the top of a script is enough.
"""
import contextlib
import functools
import os
import re
import sys
import tempfile
import warnings

# bert4keras must see tf.keras (tf_keras 2.x), not Keras 3.
os.environ["TF_KERAS"] = "1"
os.environ["TF_USE_LEGACY_KERAS"] = "1"
# bert4keras decides at import time whether its layers may recompute; we enable
# the machinery here and switch it per layer at build time (see common.bert).
os.environ["RECOMPUTE"] = "1"
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

# TF 2.21 moved tape.stop_recording to eager.record; bert4keras's recompute needs it.
_backend.tape.stop_recording = record.stop_recording
# bert4keras's recompute wrapper re-records the op itself; give it the function it expects.
_backend.tape.record_operation = record.record_operation

_recompute_once = _backend.recompute_grad


def _switchable_recompute(call):
    """Decorate a layer's call so it recomputes only when the layer asks for it.

    bert4keras applies its decorator to every layer class at import; we keep
    both versions and let `layer.recompute` (set by common.bert) choose.
    """
    recomputed = _recompute_once(call)
    accepted = set(tf_inspect.getfullargspec(call).args)

    @functools.wraps(call)
    def inner(self, inputs, **kwargs):
        if getattr(self, "recompute", False):
            return recomputed(self, inputs, **kwargs)
        # Keras passes mask/training to a **kwargs signature; not every call takes them
        return call(self, inputs, **{k: v for k, v in kwargs.items() if k in accepted})

    return inner


_backend.recompute_grad = _switchable_recompute

import bert4keras.layers  # noqa: E402,F401  (decorated with the switchable version)
from bert4keras.backend import keras, K  # noqa: E402

_LayerNorm = bert4keras.layers.LayerNormalization
_layer_norm_init, _layer_norm_build = _LayerNorm.__init__, _LayerNorm.build


def _float32_layer_norm_init(self, *args, **kwargs):
    # under a bfloat16/float16 policy the mean and variance of hundreds of values lose too much precision:
    # every LayerNormalization computes in float32 (Keras casts its inputs) whatever the global policy
    kwargs.setdefault("dtype", "float32")
    _layer_norm_init(self, *args, **kwargs)


def _float32_layer_norm_build(self, input_shape):
    _layer_norm_build(self, input_shape)
    for name in ("hidden_dense", "beta_dense", "gamma_dense"):  # the conditional variant's own layers
        if getattr(self, name, None) is not None:
            getattr(self, name)._set_dtype_policy(self.dtype_policy)


_LayerNorm.__init__, _LayerNorm.build = _float32_layer_norm_init, _float32_layer_norm_build

__all__ = ["tf", "keras", "K"]
