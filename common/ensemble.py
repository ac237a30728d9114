"""What every track's Predictor shares to run one model or an ensemble of several: its members' models are
called through traced functions, and their outputs averaged with weights that sum to 1."""
import copy
import hashlib

import numpy as np


def mean_weights(n, weights=None):
    """Weights of n members, summing to 1 (equal by default)."""
    if weights is None:
        return np.full(n, 1 / n)
    weights = np.asarray(weights, "float64")
    if len(weights) != n or not (np.isfinite(weights) & (weights >= 0)).all() or not weights.sum() > 0:
        raise ValueError(f"{n} members need {n} finite non-negative weights, not all 0; got {weights.tolist()}")
    return weights / weights.sum()


def weighted_mean(outputs, weights):
    """The weighted mean of the members' outputs (arrays, or lists of arrays), summed in float64 and returned
    in the outputs' dtype: N copies of one model average back to its own outputs exactly."""
    if len(outputs) == 1:
        return outputs[0]
    if isinstance(outputs[0], (list, tuple)):
        return [weighted_mean([o[k] for o in outputs], weights) for k in range(len(outputs[0]))]
    return sum(w * np.asarray(o, "float64") for w, o in zip(weights, outputs)).astype(np.asarray(outputs[0]).dtype)


def traced(members, run=None):
    """The members with their Keras models called through `run` (default: common.bert.predict_function, a
    traced call for any batch size and length). A member is a model, a tuple of models, or an object with
    calls(run)."""
    if run is None:
        from common.bert import predict_function as run
    return [m.calls(run) if hasattr(m, "calls") else tuple(run(x) for x in m) if isinstance(m, tuple) else run(m)
            for m in members]


class OutputMemory:
    """Models' outputs kept by their inputs' content, up to `limit` bytes, so that passes over the same batches
    (an ensemble scored on dev once per count of members) call each model once; `remembered(call)` wraps a
    model's traced call, answering with a copy of what it kept. Calls taking features (an array of rows,
    positions and channels: a later stage's input, which changes with the earlier stage's decisions) are not
    kept. After close(), calls pass through and nothing stays kept."""

    def __init__(self, limit):
        self.left, self.kept, self.open = limit, {}, True

    def remembered(self, call):
        def call_once(inputs):
            arrays = [np.ascontiguousarray(x) for x in inputs]
            if not self.open or any(a.ndim > 2 for a in arrays):
                return call(inputs)
            key = (id(call_once),) + tuple((a.shape, a.dtype.str, hashlib.blake2b(a.data, digest_size=16).digest())
                                           for a in arrays)
            if key not in self.kept:
                outputs = call(inputs)
                size = sum(np.asarray(o).nbytes for o in (outputs if isinstance(outputs, list) else [outputs]))
                if size > self.left:
                    return outputs
                self.left -= size
                self.kept[key] = outputs
            outputs = self.kept[key]
            return [o.copy() for o in outputs] if isinstance(outputs, list) else outputs.copy()
        return call_once

    def close(self):
        self.kept, self.open = {}, False


def with_run(predictor, run, batch_size=None):
    """A copy of `predictor` calling its models through `run` (say Keras's model.predict, for a benchmark)."""
    other = copy.copy(predictor)
    other.members = traced(predictor.models, run)
    if batch_size is not None:
        other.batch_size = batch_size
    return other


def ensemble(predictors, weights=None):
    """One predictor averaging the members of `predictors` (each a model, or an ensemble itself) with `weights`
    (one per predictor; equal by default); its thresholds, where it has any, the weighted mean of theirs; its
    rule to combine them, where it has one, theirs if they share it, else the default (None)."""
    first = predictors[0]
    weights = mean_weights(len(predictors), weights)
    combined = copy.copy(first)
    combined.models = [m for p in predictors for m in p.models]
    combined.members = [m for p in predictors for m in p.members]
    combined.weights = np.concatenate([w * p.weights for w, p in zip(weights, predictors)])
    if getattr(first, "thresholds", None):
        combined.thresholds = {k: float(sum(w * p.thresholds[k] for w, p in zip(weights, predictors)))
                               for k in first.thresholds}
    if hasattr(first, "combine") and any(p.combine != first.combine for p in predictors):
        combined.combine = None
    return combined


def leading(predictor, k):
    """A copy of `predictor` averaging only its first k members, with equal weights (say the k best epochs of a
    model directory loaded with its snapshots, best first)."""
    other = copy.copy(predictor)
    other.models, other.members, other.weights = predictor.models[:k], predictor.members[:k], mean_weights(k)
    return other


def vote(member_lists, weights, votes, key):
    """Per item, the elements (say SPO triples) of the members' lists whose members weigh at least `votes`:
    member_lists[m][i] is member m's list for item i; `key` says when two elements are the same. Each element
    is kept once, in the order it first appears."""
    kept = []
    for lists in zip(*member_lists):
        weight, first = {}, {}
        for w, elements in zip(weights, lists):
            for k, element in {key(e): e for e in elements}.items():  # a member votes once for an element
                weight[k] = weight.get(k, 0.0) + w
                first.setdefault(k, element)
        kept.append([e for k, e in first.items() if weight[k] >= votes - 1e-9])
    return kept


class Voting:
    """An ensemble that votes instead of averaging: every member predicts at its own thresholds, and an
    element is kept where the members predicting it weigh (`weights`, 1 each by default) at least `votes`."""

    def __init__(self, predictors, votes, key, weights=None):
        self.predictors, self.votes, self.key = predictors, votes, key
        self.weights = [1.0] * len(predictors) if weights is None else [float(w) for w in weights]
        if len(self.weights) != len(predictors) or not all(0 <= w < float("inf") for w in self.weights):
            raise ValueError(f"{len(predictors)} members need {len(predictors)} finite non-negative weights")
        if not 0 < votes <= sum(self.weights):
            raise ValueError(f"votes must be above 0 and at most the members' total weight, {sum(self.weights):g}")
        self.models = [m for p in predictors for m in p.models]

    @property
    def batch_size(self):
        return self.predictors[0].batch_size

    @batch_size.setter
    def batch_size(self, value):
        for p in self.predictors:
            p.batch_size = value

    def member_predictions(self, inputs, progress=lambda x, **k: x):
        """Each member's predictions, at its own thresholds."""
        return [p.predict(inputs, progress) for p in self.predictors]

    def predict(self, inputs, progress=lambda x, **k: x):
        return vote(self.member_predictions(inputs, progress), self.weights, self.votes, self.key)

    def warning(self):
        return next((w for w in (p.warning() for p in self.predictors) if w), None)
