"""Briefly pretrain a (tiny) BERT with masked-LM on texts, and write it as a Google-format checkpoint.

    python -m synthetic.pretrain --bert-dir TINY --texts FILE [FILE ...] --out DIR [--steps 900]

The learning benchmark fine-tunes such a model at BERT-like learning rates: a
stand-in, made here in a few CPU minutes, for a pretrained Chinese checkpoint
(none can be downloaded). Masking is BERT's: 15% of the tokens, of which 80%
become [MASK], 10% a random token and 10% stay. The checkpoint holds every
variable of Google's BERT (the MLM head included), under Google's names, so it
loads through the same code as a downloaded one.
"""
import argparse
import json
import os
import shutil
import time

import numpy as np

from common.bert import BertFiles, build_bert
from common.checkpoints import write_google_checkpoint
from common.tokenization import load_tokenizer
from synthetic.tiny_bert import random_values, texts_of_files


def token_chunks(tokenizer, texts, length):
    """Token ids of the texts cut into pieces of at most `length` tokens (pieces under 8 tokens dropped)."""
    chunks = []
    for text in texts:
        ids = tokenizer.encode(text)[0][1:-1]
        chunks += [ids[i:i + length] for i in range(0, len(ids), length) if len(ids[i:i + length]) >= 8]
    return chunks


def mask_batch(chunks, rng, vocab_size, mask_id, cls_id, sep_id, rate=0.15):
    """(token ids with masks applied, original ids, weights 1 at the positions to predict)."""
    n = max(len(c) for c in chunks) + 2
    ids = np.zeros((len(chunks), n), "int32")
    for i, c in enumerate(chunks):
        ids[i, :len(c) + 2] = [cls_id] + list(c) + [sep_id]
    real = (ids > 0) & (ids != cls_id) & (ids != sep_id)
    chosen = real & (rng.random(ids.shape) < rate)
    draw = rng.random(ids.shape)
    masked = ids.copy()
    masked[chosen & (draw < 0.8)] = mask_id
    randomized = chosen & (draw >= 0.8) & (draw < 0.9)
    masked[randomized] = rng.integers(5, vocab_size, randomized.sum())
    return masked, ids, chosen.astype("float32")


def masked_lm(files):
    """(transformer, training model whose loss is the masked-LM cross-entropy)."""
    from common.env import keras, tf
    from common.losses import global_mean

    bert = build_bert(files, with_mlm="linear")
    labels = keras.layers.Input((None,), dtype="int32", name="mlm_labels")
    weights = keras.layers.Input((None,), name="mlm_weights")
    logits = bert.model.output
    loss = keras.layers.Lambda(lambda x: global_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        x[0], tf.cast(x[1], tf.float32)), x[2]), dtype="float32", name="mlm_loss")([labels, logits, weights])
    model = keras.Model(bert.model.inputs + [labels, weights], logits)
    model.add_loss(loss)
    return bert, model


def write_checkpoint(bert, config, out_dir, seed=0):
    """Every Google BERT variable: the model's where it has one, seeded random values elsewhere."""
    values = random_values(config, seed)
    for layer_name, names in bert.variable_mapping().items():
        if layer_name not in bert.layers:
            continue
        for weight, name in zip(bert.layers[layer_name].trainable_weights, names):
            values[name] = weight.numpy().astype("float32")
    write_google_checkpoint(os.path.join(out_dir, "bert_model.ckpt"), values)


def pretrain(bert_dir, texts, out_dir, steps=900, batch_size=32, maxlen=128, learning_rate=1e-3, seed=0, log=print):
    """Masked-LM pretraining of the BERT in `bert_dir` on `texts`; writes a Google-format BERT to `out_dir`.

    Returns the mean loss of the first and of the last 50 steps.
    """
    from common.env import keras, tf
    from common.training import Schedule, seed_everything

    seed_everything(seed)
    files = BertFiles.from_dir(bert_dir)
    config = files.read_config()
    tokenizer = load_tokenizer(files.vocab, lower_case=files.do_lower_case)
    chunks = token_chunks(tokenizer, texts, maxlen - 2)
    if not chunks:
        raise ValueError("no text to pretrain on")
    bert, model = masked_lm(files)
    optimizer = keras.optimizers.Adam(Schedule("warmup-linear", learning_rate, steps, steps // 10), global_clipnorm=1.0)

    @tf.function(reduce_retracing=True)
    def step(inputs):
        with tf.GradientTape() as tape:
            model(inputs, training=True)
            loss = tf.add_n(model.losses)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    rng = np.random.default_rng(seed)
    lengths = np.array([len(c) for c in chunks])
    special = dict(vocab_size=config["vocab_size"], mask_id=tokenizer.token_to_id("[MASK]"),
                   cls_id=tokenizer._token_start_id, sep_id=tokenizer._token_end_id)
    losses, started = [], time.time()
    for i in range(steps):
        picked = rng.choice(len(chunks), batch_size)
        picked = picked[np.argsort(lengths[picked])]
        masked, ids, weights = mask_batch([chunks[k] for k in picked], rng, **special)
        losses.append(float(step({"Input-Token": masked, "Input-Segment": np.zeros_like(masked),
                                  "mlm_labels": ids, "mlm_weights": weights})))
        if (i + 1) % max(1, steps // 10) == 0:
            log(f"pretrain step {i + 1}/{steps}: masked-LM loss {np.mean(losses[-50:]):.3f} "
                f"({time.time() - started:.0f}s)")
    os.makedirs(out_dir, exist_ok=True)
    write_checkpoint(bert, config, out_dir, seed)
    shutil.copyfile(files.config, os.path.join(out_dir, "bert_config.json"))
    shutil.copyfile(files.vocab, os.path.join(out_dir, "vocab.txt"))
    with open(os.path.join(out_dir, "pretraining.json"), "w", encoding="utf-8") as f:
        json.dump({"steps": steps, "batch_size": batch_size, "maxlen": maxlen, "learning_rate": learning_rate,
                   "chunks": len(chunks), "first_loss": float(np.mean(losses[:50])),
                   "last_loss": float(np.mean(losses[-50:])), "seconds": round(time.time() - started)}, f, indent=2)
    return float(np.mean(losses[:50])), float(np.mean(losses[-50:]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bert-dir", required=True, help="the Google-format BERT to start from")
    p.add_argument("--texts", nargs="+", required=True, help="JSON or JSON-lines files whose strings are the corpus")
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=900)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--maxlen", type=int, default=128)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    texts = [t for t in texts_of_files(args.texts) if len(t) >= 8]
    first, last = pretrain(args.bert_dir, texts, args.out, args.steps, args.batch_size, args.maxlen,
                           args.learning_rate, args.seed)
    print(f"masked-LM loss {first:.3f} -> {last:.3f}; pretrained BERT written to {args.out}")


if __name__ == "__main__":
    main()
