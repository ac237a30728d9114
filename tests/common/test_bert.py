"""The tiny Google-format BERT loads through the real builder; bad checkpoints give one clear error."""
import json
import os
import shutil

import numpy as np
import pytest

from common.bert import BertFiles, CheckpointError, build_bert
from common.env import tf
from synthetic.tiny_bert import variable_shapes


def test_checkpoint_has_google_names_and_distinct_values(tiny_bert_dir):
    stored = dict(tf.train.list_variables(os.path.join(tiny_bert_dir, "bert_model.ckpt")))
    config = json.load(open(os.path.join(tiny_bert_dir, "bert_config.json")))
    assert stored == {k: list(v) for k, v in variable_shapes(config).items()}
    assert "bert/encoder/layer_0/attention/self/query/kernel" in stored
    q = tf.train.load_variable(os.path.join(tiny_bert_dir, "bert_model.ckpt"), "bert/encoder/layer_0/attention/self/query/kernel")
    k = tf.train.load_variable(os.path.join(tiny_bert_dir, "bert_model.ckpt"), "bert/encoder/layer_0/attention/self/key/kernel")
    assert not np.allclose(q, k)


@pytest.mark.parametrize("recompute", [False, "block", "layer"])
def test_built_model_holds_the_checkpoint_values(tiny_bert_dir, recompute):
    files = BertFiles.from_dir(str(tiny_bert_dir))
    layers = build_bert(files, recompute=recompute).layers  # bert4keras's name -> layer, blocks' inner layers too
    ckpt = files.checkpoint
    pairs = [("Embedding-Token", 0, "bert/embeddings/word_embeddings"),
             ("Transformer-1-FeedForward", 2, "bert/encoder/layer_1/output/dense/kernel"),
             ("Embedding-Norm", 1, "bert/embeddings/LayerNorm/gamma")]
    for layer, index, name in pairs:
        np.testing.assert_array_equal(layers[layer].get_weights()[index], tf.train.load_variable(ckpt, name))


def copy_bert(src, dst):
    shutil.copytree(src, dst)
    return str(dst)


def test_missing_file(tiny_bert_dir, tmp_path):
    d = copy_bert(tiny_bert_dir, tmp_path / "b")
    os.remove(os.path.join(d, "vocab.txt"))
    with pytest.raises(CheckpointError, match=r"vocab.txt: missing vocab.txt"):
        BertFiles.from_dir(d)
    with pytest.raises(CheckpointError, match="no such directory"):
        BertFiles.from_dir(str(tmp_path / "nowhere"))


def test_vocab_size_mismatch(tiny_bert_dir, tmp_path):
    d = copy_bert(tiny_bert_dir, tmp_path / "b")
    with open(os.path.join(d, "vocab.txt"), "a", encoding="utf-8") as f:
        f.write("extra\n")
    with pytest.raises(CheckpointError, match=r"vocab.txt: \d+ tokens but .*vocab_size=\d+"):
        BertFiles.from_dir(d)


def test_checkpoint_lacking_a_variable(tiny_bert_dir, tmp_path):
    d = copy_bert(tiny_bert_dir, tmp_path / "b")
    prefix = os.path.join(d, "bert_model.ckpt")
    values = {n: tf.train.load_variable(prefix, n) for n, _ in tf.train.list_variables(prefix)}
    del values["bert/encoder/layer_1/intermediate/dense/bias"]
    for name in os.listdir(d):
        if name.startswith("bert_model.ckpt"):
            os.remove(os.path.join(d, name))
    names = sorted(values)
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[values[n] for n in names])
    with pytest.raises(CheckpointError, match="lacks variable bert/encoder/layer_1/intermediate/dense/bias"):
        build_bert(BertFiles.from_dir(d))


def test_checkpoint_of_another_shape(tiny_bert_dir, tmp_path):
    d = copy_bert(tiny_bert_dir, tmp_path / "b")
    config_path = os.path.join(d, "bert_config.json")
    config = json.load(open(config_path))
    config["intermediate_size"] *= 2
    json.dump(config, open(config_path, "w"))
    with pytest.raises(CheckpointError, match="intermediate/dense/kernel has shape"):
        build_bert(BertFiles.from_dir(d))


def test_a_hugging_face_cache_folder_loads_the_snapshot_refs_main_names(tiny_bert_dir, tmp_path):
    """--bert-dir ~/.cache/huggingface/hub/models--ORG--NAME, as transformers' cache lays it out."""
    root = tmp_path / "models--org--tiny"
    old = copy_bert(tiny_bert_dir, root / "snapshots" / "aaa")
    os.remove(os.path.join(old, "vocab.txt"))  # an older snapshot that cannot load
    new = copy_bert(tiny_bert_dir, root / "snapshots" / "bbb")
    os.makedirs(root / "refs")
    (root / "refs" / "main").write_text("bbb\n")
    assert BertFiles.from_dir(str(root)).vocab == os.path.join(new, "vocab.txt")
    os.remove(root / "refs" / "main")
    with pytest.raises(CheckpointError, match=r"2 snapshots and no refs/main.*\{aaa, bbb\}"):
        BertFiles.from_dir(str(root))
    shutil.rmtree(old)
    assert BertFiles.from_dir(str(root)).vocab == os.path.join(new, "vocab.txt")  # the one snapshot
    shutil.rmtree(new)
    with pytest.raises(CheckpointError, match="without a snapshot"):
        BertFiles.from_dir(str(root))
