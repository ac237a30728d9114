"""python tests/common/distributed_step.py TRACK DATA_DIR BERT_DIR [HEAD], with LIC_LOGICAL_CPUS=2: one training step of each track's model under
MirroredStrategy over 2 logical CPUs against the same step on one device; prints the largest differences."""
import json
import sys

import numpy as np

from common import env  # noqa: F401
from common.bert import BertFiles, build_bert
from common.env import keras, tf
from common.training import Trainer


def build(track, bert_files, tokenizer, data_dir, head):
    """(training model, a global batch of 5 examples of different lengths)."""
    from common.data import find_data_files

    files = find_data_files(track, data_dir)
    bert = build_bert(bert_files)
    if track == "relation_extraction":
        from common.data import load_duie, load_duie_schema
        from relation_extraction import spo
        labels = spo.Labels.from_schema(load_duie_schema(files["schema"]))
        rows = spo.training_rows([e for s in load_duie(files["train"], report=False)[:8]
                                  for e in spo.make_examples(tokenizer, s, labels, 64)])[:5]
        return spo.build_models(bert, len(labels.pairs), priors=(0.01, 0.001))[0], spo.collate(rows, len(labels.pairs))
    if track == "event_extraction":
        from common.data import load_duee, load_duee_schema
        from event_extraction import events
        classes = events.Classes.from_schema(load_duee_schema(files["schema"]))
        examples = [e for s in load_duee(files["train"], report=False)[:5]
                    for e in events.make_examples(tokenizer, s, classes, 64)[0]]
        rows = (events.trigger_rows(examples) if head == "trigger" else examples)[:5]
        model = events.build_model(bert, classes, head, prior=1e-4).train
        return model, events.collate(rows, head, classes)
    from common.data import load_dureader
    from reading_comprehension import spans
    windows = [w for q in load_dureader(files["train"], report=False)[:5]
               for w in spans.encode_question(tokenizer, q, 16, 64)[1]][:5]
    return spans.build_model(bert)[0], spans.collate(windows)


def main():
    from common.tokenization import load_tokenizer

    track, directory, bert_dir = sys.argv[1:4]
    head = sys.argv[4] if len(sys.argv) > 4 else "span"
    bert_files = BertFiles.from_dir(bert_dir)
    tokenizer = load_tokenizer(bert_files.vocab)
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    assert len(devices) == 2, devices
    results = {}
    for name, strategy in (("one", tf.distribute.get_strategy()), ("mirrored", tf.distribute.MirroredStrategy(devices))):
        with strategy.scope():
            model, batch = build(track, bert_files, tokenizer, directory, head)
            optimizer = keras.optimizers.SGD(0.5)  # plain SGD: the update is the gradient itself
        if name == "one":
            start = model.get_weights()
        else:
            model.set_weights(start)
        trainer = Trainer(model, optimizer, None, 1, None, "/tmp", strategy=strategy, chief=False)
        loss, _, _ = trainer.step(batch)
        results[name] = (loss, [w.numpy() for w in model.trainable_weights])
    (loss_one, after_one), (loss_mirrored, after_mirrored) = results["one"], results["mirrored"]
    start = [w for w, v in zip(start, model.weights) if v.trainable]
    # weights: elementwise, relative tolerance 1e-5; updates: their global relative difference
    weights_close = all(np.allclose(b, a, rtol=1e-5, atol=1e-6) for a, b in zip(after_one, after_mirrored))
    update_diff = float(np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(after_one, after_mirrored)))
                        / np.sqrt(sum(np.sum((a - s) ** 2) for a, s in zip(after_one, start))))
    print(json.dumps({"loss_one": loss_one, "loss_mirrored": loss_mirrored, "rows": len(batch["Input-Token"]),
                      "weights_close": weights_close, "update_rel_diff": update_diff}))


if __name__ == "__main__":
    main()
