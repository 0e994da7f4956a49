#!/usr/bin/env python3
"""The upstream files of paper_table.yaml's inputs, made small, for a loopback server.

Builds, from the developer subsets in ../shared/data (never copied into the repository):
ARC-V1-Feb2018.zip, MMLU's data.tar, winogrande_1.1.zip and GSM8K's two JSONL files, laid
out as upstream lays them out, plus the vocabulary and the given model files; then writes a
catalogue in data/fetch/catalog.json's schema whose URLs point at BASE_URL. Pins are the
fixtures' own sha256 where the real catalogue pins the real file, and null where it does not
(MMLU, WinoGrande's train_xl, the models), so `fetch --trust-unpinned` is exercised as the
example's header uses it.

usage: paper_table_fixtures.py SHARED_DATA SERVED_DIR BASE_URL CATALOG_OUT MODEL_1_5B MODEL_2_9B
"""
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import zipfile


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def member(archive_path, dest, data, pinned=True):
    return {"from": archive_path, "dest": dest, "sha256": sha256(data) if pinned else None,
            "bytes": len(data) if pinned else None}


def write_zip(path, files):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)


def main():
    shared, served, base_url, catalog_out, model_15, model_29 = sys.argv[1:7]
    bench = os.path.join(shared, "benchmarks")
    os.makedirs(served, exist_ok=True)
    entries = []

    # ARC-Challenge: the subset's train as Train, its eval as Dev and Test.
    arc_train = read(os.path.join(bench, "arc_challenge/train.jsonl"))
    arc_eval = read(os.path.join(bench, "arc_challenge/eval.jsonl"))
    prefix = "ARC-V1-Feb2018-2/ARC-Challenge/"
    arc = {prefix + "ARC-Challenge-Train.jsonl": arc_train, prefix + "ARC-Challenge-Dev.jsonl": arc_eval,
           prefix + "ARC-Challenge-Test.jsonl": arc_eval}
    write_zip(os.path.join(served, "ARC-V1-Feb2018.zip"), arc)
    entries.append({
        "name": "arc_challenge", "kind": "benchmark", "description": "ARC-Challenge (loopback fixture)",
        "sources": [{"url": base_url + "ARC-V1-Feb2018.zip", "format": "zip", "sha256": None, "bytes": None,
                     "members": [member(n, n.rsplit("/", 1)[1], d) for n, d in arc.items()]}],
        "splits": {"train": "ARC-Challenge-Train.jsonl", "eval": "ARC-Challenge-Test.jsonl",
                   "fewshot": "ARC-Challenge-Train.jsonl"}})

    # MMLU: data/dev from the subset's dev files; data/test and data/val from its eval files.
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for folder, split in (("train", "dev"), ("eval", "test")):
            for file in sorted(os.listdir(os.path.join(bench, "mmlu", folder))):
                data = read(os.path.join(bench, "mmlu", folder, file))
                add("data/%s/%s" % (split, file), data)
                if split == "test":
                    add("data/val/%s" % file.replace("_test.csv", "_val.csv"), data)
    with open(os.path.join(served, "data.tar"), "wb") as f:
        f.write(buffer.getvalue())
    entries.append({
        "name": "mmlu", "kind": "benchmark", "description": "MMLU (loopback fixture)",
        "sources": [{"url": base_url + "data.tar", "format": "tar", "sha256": None, "bytes": None,
                     "members": [{"from": "data/%s/*_%s.csv" % (s, s), "dest": s + "/", "sha256": None}
                                 for s in ("dev", "val", "test")]}],
        "splits": {"train": "val", "eval": "test", "fewshot": "dev"}})

    # WinoGrande 1.1: train_xl from the subset's train (unpinned, as upstream), dev from its eval.
    wino_train = read(os.path.join(bench, "winogrande/train.jsonl"))
    wino_dev = read(os.path.join(bench, "winogrande/eval.jsonl"))
    wino = {"winogrande_1.1/train_xl.jsonl": wino_train, "winogrande_1.1/dev.jsonl": wino_dev}
    write_zip(os.path.join(served, "winogrande_1.1.zip"), wino)
    entries.append({
        "name": "winogrande", "kind": "benchmark", "description": "WinoGrande 1.1 (loopback fixture)",
        "sources": [{"url": base_url + "winogrande_1.1.zip", "format": "zip", "sha256": None, "bytes": None,
                     "members": [member("winogrande_1.1/train_xl.jsonl", "train_xl.jsonl", wino_train, pinned=False),
                                 member("winogrande_1.1/dev.jsonl", "dev.jsonl", wino_dev)]}],
        "splits": {"train": "train_xl.jsonl", "eval": "dev.jsonl", "fewshot": "train_xl.jsonl"}})

    # GSM8K: two plain files.
    sources = []
    for split, name in (("train", "train.jsonl"), ("eval", "test.jsonl")):
        data = read(os.path.join(bench, "gsm8k", split + ".jsonl"))
        os.makedirs(os.path.join(served, "gsm8k"), exist_ok=True)
        with open(os.path.join(served, "gsm8k", name), "wb") as f:
            f.write(data)
        sources.append({"url": base_url + "gsm8k/" + name, "dest": name, "sha256": sha256(data), "bytes": len(data)})
    entries.append({"name": "gsm8k", "kind": "benchmark", "description": "GSM8K (loopback fixture)",
                    "sources": sources,
                    "splits": {"train": "train.jsonl", "eval": "test.jsonl", "fewshot": "train.jsonl"}})

    # The vocabulary (pinned) and the two models (unpinned, as the real ones are here).
    vocab = read(os.path.join(shared, "tokenizer/rwkv_vocab_v20230424.txt"))
    shutil.copyfile(os.path.join(shared, "tokenizer/rwkv_vocab_v20230424.txt"),
                    os.path.join(served, "rwkv_vocab_v20230424.txt"))
    entries.append({"name": "rwkv-world-vocab", "kind": "vocab", "description": "vocabulary (loopback fixture)",
                    "sources": [{"url": base_url + "rwkv_vocab_v20230424.txt", "dest": "rwkv_vocab_v20230424.txt",
                                 "sha256": sha256(vocab), "bytes": len(vocab)}],
                    "file": "rwkv_vocab_v20230424.txt"})
    for name, path in (("rwkv7-world-1.5b", model_15), ("rwkv7-world-2.9b", model_29)):
        file = os.path.basename(path)
        shutil.copyfile(path, os.path.join(served, file))
        entries.append({"name": name, "kind": "model", "description": "a small random model (loopback fixture)",
                        "sources": [{"url": base_url + file, "dest": file, "sha256": None, "bytes": None}],
                        "file": file})

    catalog = {"version": 1,
               "groups": {"benchmarks": ["arc_challenge", "mmlu", "winogrande", "gsm8k"],
                          "models": ["rwkv7-world-1.5b", "rwkv7-world-2.9b"]},
               "entries": entries}
    with open(catalog_out, "w") as f:
        json.dump(catalog, f, indent=1)


if __name__ == "__main__":
    main()
