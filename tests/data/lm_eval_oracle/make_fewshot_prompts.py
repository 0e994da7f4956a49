#!/usr/bin/env python3
"""Records lm-evaluation-harness v0.4.9's own k-shot prompts for the shared developer subsets.

statetune's data layer must render the same bytes (tests/data/lm_eval_oracle_test.cpp). This
script runs lm-eval's code itself -- its task YAMLs (arc_challenge, gsm8k, winogrande,
mmlu_<subject>), ConfigurableTask, its samplers and random.Random(1234) -- on the shared files
converted to the Hugging Face datasets' field layouts, and writes what build_all_requests made.

    python3 tests/data/lm_eval_oracle/make_fewshot_prompts.py [--shared DIR] [--out DIR]
                                                              [--torch-site DIR]

With the system python3 it first makes a throwaway venv (/tmp/lmeval-oracle-venv, or
$LMEVAL_ORACLE_VENV), installs requirements.txt there (lm-eval==0.4.9 and the versions it was
recorded with; pip pulls torch unless --torch-site names a site-packages folder holding a torch
already, which is then linked in with a .pth file) and re-runs itself inside it. No network is
used except PyPI: the datasets are local JSON files (dataset_path: json, data_files).
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "shared"))
VENV = os.environ.get("LMEVAL_ORACLE_VENV", "/tmp/lmeval-oracle-venv")
SEED = 1234  # lm-eval's default fewshot_random_seed (simple_evaluate)

# (file name, task, k, pool, items to record). "pool": "train" is the subset's train.jsonl;
# "train+eval" is train.jsonl followed by eval.jsonl (300 items > random.sample's setsize of 277
# for 25 draws: the "set" branch with k > 5, and eval items that may draw themselves).
# Every case builds all 100 eval items (the whole stream) and records the listed ones.
CASES = [
    ("arc_challenge_25shot.json", "arc_challenge", 25, "train", [0, 99]),        # 25 of 200: pool branch
    ("arc_challenge_25shot_pool300.json", "arc_challenge", 25, "train+eval", [0, 12, 99]),  # 25 of 300: set branch; 12 draws itself
    ("arc_challenge_5shot.json", "arc_challenge", 5, "train", [0, 1, 2, 3, 50, 99]),  # 5 of 200: set branch
    ("gsm8k_5shot.json", "gsm8k", 5, "train", [0, 1, 2, 99]),                       # 5 of 200: set branch
    ("winogrande_5shot.json", "winogrande", 5, "train", [0, 1, 2, 3, 4, 50, 99]),   # 6 of 200: set branch
    ("winogrande_1shot.json", "winogrande", 1, "train", [0, 1, 2, 99]),             # 2 of 200: set branch
]
MMLU_FEWSHOT_SUBJECTS = ["abstract_algebra", "world_religions", "formal_logic", "nutrition", "college_medicine"]


# ---- outside the venv: make it, then re-run inside ----------------------------------------

def ensure_venv(args):
    try:
        import lm_eval  # noqa: F401
        if lm_eval.__version__ == "0.4.9":
            return
    except ImportError:
        pass
    py = os.path.join(VENV, "bin", "python")
    if os.path.abspath(sys.executable) == os.path.abspath(py):
        sys.exit("lm_eval 0.4.9 is not importable inside " + VENV)
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    if args.torch_site:
        purelib = subprocess.check_output(
            [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip()
        with open(os.path.join(purelib, "zz_torch.pth"), "w") as f:
            f.write(os.path.abspath(args.torch_site) + "\n")
    subprocess.check_call([py, "-m", "pip", "install", "-q", "-r", os.path.join(HERE, "requirements.txt")])
    os.execv(py, [py] + sys.argv)


# ---- the shared files in the Hugging Face datasets' layouts ---------------------------------

def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def arc_hf(rec):  # allenai/ai2_arc: id, question, choices{text,label}, answerKey
    return {"id": rec["id"], "question": rec["question"]["stem"],
            "choices": {"text": [c["text"] for c in rec["question"]["choices"]],
                        "label": [c["label"] for c in rec["question"]["choices"]]},
            "answerKey": rec["answerKey"]}


def winogrande_hf(rec):  # winogrande: sentence, option1, option2, answer ("1"/"2")
    return {"sentence": rec["sentence"], "option1": rec["option1"], "option2": rec["option2"],
            "answer": str(rec["answer"])}


def gsm8k_hf(rec):  # gsm8k main: question, answer
    return {"question": rec["question"], "answer": rec["answer"]}


def mmlu_hf(path, subject):  # cais/mmlu: question, subject, choices, answer (int)
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["question", "choice0", "choice1", "choice2", "choice3", "answer"], rows[0]
    return [{"question": r[0], "subject": subject, "choices": r[1:5], "answer": int(r[5])} for r in rows[1:]]


def write_jsonl(path, docs):
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    return path


# ---- lm-eval's own task, pointed at the local files ----------------------------------------

def build(task_manager, task_name, data_files, k, limit):
    """The task as simple_evaluate prepares it, then build_all_requests as evaluate() calls it."""
    from lm_eval.api.task import ConfigurableTask

    config = task_manager._get_config(task_name)  # the task's YAML, includes and !function resolved
    config["dataset_path"] = "json"
    config["dataset_name"] = None
    config["dataset_kwargs"] = {"data_files": data_files}
    task = ConfigurableTask(config=config)
    if k is not None:  # simple_evaluate(num_fewshot=k)
        task.set_config(key="num_fewshot", value=k)
    elif task.get_config("num_fewshot") is None:
        task.set_config(key="num_fewshot", value=0)
    task.set_fewshot_seed(seed=SEED)
    task.build_all_requests(limit=limit, rank=0, world_size=1)
    by_doc = {}
    for inst in task.instances:
        by_doc.setdefault(inst.doc_id, []).append(inst)
    return task, by_doc


def record(by_doc, doc_ids):
    items = []
    for doc_id in doc_ids:
        insts = sorted(by_doc[doc_id], key=lambda i: i.idx)
        if insts[0].request_type == "generate_until":
            (inst,) = insts
            items.append({"doc_id": doc_id, "context": inst.arguments[0],
                          "until": inst.arguments[1]["until"]})
        else:  # one loglikelihood request per choice; ARC's and MMLU's share one context
            contexts = [i.arguments[0] for i in insts]
            item = {"doc_id": doc_id}
            if len(set(contexts)) == 1:
                item["context"] = contexts[0]
            else:
                item["contexts"] = contexts
            item["continuations"] = [i.arguments[1] for i in insts]
            items.append(item)
    return items


def dump(out_dir, name, payload):
    with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
        json.dump(payload, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {name}: {os.path.getsize(os.path.join(out_dir, name))} bytes")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.environ.get("STATETUNE_SHARED_DIR", DEFAULT_SHARED))
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--torch-site", help="a site-packages folder with torch, linked into the venv")
    args = ap.parse_args()
    ensure_venv(args)
    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="lmeval_oracle_")
    # Nothing from the Hub, and a datasets cache that goes with the temporary folder.
    os.environ.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", HF_DATASETS_CACHE=os.path.join(tmp, "hf"))

    import platform
    import lm_eval
    from lm_eval.tasks import TaskManager

    bench = os.path.join(args.shared, "data", "benchmarks")
    tm = TaskManager()
    about = {"lm_eval": lm_eval.__version__, "python": platform.python_version(), "fewshot_seed": SEED}

    converters = {"arc_challenge": ("arc_challenge", arc_hf), "gsm8k": ("gsm8k", gsm8k_hf),
                  "winogrande": ("winogrande", winogrande_hf)}
    for name, task_name, k, pool, doc_ids in CASES:
        folder, convert = converters[task_name]
        train = [convert(r) for r in read_jsonl(os.path.join(bench, folder, "train.jsonl"))]
        evals = [convert(r) for r in read_jsonl(os.path.join(bench, folder, "eval.jsonl"))]
        if pool == "train+eval":
            train = train + evals
        tag = f"{task_name}_{pool}".replace("+", "_")
        train_path = write_jsonl(os.path.join(tmp, tag + "_train.jsonl"), train)
        eval_path = write_jsonl(os.path.join(tmp, tag + "_eval.jsonl"), evals)
        # The scored split is the YAML's test_split (ARC, GSM8K) or validation_split (WinoGrande).
        files = {"train": train_path, "validation": eval_path, "test": eval_path}
        _, by_doc = build(tm, task_name, files, k, limit=None)
        assert len(by_doc) == len(evals)
        dump(args.out, name, {**about, "task": task_name, "num_fewshot": k, "pool": pool,
                              "pool_size": len(train), "eval_size": len(evals),
                              "items": record(by_doc, doc_ids)})

    # MMLU: first_n from each subject's dev split. k-shot for a few subjects, and 0-shot item 0
    # of every subject (each subject's description line and question layout).
    eval_dir, dev_dir = os.path.join(bench, "mmlu", "eval"), os.path.join(bench, "mmlu", "train")
    subjects = sorted(f[: -len("_test.csv")] for f in os.listdir(eval_dir) if f.endswith("_test.csv"))

    def subject_files(subject):
        test = write_jsonl(os.path.join(tmp, f"mmlu_{subject}_test.jsonl"),
                           mmlu_hf(os.path.join(eval_dir, f"{subject}_test.csv"), subject))
        dev = write_jsonl(os.path.join(tmp, f"mmlu_{subject}_dev.jsonl"),
                          mmlu_hf(os.path.join(dev_dir, f"{subject}_dev.csv"), subject))
        return {"test": test, "dev": dev}

    fewshot = []
    for subject in MMLU_FEWSHOT_SUBJECTS:
        _, by_doc = build(tm, f"mmlu_{subject}", subject_files(subject), 5, limit=None)
        fewshot.append({"subject": subject, "items": record(by_doc, sorted(by_doc))})
    dump(args.out, "mmlu_5shot.json", {**about, "task": "mmlu_<subject>", "num_fewshot": 5, "subjects": fewshot})
    zeroshot = []
    for subject in subjects:
        _, by_doc = build(tm, f"mmlu_{subject}", subject_files(subject), 0, limit=1)
        zeroshot.append({"subject": subject, "items": record(by_doc, [0])})
    dump(args.out, "mmlu_0shot.json", {**about, "task": "mmlu_<subject>", "num_fewshot": 0, "subjects": zeroshot})


if __name__ == "__main__":
    main()
