"""Compute precision: float32, or mixed bfloat16 / float16 with float32 weights.

    --precision fp32   everything in float32
    --precision bf16   Keras "mixed_bfloat16": layers compute in bfloat16, weights stay float32
    --precision fp16   Keras "mixed_float16", with dynamic loss scaling (common.training)
    --precision auto   bf16 where the device runs it natively (a GPU of compute capability 8.0 or
                       more; a CPU with AMX or AVX512-BF16), else fp32

Weights are stored in float32 whatever the precision, so a model trained in one
precision predicts in any other. Losses, output probabilities and the CRF stay
in float32 (the heads cast their logits).
"""
import os

from common.env import keras, tf
from common.options import PRECISIONS, PrecisionError

POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


def cpu_flags(path="/proc/cpuinfo"):
    """The CPU feature flags the kernel reports (empty where it reports none)."""
    if not os.path.isfile(path):
        return set()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def native_bf16():
    """(True, why) where bfloat16 matmuls run natively here; (False, why) otherwise."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability") or (0, 0)
        return tuple(capability) >= (8, 0), f"GPU compute capability {capability[0]}.{capability[1]}"
    flags = cpu_flags()
    native = sorted(flags & {"amx_bf16", "avx512_bf16"})
    return bool(native), f"CPU flags {', '.join(native)}" if native else "CPU without AMX or AVX512-BF16"


def resolve_precision(name, probe=native_bf16):
    """fp32, bf16 or fp16 for a --precision value (auto asks `probe`)."""
    if name not in PRECISIONS:
        raise PrecisionError(f"unknown precision {name!r}; choose from {', '.join(PRECISIONS)}")
    if name != "auto":
        return name
    native, why = probe()
    return "bf16" if native else "fp32"


def set_precision(precision):
    """Set the Keras dtype policy for the layers built from now on."""
    keras.mixed_precision.set_global_policy(POLICIES[precision])
