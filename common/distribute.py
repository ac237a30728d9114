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
import sys

import numpy as np

from common.env import tf
from common.options import STRATEGIES, StrategyError

MESSAGE_BYTES = 4096  # what one worker can tell the others at a meeting (a JSON object)

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
        task = json.loads(os.environ["TF_CONFIG"]).get("task", {})
        print(f"multiworker: {task.get('type', 'worker')} {task.get('index', 0)}, waiting for the other workers",
              file=sys.stderr, flush=True)
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


def worker_name(strategy):
    """"worker 1", "chief 0": this process's task in the cluster ("worker 0" without one)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    return f"{resolver.task_type} {resolver.task_id}" if resolver is not None and resolver.task_type else "worker 0"


def exchange(strategy, message):
    """Every worker's `message` (a small JSON-able dict), gathered on every worker, in task order.

    The workers meet: each call returns once all of them made the same call. Under one process it
    returns [message] at once. A message longer than MESSAGE_BYTES of JSON is cut to its first line.
    """
    message = dict(message, worker=worker_name(strategy))
    if getattr(strategy, "cluster_resolver", None) is None or strategy.extended._num_workers == 1:
        return [message]
    data = json.dumps(message, ensure_ascii=False).encode("utf-8")
    if len(data) > MESSAGE_BYTES - 4:
        data = json.dumps({"worker": worker_name(strategy), "error": str(message.get("error"))[:500]}).encode()
    row = np.zeros(MESSAGE_BYTES + 1, "int32")
    row[0], row[1:len(data) + 1] = len(data), np.frombuffer(data, np.uint8)
    local = tf.constant(row[None])
    rows = strategy.gather(strategy.experimental_distribute_values_from_function(lambda _: local), axis=0).numpy()
    messages = {}
    for r in rows:  # one row per replica: a worker with several devices sends its message several times
        m = json.loads(bytes(r[1:r[0] + 1].astype(np.uint8)).decode("utf-8"))
        messages.setdefault(m["worker"], m)
    return list(messages.values())


def first_error(messages):
    """"worker 1: <its error>" of the first message that holds an error, or None."""
    for m in messages:
        if m.get("error"):
            return f"{m['worker']}: {m['error']}"
    return None


def replica_slices(n_rows, n_replicas):
    """Row ranges of each replica's slice of a batch of `n_rows` (sizes differ by at most one)."""
    bounds = np.linspace(0, n_rows, n_replicas + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def own_rows(inputs, bounds):
    """Inside strategy.run: this replica's rows bounds[i]:bounds[i + 1] of a global batch (a dict of tensors),
    `bounds` from replica_slices. Slicing in the step, not before it, keeps one traced step for every batch."""
    i = tf.distribute.get_replica_context().replica_id_in_sync_group
    return {k: v[bounds[i]:bounds[i + 1]] for k, v in inputs.items()}
