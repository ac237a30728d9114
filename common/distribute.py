"""tf.distribute for training: one device, all GPUs of a machine, several machines.

    --strategy auto         MirroredStrategy over all GPUs when there are two or more, else one device
    --strategy one          one device (TensorFlow puts the work on a GPU when one is visible)
    --strategy mirrored     MirroredStrategy over all GPUs (over the logical CPU devices when there is no GPU)
    --strategy multiworker  MultiWorkerMirroredStrategy over the machines of TF_CONFIG

`--batch-size` is the global batch: each step's batch is cut into one slice per
replica (as equal as possible: a batch of 33 on 2 replicas gives 17 and 16, a
last batch smaller than the number of replicas leaves some slices empty), and the
losses divide by global counts (common.losses), so a step on N replicas is the
step one device would take on the whole batch.
"""
import json
import os

import numpy as np

from common.env import tf
from common.options import STRATEGIES, StrategyError  # noqa: F401  (raised here)



def make_strategy(name):
    """The strategy for --strategy `name`; call it before anything runs on TensorFlow (multiworker
    must configure the collective ops at start-up)."""
    if name == "auto":  # physical devices: listing them does not start TensorFlow's runtime
        name = "mirrored" if len(tf.config.list_physical_devices("GPU")) >= 2 else "one"
    if name == "one":
        return tf.distribute.get_strategy()  # the default strategy: no replicas, no overhead
    if name == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or \
            [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise StrategyError("--strategy multiworker needs TF_CONFIG (the cluster and this worker's task); "
                                "see the README, section 'Several GPUs and several machines'")
        try:
            json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError as e:
            raise StrategyError(f"TF_CONFIG is not valid JSON ({e.msg})") from None
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=None)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    raise StrategyError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")


def is_chief(strategy):
    """True on the one worker that writes what the user sees (always, without multiworker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def replica_slices(n_rows, n_replicas):
    """Row ranges of each replica's slice of a batch of `n_rows` (sizes differ by at most one)."""
    bounds = np.linspace(0, n_rows, n_replicas + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def distribute_batch(strategy, batch):
    """A dict of numpy arrays (one global batch) as per-replica slices for strategy.run."""
    n = strategy.num_replicas_in_sync
    if n == 1:
        return {k: tf.convert_to_tensor(v) for k, v in batch.items()}
    rows = len(next(iter(batch.values())))
    slices = replica_slices(rows, n)

    def slice_for(context):
        part = slices[context.replica_id_in_sync_group]
        return {k: tf.convert_to_tensor(v[part]) for k, v in batch.items()}
    return strategy.experimental_distribute_values_from_function(slice_for)
