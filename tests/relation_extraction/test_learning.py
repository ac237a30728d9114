"""Relation extraction learns from hard data within a fixed number of steps (the stall of a head whose
112 sigmoid outputs start at 0.5 would show here as dev F1 0)."""
import json

import pytest

from tests.conftest import run

pytestmark = pytest.mark.trains  # trains models: not in make test-fast


def train(hard_dir, tiny_bert_dir, out, *extra):
    result = run("relation_extraction/train.py", "--data-dir", str(hard_dir / "relation_extraction"),
                 "--bert-dir", str(tiny_bert_dir), "--output-dir", str(out), "--epochs", "2", "--batch-size", "16",
                 "--maxlen", "128", "--learning-rate", "1e-3", *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in open(out / "metrics.jsonl")], result


def test_the_default_recipe_learns_on_hard_data_in_two_epochs(hard_dir, tiny_bert_dir, tmp_path):
    records, _ = train(hard_dir, tiny_bert_dir, tmp_path / "default")
    assert max(r["dev_f1"] for r in records) >= 0.03, records  # 94 steps of batch 16


def test_without_the_prior_the_head_stalls_and_says_so(hard_dir, tiny_bert_dir, tmp_path):
    # the recipe before the fix: zero output biases, warm-up + linear decay, head at BERT's rate, threshold 0.5
    records, result = train(hard_dir, tiny_bert_dir, tmp_path / "zero", "--output-bias", "zero", "--schedule",
                            "warmup-linear", "--head-lr-multiplier", "1", "--threshold", "0.5")
    assert max(r["dev_f1"] for r in records) == 0.0
    assert "dev f1 is 0 at every epoch: the model learned nothing" in result.stderr
