"""Write a tiny, randomly initialised BERT in Google's checkpoint format.

    python -m synthetic.tiny_bert --out DIR [--layers 2 --hidden 128 --heads 4 --vocab-from FILES]

Variable names and shapes are exactly those of Google's BERT, so the tiny model
goes through the same loading code as a real one; values come from a seeded
numpy generator, different for every variable.
"""
import argparse
import json
import os
import string

import numpy as np

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def build_vocab(texts):
    """Special tokens, then ASCII letters and digits, then every other character seen."""
    tokens = list(SPECIAL_TOKENS) + list(string.ascii_lowercase + string.digits)
    seen = set(tokens)
    for text in texts:
        for ch in text.lower():
            if ch not in seen and not ch.isspace():
                seen.add(ch)
                tokens.append(ch)
    # word pieces so that Latin words and numbers split into known pieces
    tokens += ["##" + ch for ch in string.ascii_lowercase + string.digits]
    return tokens


def variable_shapes(config):
    """Names and shapes of Google BERT's checkpoint variables for `config`."""
    h, i = config["hidden_size"], config["intermediate_size"]
    shapes = {
        "bert/embeddings/word_embeddings": (config["vocab_size"], h),
        "bert/embeddings/token_type_embeddings": (config["type_vocab_size"], h),
        "bert/embeddings/position_embeddings": (config["max_position_embeddings"], h),
        "bert/embeddings/LayerNorm/beta": (h,),
        "bert/embeddings/LayerNorm/gamma": (h,),
        "bert/pooler/dense/kernel": (h, h),
        "bert/pooler/dense/bias": (h,),
        # the pretraining heads, as in Google's releases (masked LM and next-sentence prediction)
        "cls/predictions/transform/dense/kernel": (h, h),
        "cls/predictions/transform/dense/bias": (h,),
        "cls/predictions/transform/LayerNorm/beta": (h,),
        "cls/predictions/transform/LayerNorm/gamma": (h,),
        "cls/predictions/output_bias": (config["vocab_size"],),
        "cls/seq_relationship/output_weights": (2, h),
        "cls/seq_relationship/output_bias": (2,),
    }
    for n in range(config["num_hidden_layers"]):
        p = f"bert/encoder/layer_{n}/"
        for name in ("query", "key", "value"):
            shapes[p + f"attention/self/{name}/kernel"] = (h, h)
            shapes[p + f"attention/self/{name}/bias"] = (h,)
        shapes[p + "attention/output/dense/kernel"] = (h, h)
        shapes[p + "attention/output/dense/bias"] = (h,)
        shapes[p + "attention/output/LayerNorm/beta"] = (h,)
        shapes[p + "attention/output/LayerNorm/gamma"] = (h,)
        shapes[p + "intermediate/dense/kernel"] = (h, i)
        shapes[p + "intermediate/dense/bias"] = (i,)
        shapes[p + "output/dense/kernel"] = (i, h)
        shapes[p + "output/dense/bias"] = (h,)
        shapes[p + "output/LayerNorm/beta"] = (h,)
        shapes[p + "output/LayerNorm/gamma"] = (h,)
    return shapes


def random_values(config, seed=0):
    """Seeded values: gammas near 1, betas and biases near 0, the rest N(0, 0.02)."""
    rng = np.random.default_rng(seed)
    values = {}
    for name, shape in variable_shapes(config).items():
        noise = rng.normal(0.0, 0.02, size=shape).astype(np.float32)
        values[name] = noise + 1.0 if name.endswith("gamma") else noise
    return values


def write_tiny_bert(out_dir, texts=(), layers=2, hidden=128, heads=4, intermediate=None,
                    max_position=512, seed=0):
    """Write bert_config.json, vocab.txt and bert_model.ckpt.* into `out_dir`."""
    from common.checkpoints import write_google_checkpoint

    os.makedirs(out_dir, exist_ok=True)
    vocab = build_vocab(texts)
    config = {
        "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "hidden_size": hidden, "initializer_range": 0.02, "intermediate_size": intermediate or 4 * hidden,
        "max_position_embeddings": max_position, "num_attention_heads": heads,
        "num_hidden_layers": layers, "type_vocab_size": 2, "vocab_size": len(vocab),
    }
    with open(os.path.join(out_dir, "bert_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out_dir, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    write_google_checkpoint(os.path.join(out_dir, "bert_model.ckpt"), random_values(config, seed))
    return config


def texts_of_files(paths):
    """Every string value in the JSON (or JSON-lines) files: texts, questions, schema names."""
    def strings(obj):
        if isinstance(obj, str):
            yield obj
        elif isinstance(obj, dict):
            for key, value in obj.items():
                yield key
                yield from strings(value)
        elif isinstance(obj, list):
            for value in obj:
                yield from strings(value)

    for path in paths:
        with open(path, encoding="utf-8") as f:
            content = f.read()
        try:
            docs = [json.loads(content)]
        except json.JSONDecodeError:
            docs = [json.loads(line) for line in content.splitlines() if line.strip()]
        for doc in docs:
            yield from strings(doc)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="directory to write the checkpoint into")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--intermediate", type=int, default=None, help="default: 4 x hidden")
    parser.add_argument("--vocab-from", nargs="*", default=[], help="JSON files whose characters go into vocab.txt")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config = write_tiny_bert(args.out, texts_of_files(args.vocab_from), args.layers, args.hidden,
                             args.heads, args.intermediate, seed=args.seed)
    print(f"tiny BERT ({config['num_hidden_layers']} layers, hidden {config['hidden_size']}, "
          f"vocab {config['vocab_size']}) written to {args.out}")


if __name__ == "__main__":
    main()
