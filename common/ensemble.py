"""What every track's Predictor shares to run one model or an ensemble of several: its members' models are
called through traced functions, and their outputs averaged with weights that sum to 1."""
import copy

import numpy as np


def mean_weights(n, weights=None):
    """Weights of n members, summing to 1 (equal by default)."""
    if weights is None:
        return np.full(n, 1 / n)
    weights = np.asarray(weights, "float64")
    if len(weights) != n or (weights < 0).any() or not weights.sum() > 0:
        raise ValueError(f"{n} members need {n} non-negative weights, not all 0; got {list(weights)}")
    return weights / weights.sum()


def traced(members, run=None):
    """The members with their Keras models called through `run` (default: common.bert.predict_function, a
    traced call for any batch size and length). A member is a model, a tuple of models, or an object with
    calls(run)."""
    if run is None:
        from common.bert import predict_function as run
    return [m.calls(run) if hasattr(m, "calls") else tuple(run(x) for x in m) if isinstance(m, tuple) else run(m)
            for m in members]


def with_run(predictor, run, batch_size=None):
    """A copy of `predictor` calling its models through `run` (say Keras's model.predict, for a benchmark)."""
    other = copy.copy(predictor)
    other.members = traced(predictor.models, run)
    if batch_size is not None:
        other.batch_size = batch_size
    return other
