"""Precision, recall and F1 from counts: what every track's official metric ends with (no TensorFlow)."""


def prf(correct, predicted, gold, digits=4):
    p = correct / predicted if predicted else 0.0
    r = correct / gold if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, digits), "recall": round(r, digits), "f1": round(f, digits)}


def totals(counts):
    """P/R/F1 of per-class [correct, predicted, gold] counts summed over the classes."""
    return prf(*(sum(c[i] for c in counts.values()) for i in range(3)))
