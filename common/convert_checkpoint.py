"""Convert a BERT checkpoint between Google's TF1 layout and Hugging Face's, for tools that take only one.

    python -m common.convert_checkpoint SRC DST --to {google,hf}

SRC is either layout (found by its files, as --bert-dir is). --to google writes bert_config.json,
bert_model.ckpt.* and vocab.txt; --to hf writes config.json, model.safetensors (PyTorch names, as
the hub's files; loads in transformers' BertModel and TFBertModel), vocab.txt. Both write
tokenizer_config.json with do_lower_case. The encoder's tensors (embeddings, blocks, pooler) are
copied exactly; pretraining heads and optimizer slots are left behind.
"""
import argparse
import json
import os
import shutil

from common import cli


def convert(src, dst, to):
    """Write the checkpoint of directory `src` into `dst` in layout `to` ("google" or "hf")."""
    from common.bert import BertFiles
    from common.checkpoints import (CONFIG_FIELDS, pt_name_of_google, write_google_checkpoint, write_hf_model,
                                    write_tokenizer_config)
    from common.options import CheckpointError

    files = BertFiles.from_dir(src)
    if os.path.isdir(dst) and os.listdir(dst):
        raise CheckpointError(f"{dst}: not empty; convert into a new directory")
    if os.path.exists(dst) and not os.path.isdir(dst):
        raise CheckpointError(f"{dst}: a file, not a directory; convert into a new directory")
    config = files.read_config()
    values = {k: v for k, v in files.values().items() if pt_name_of_google(k)}  # the encoder's tensors
    if to == "hf":
        write_hf_model(dst, config, values, files.vocab, files.do_lower_case)
        return
    os.makedirs(dst, exist_ok=True)
    google = {k: v for k, v in config.items() if k in CONFIG_FIELDS}
    with open(os.path.join(dst, "bert_config.json"), "w", encoding="utf-8") as f:
        json.dump(google, f, indent=2)
    write_google_checkpoint(os.path.join(dst, "bert_model.ckpt"), values)
    shutil.copyfile(files.vocab, os.path.join(dst, "vocab.txt"))
    write_tokenizer_config(dst, files.do_lower_case)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src", type=os.path.expanduser, help="a BERT directory, Google or Hugging Face layout")
    p.add_argument("dst", type=os.path.expanduser, help="the directory to write (new or empty)")
    p.add_argument("--to", required=True, choices=["google", "hf"])
    args = p.parse_args(argv)
    convert(args.src, args.dst, args.to)
    print(f"{args.src} -> {args.dst} ({'Google' if args.to == 'google' else 'Hugging Face'} layout)")


if __name__ == "__main__":
    cli.run(main)  # a folder that cannot be used: one line and exit code 2
