"""Shared parts of the LIC2020 baselines: data, BERT, metrics, training, the track contract.

Importing anything from `common` first sets what TensorFlow and bert4keras read when they load (tf_keras,
not Keras 3; bert4keras's recompute machinery) and hooks the first import of `bert4keras.layers`, by
whatever module and in whatever order, so that common.env's patches for this stack wrap it: the backend
is patched before the layers are defined and the layers right after. No import order can leave them out.
"""
import importlib.abc
import importlib.machinery
import os
import sys

os.environ["TF_KERAS"] = "1"             # bert4keras on tf.keras ...
os.environ["TF_USE_LEGACY_KERAS"] = "1"  # ... which is tf_keras 2.x, not Keras 3
os.environ["RECOMPUTE"] = "1"            # bert4keras's recompute machinery on; common.bert switches it per layer

if "bert4keras.layers" in sys.modules and "common.env" not in sys.modules:
    raise ImportError("bert4keras was imported before this project's `common` package, so it runs without the "
                      "patches this stack needs; import common (or a track) before bert4keras")


class _PatchedBert4kerasLayers(importlib.abc.MetaPathFinder):
    """Finds bert4keras.layers as usual and runs common.env's patches around its execution."""

    def find_spec(self, name, path=None, target=None):
        if name != "bert4keras.layers":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None:
            return None
        execute = spec.loader.exec_module

        def exec_module(module):
            from common import env  # TensorFlow, quietly; the patches' code

            env.patch_backend()
            execute(module)
            env.patch_layers(module)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _PatchedBert4kerasLayers())
