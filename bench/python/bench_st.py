#!/usr/bin/env python3
"""The measurements of bench/run.mjs, made with Python sentence-transformers (the reference).

    python bench/python/bench_st.py [--what train_mnrl|train_cosent|encode|cached_memory|all] [--threads N[,M]]
        [--steps N] [--json-out FILE] [--quick] [--profile] [--data-dir DIR] [--attn default|eager|sdpa]

Same model config (MiniLM-L6 dimensions, freshly initialised with a fixed seed), same tokenizer, same data, same
batches in the same order, same step (tokenize, forward, loss, backward, AdamW step, zero_grad), same JSON lines:
{"what", "threads", "median_s", "per_s", "tokens_per_s", "peak_rss_mb", "libtorch", ...} with libtorch =
torch.__version__. Each (measurement, thread count) runs in a fresh child process.

--attn picks transformers' attention implementation ("default": what transformers chooses, i.e. sdpa on
torch >= 2.1.1; "eager": the explicit softmax(q k^T / sqrt(d) + mask) v that stts also runs).
--profile adds, for train_*, the number of ATen ops dispatched per step and phase (counted by a TorchDispatchMode,
so after autograd: backward ops included).

Needs sentence-transformers: python3 -m venv --system-site-packages /tmp/stvenv && /tmp/stvenv/bin/pip install
sentence-transformers (the machine's torch is used).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BENCH_DIR.parent
WHATS = ["train_mnrl", "train_cosent", "encode", "cached_memory"]
MINILM_L6 = dict(
    vocab_size=30522,
    hidden_size=384,
    num_hidden_layers=6,
    num_attention_heads=12,
    intermediate_size=1536,
    max_position_embeddings=512,
)
MAX_SEQ_LENGTH = 128
SEED = 0
CACHED_CONFIGS = [
    ("cmnrl", 64, 32),
    ("cmnrl", 256, 32),
    ("cmnrl", 1024, 32),
    ("mnrl", 64, None),
    ("mnrl", 256, None),
]


def data_dir(args) -> Path:
    return Path(args.data_dir or os.environ.get("STTS_DATA_DIR") or REPO_ROOT.parent / "shared" / "data")


def snli_entailment_pairs(data: Path) -> list[tuple[str, str]]:
    read = lambda name: (data / "snli-dev-test" / name).read_text(encoding="utf8").split("\n")
    premises, hypotheses, labels = read("s1.dev"), read("s2.dev"), read("labels.dev")
    pairs = []
    for i, label in enumerate(labels):
        a = premises[i].strip() if i < len(premises) else ""
        b = hypotheses[i].strip() if i < len(hypotheses) else ""
        if label.strip() == "entailment" and a and b:
            pairs.append((a, b))
    return pairs


def stsb_rows(data: Path, split: str) -> list[dict]:
    rows = []
    for line in (data / "stsbenchmark" / f"sts-{split}.csv").read_text(encoding="utf8").split("\n"):
        if line.strip() == "":
            continue
        fields = line.split("\t")
        rows.append({"score": float(fields[4]), "sentence1": fields[5], "sentence2": fields[6]})
    return rows


def batch_at(items: list, i: int, size: int) -> list:
    batches = len(items) // size
    start = (i % batches) * size
    return items[start : start + size]


def proc_status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().split("\n"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def emit(record: dict, json_out: str | None) -> None:
    line = json.dumps(record, separators=(",", ":"))
    print(line, flush=True)
    if json_out:
        with open(json_out, "a", encoding="utf8") as f:
            f.write(line + "\n")


def r4(x: float) -> float:
    return round(x, 4)


# ---- the parent: one child process per (measurement, threads) ---------------------------------------------


def run_parent(args) -> None:
    whats = WHATS if args.what == "all" else args.what.split(",")
    threads_list = [None] if args.threads is None else [int(t) for t in args.threads.split(",")]
    env = {**os.environ, "STTS_DATA_DIR": str(data_dir(args))}
    for what in whats:
        if what not in WHATS:
            sys.exit(f"bench_st: --what must be one of {'|'.join(WHATS)}|all, got {what!r}")
        for threads in threads_list:
            configs = [None]
            if what == "cached_memory":
                configs = [c for c in CACHED_CONFIGS if not (args.quick and c[1] > 256)]
            for config in configs:
                cmd = [sys.executable, __file__, "--child", "--what", what, "--attn", args.attn]
                if threads is not None:
                    cmd += ["--threads", str(threads)]
                if args.steps is not None:
                    cmd += ["--steps", str(args.steps)]
                if args.quick:
                    cmd.append("--quick")
                if args.profile:
                    cmd.append("--profile")
                if args.fused:
                    cmd.append("--fused")
                if config is not None:
                    cmd += ["--config", f"{config[0]}:{config[1]}:{config[2] or 0}"]
                r = subprocess.run(cmd, env=env, capture_output=True, text=True)
                for line in r.stdout.split("\n"):
                    if line.strip() == "":
                        continue
                    try:
                        emit(json.loads(line), args.json_out)
                    except json.JSONDecodeError:
                        print(line, file=sys.stderr)
                if r.returncode != 0:
                    emit(
                        {"what": what, "threads": threads, "error": f"exit {r.returncode}",
                         "stderr": r.stderr.strip().split("\n")[-5:]},
                        args.json_out,
                    )


# ---- one measurement in this process -----------------------------------------------------------------------


def build_model(data: Path, attn: str):
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertConfig, BertModel

    torch.manual_seed(SEED)
    folder = Path(tempfile.mkdtemp(prefix="stts-bench-model-"))
    BertModel(BertConfig(**MINILM_L6)).save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt"):
        shutil.copy(data / "bert-base-uncased-tokenizer" / name, folder / name)
    model_kwargs = {} if attn == "default" else {"attn_implementation": attn}
    transformer = Transformer(str(folder), max_seq_length=MAX_SEQ_LENGTH, model_kwargs=model_kwargs)
    pooling = Pooling(384, pooling_mode="mean")
    model = SentenceTransformer(modules=[transformer, pooling], device="cpu")
    shutil.rmtree(folder)
    return model


ARGS_FUSED = False  # --fused: set in main


def common(model=None) -> dict:
    import torch

    record = {
        "threads": torch.get_num_threads(),
        "peak_rss_mb": round(proc_status_mb("VmHWM")),
        "libtorch": torch.__version__,
        "impl": "sentence-transformers",
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "fused_adamw": ARGS_FUSED,
    }
    if model is not None:
        import sentence_transformers
        import transformers

        record["attn_implementation"] = model[0].auto_model.config._attn_implementation
        record["versions"] = f"sentence-transformers {sentence_transformers.__version__}, transformers {transformers.__version__}"
    return record


def bench_encode(args, data: Path) -> None:
    sentences = [row["sentence1"] for row in stsb_rows(data, "test")]
    model = build_model(data, args.attn).eval()
    batch_size = 64
    lengths = []
    for i in range(0, len(sentences), batch_size):
        lengths += model.tokenize(sentences[i : i + batch_size])["attention_mask"].sum(1).tolist()
    tokens = sum(lengths)
    order = sorted(range(len(sentences)), key=lambda i: -len(sentences[i]))
    padded = sum(
        len(order[i : i + batch_size]) * max(lengths[k] for k in order[i : i + batch_size])
        for i in range(0, len(order), batch_size)
    )
    runs = 1 if args.quick else 3
    model.encode(sentences, batch_size=batch_size, show_progress_bar=False)  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        model.encode(sentences, batch_size=batch_size, show_progress_bar=False)
        times.append(time.perf_counter() - t0)
    m = statistics.median(times)
    emit(
        {
            "what": "encode",
            "threads": None,
            "median_s": r4(m),
            "per_s": round(len(sentences) / m, 1),
            "tokens_per_s": round(tokens / m),
            **common(model),
            "sentences": len(sentences),
            "batch": batch_size,
            "runs": runs,
            "times_s": [r4(t) for t in times],
            "nonpad_share": r4(tokens / padded),
        },
        args.json_out,
    )


class OpCounter:
    """Counts ATen ops per phase with a TorchDispatchMode (every op the dispatcher runs below autograd)."""

    def __init__(self):
        from torch.utils._python_dispatch import TorchDispatchMode

        counter = self
        self.phase = "setup"
        self.counts: dict[str, dict[str, int]] = {}

        class Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                phase = counter.counts.setdefault(counter.phase, {})
                name = str(func.overloadpacket.__name__)
                phase[name] = phase.get(name, 0) + 1
                return func(*args, **(kwargs or {}))

        self.mode = Mode()

    def report(self, steps: int) -> dict:
        by_phase = {}
        total = 0
        for phase, counts in self.counts.items():
            n = sum(counts.values())
            total += n
            top = sorted(counts.items(), key=lambda kv: -kv[1])[:12]
            by_phase[phase] = {"total": round(n / steps, 1), **{k: round(v / steps, 1) for k, v in top}}
        return {"aten_ops_dispatched_per_step": round(total / steps, 1), "aten_ops_by_phase": by_phase}


def bench_train(args, data: Path, what: str) -> None:
    import torch
    from sentence_transformers.sentence_transformer import losses

    batch_size = 32
    warmup = 3
    steps = args.steps if args.steps is not None else (5 if args.quick else 20)
    model = build_model(data, args.attn).train()
    if what == "train_mnrl":
        rows = [((a, b), None) for a, b in snli_entailment_pairs(data)]
        loss = losses.MultipleNegativesRankingLoss(model, scale=20.0)
    else:
        rows = [((r["sentence1"], r["sentence2"]), r["score"] / 5) for r in stsb_rows(data, "train")]
        loss = losses.CoSENTLoss(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, fused=True if ARGS_FUSED else None)
    phases = ["tokenize", "forward", "loss", "backward", "optimizer"]
    counter = OpCounter() if args.profile else None

    def train_step(batch, times):
        t = [time.perf_counter()]

        def lap(phase):
            t1 = time.perf_counter()
            times[phase] = t1 - t[0]
            t[0] = t1
            if counter is not None:
                i = phases.index(phase)
                counter.phase = "other" if i == len(phases) - 1 else phases[i + 1]

        if counter is not None:
            counter.phase = "tokenize"
        features = [model.tokenize([row[0][c] for row in batch]) for c in (0, 1)]
        labels = None if batch[0][1] is None else torch.tensor([row[1] for row in batch])
        tokens = sum(int(f["attention_mask"].sum()) for f in features)
        padded = sum(f["attention_mask"].numel() for f in features)
        lap("tokenize")
        embeddings = [model(f)["sentence_embedding"] for f in features]  # as the losses' forward does
        lap("forward")
        value = loss.compute_loss_from_embeddings(embeddings, labels)
        loss_value = value.item()  # the trainer logs the loss
        lap("loss")
        value.backward()
        del value, embeddings, features
        lap("backward")
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        lap("optimizer")
        return tokens, padded, loss_value

    records = []
    for i in range(warmup + steps):
        if i == warmup and counter is not None:
            counter.counts = {}
            counter.mode.__enter__()
        times = {}
        t0 = time.perf_counter()
        tokens, padded, loss_value = train_step(batch_at(rows, i, batch_size), times)
        total = time.perf_counter() - t0
        if i >= warmup:
            records.append({"total": total, "tokens": tokens, "padded": padded, "loss": loss_value, "times": times})
    if counter is not None:
        counter.mode.__exit__(None, None, None)
    m = statistics.median(r["total"] for r in records)
    emit(
        {
            "what": what,
            "threads": None,
            "median_s": r4(m),
            "per_s": round(batch_size / m, 2),
            "tokens_per_s": round(statistics.median(r["tokens"] / r["total"] for r in records)),
            **common(model),
            "batch": batch_size,
            "warmup_steps": warmup,
            "steps": steps,
            "mean_s": r4(sum(r["total"] for r in records) / len(records)),
            "phases_median_s": {p: r4(statistics.median(r["times"][p] for r in records)) for p in phases},
            "nonpad_share": r4(sum(r["tokens"] for r in records) / sum(r["padded"] for r in records)),
            "first_loss": round(records[0]["loss"], 5),
        },
        args.json_out,
    )
    if counter is not None:
        emit({"what": f"{what}_profile", **common(model), **counter.report(len(records))}, args.json_out)


def bench_cached_memory(args, data: Path) -> None:
    import torch
    from sentence_transformers.sentence_transformer import losses

    kind, batch, mini = args.config.split(":")
    batch, mini = int(batch), int(mini)
    pairs = snli_entailment_pairs(data)[:batch]
    model = build_model(data, args.attn).train()
    if kind == "cmnrl":
        loss = losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=mini)
    else:
        loss = losses.MultipleNegativesRankingLoss(model)
    features = [model.tokenize([p[c] for p in pairs]) for c in (0, 1)]
    seq_len = max(f["input_ids"].shape[1] for f in features)
    base = proc_status_mb("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        reset = True
    except OSError:
        reset = False
    t0 = time.perf_counter()
    value = loss(features, None)
    value.backward()
    seconds = time.perf_counter() - t0
    peak = proc_status_mb("VmHWM")
    emit(
        {
            "what": "cached_memory",
            "threads": torch.get_num_threads(),
            "median_s": round(seconds, 2),
            "per_s": round(batch / seconds, 1),
            "tokens_per_s": None,
            **{**common(model), "peak_rss_mb": round(peak, 1)},
            "loss": "CachedMultipleNegativesRankingLoss" if kind == "cmnrl" else "MultipleNegativesRankingLoss",
            "batch": batch,
            "mini_batch": mini or None,
            "base_rss_mb": round(base, 1),
            "step_rss_mb": round(peak - base, 1),
            "seq_len": seq_len,
            "hwm_reset": reset,
        },
        args.json_out,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--what", default="all")
    parser.add_argument("--threads", default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--json-out", default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--attn", default="default", choices=["default", "eager", "sdpa"])
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--fused", action="store_true")  # torch.optim.AdamW(fused=True), the trainer's default on torch >= 2.8
    parser.add_argument("--config", default=None)  # cached_memory child: kind:batch:mini
    args = parser.parse_args()
    global ARGS_FUSED
    ARGS_FUSED = args.fused
    if not args.child:
        run_parent(args)
        return
    args.json_out = None  # the parent writes the file
    import torch

    if args.threads is not None:
        torch.set_num_threads(int(args.threads))
    data = data_dir(args)
    if args.what == "encode":
        bench_encode(args, data)
    elif args.what == "cached_memory":
        bench_cached_memory(args, data)
    else:
        bench_train(args, data, args.what)


if __name__ == "__main__":
    main()
