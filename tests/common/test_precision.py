"""Mixed precision: the auto choice, finite training in bf16 and fp16, float32 weights, any precision at predict."""
import json

import numpy as np
import pytest

from common.precision import cpu_flags, resolve_precision, set_precision
from tests.conftest import build_track, predict_here


def test_auto_picks_bf16_only_where_it_is_native(tmp_path):
    assert resolve_precision("auto", probe=lambda: (False, "CPU without AMX or AVX512-BF16")) == "fp32"
    assert resolve_precision("auto", probe=lambda: (True, "CPU flags amx_bf16")) == "bf16"
    assert resolve_precision("fp16", probe=lambda: (False, "")) == "fp16"  # an explicit choice is kept
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags : fpu sse2 avx2 avx512f avx512_bf16\n")
    assert {"avx512_bf16", "avx2"} <= cpu_flags(str(cpuinfo))
    assert cpu_flags(str(tmp_path / "none")) == set()


def build(track, tiny_bert_dir, tokenizer, sample_dir):
    """(training model, a batch) of a track, built under the current precision policy."""
    model, _, batch = build_track(track, sample_dir / track, tiny_bert_dir)
    return model, batch


@pytest.mark.trains
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
@pytest.mark.parametrize("track", ["relation_extraction", "event_extraction", "reading_comprehension"])
def test_each_track_trains_in_half_precision_with_finite_losses(tiny_bert_dir, tokenizer, sample_dir, track,
                                                                precision):
    from common.training import Trainer, make_optimizer

    set_precision(precision)
    try:
        model, batch = build(track, tiny_bert_dir, tokenizer, sample_dir)
        compute = {"bf16": "bfloat16", "fp16": "float16"}[precision]
        assert model.get_layer("Transformer-0").compute_dtype == compute
        assert all(w.dtype == "float32" for w in model.trainable_weights)  # float32 master weights
        trainer = Trainer(model, make_optimizer(1e-3, 10, loss_scale=precision == "fp16"), None, 1, None, "/tmp",
                          chief=False)
        losses = [trainer.step(batch)[0] for _ in range(3)]
    finally:
        set_precision("fp32")
    assert all(np.isfinite(losses)) and losses[-1] < losses[0], losses


def test_block_recompute_under_bf16(tiny_bert_dir):
    from common.bert import BertFiles, build_bert
    from common.env import keras, tf

    set_precision("bf16")
    try:
        results = []
        for recompute in (False, "block"):
            bert = build_bert(BertFiles.from_dir(str(tiny_bert_dir)), recompute=recompute)
            model = keras.Model(bert.model.inputs, bert.model.output)
            ids = np.random.default_rng(0).integers(5, 100, (2, 24)).astype("int32")
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(tf.cast(model([ids, np.zeros_like(ids)], training=True), tf.float32)))
            results.append((float(loss), [g.numpy() for g in tape.gradient(loss, model.trainable_weights[-4:])]))
    finally:
        set_precision("fp32")
    (loss, grads), (loss_r, grads_r) = results
    assert np.isfinite(loss_r) and loss_r == pytest.approx(loss, rel=1e-3)
    for g, g_r in zip(grads, grads_r):
        np.testing.assert_allclose(g_r, g, rtol=2e-2, atol=1e-4)


@pytest.fixture(scope="module")
def bf16_model(trained):
    return trained("event_extraction")  # trained with --precision bf16


@pytest.mark.trains
def test_a_bf16_run_reaches_the_fp32_floor_and_stores_float32_weights(bf16_model):
    import h5py

    records = [json.loads(line) for line in open(bf16_model / "metrics.jsonl")]
    assert max(r["dev_f1"] for r in records) >= 0.80  # the fp32 end-to-end test's floor
    assert json.load(open(bf16_model / "config.json"))["run"]["precision"] == "bf16"
    dtypes = set()
    with h5py.File(bf16_model / "model.weights.h5") as f:
        f.visititems(lambda name, obj: dtypes.add(str(obj.dtype)) if isinstance(obj, h5py.Dataset) else None)
    assert "float32" in dtypes and not dtypes & {"bfloat16", "float16"}


@pytest.mark.trains
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_a_model_trained_in_one_precision_predicts_in_another(bf16_model, sample_dir, tmp_path, precision):
    from tools.validate import validate

    test = sample_dir / "event_extraction" / "test1.json"
    outputs = {}
    for p in ("bf16", precision):
        out = tmp_path / f"{p}.json"
        result = predict_here("event_extraction", "--model-dir", str(bf16_model), "--input", str(test),
                     "--output", str(out), "--precision", p)
        assert result.returncode == 0, result.stderr[-3000:]
        assert validate("event_extraction", str(test), str(out)) == ([], 150)
        outputs[p] = open(out, encoding="utf-8").read().splitlines()
    same = sum(a == b for a, b in zip(outputs["bf16"], outputs[precision]))
    assert same >= 0.9 * len(outputs["bf16"])  # rounding moves a few borderline spans at most
