#!/usr/bin/env python3
"""Checks that stts and the Python sentence-transformers read each other's model folders.

Not run by CI (CI has no Python); run it by hand after changing the folder format (src/sentence-transformer.ts,
src/modules/*, src/models/tokenizer.ts, src/model-card/*). What it does:

  1. stts -> Python: stts (through node) writes (a) the tiny BERT parity checkpoint loaded and re-saved,
     (b) + Dense(tanh) + Normalize with prompts, a default prompt and dot similarity, (b2) max_seq_length 8,
     include_prompt false and a Pooling of modes ["mean", "max"] (an order v5 cannot express: written in
     v6's form), (c) a random StaticEmbedding, (d) a short training run's checkpoint-N and final folders, and
     any --trained folder (e.g. runs/demo from `npm run demo`). Python loads each with SentenceTransformer(folder) and must give the
     same embeddings (prompts included) and similarity scores within --atol, the same prompts / default prompt /
     similarity function / max_seq_length, and log no warning while loading. README.md's front matter must parse.
     Python then re-saves each folder; the JSON files are compared key by key (keys and value types) and the
     differences are listed as notes (sentence-transformers v6 writes a newer layout than the v5 one stts
     writes; both load in v6).
     Known v6 behaviour changes that are not format issues (stts follows v5.1.2 there): "cls" pooling with
     include_prompt false takes v6's first non-prompt token, v5's first token; v6 adds empty "query" and
     "document" prompts to a model that saved neither.
  2. Python -> stts: Python writes (i) Transformer + Pooling(mean) + Dense(tanh) + Normalize, (ii) each pooling
     mode plus combined modes, (iii) StaticEmbedding(tokenizer, embedding_dim=32), with and without tokenizer
     truncation, (iv) prompts, default prompt, dot / euclidean / manhattan similarity, max_seq_length 8 and
     include_prompt false; stts loads each with SentenceTransformer.loadFolder and must match Python's
     embeddings, similarity scores and settings.

Usage (from the repository root; sentence-transformers >= 5 with its dependencies; torch may come from the
system python):

  npx tsc -b packages/torch packages/sentence-transformers
  python3 -m venv --system-site-packages /tmp/stvenv && /tmp/stvenv/bin/pip install sentence-transformers
  /tmp/stvenv/bin/python scripts/check-python-interop.py [--trained runs/demo] [--work DIR] [--keep]

The tiny checkpoint comes from $STTS_BERT_PARITY_DIR (default ../shared/parity/bert)/bert-tiny-h32-l2. Prints
one line per model with the largest absolute embedding difference; exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch
import yaml

import sentence_transformers
from sentence_transformers import SentenceTransformer

try:  # sentence-transformers >= 6
    from sentence_transformers.base.modules import Dense, Normalize, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling, StaticEmbedding
except ImportError:  # 5.x
    from sentence_transformers.models import Dense, Normalize, Pooling, StaticEmbedding, Transformer
from tokenizers import Tokenizer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ST_MAJOR = int(sentence_transformers.__version__.split(".")[0])
TEXTS = [
    "The cat sat on the mat.",
    "Hello, world!",
    "A quick brown fox jumps over the lazy dog near the river bank today.",
    "  leading and trailing spaces  ",
    "UPPER case Words",
    "numbers 1 2 3 and symbols #@!",
    "café naïve résumé",
    "a",
    "Two sentences. Here is the second one?",
    " ".join(["the"] * 20),
]
# Messages a loader may log that say nothing about the folder format.
BENIGN = ("Default prompt name is set to",)

# The stts side: `save` writes the stts folders, then both modes encode folders and write <work>/stts-<mode>.json.
NODE_HELPER = r"""
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
const [repo, mode, workDir, ...folders] = process.argv.slice(2);
const st = await import(pathToFileURL(path.join(repo, "packages/sentence-transformers/dist/src/index.js")).href);
const { SentenceTransformer, Dense, Normalize, Pooling, StaticEmbedding, Tokenizer, Dataset, SentenceTransformerTrainer,
  MultipleNegativesRankingLoss, torch } = st;
const texts = JSON.parse(fs.readFileSync(path.join(workDir, "texts.json"), "utf8"));
const parity = process.env.STTS_BERT_PARITY_DIR ?? path.resolve(repo, "../shared/parity/bert");
const tinyBert = path.join(parity, "bert-tiny-h32-l2");

function report(folder) {
  const model = SentenceTransformer.loadFolder(folder);
  const embeddings = { plain: model.encode(texts).map((r) => Array.from(r)) };
  for (const name of Object.keys(model.prompts)) {
    embeddings[`prompt:${name}`] = model.encode(texts, { promptName: name }).map((r) => Array.from(r));
  }
  const q = model.encode(texts.slice(0, 2), { convertTo: "tensor" });
  const d = model.encode(texts.slice(2, 5), { convertTo: "tensor" });
  const sim = model.similarity(q, d);
  embeddings.similarity = sim.toArray();
  for (const t of [q, d, sim]) t.dispose();
  const result = {
    modules: model.moduleList.map((m) => m.constructor.name),
    prompts: model.prompts,
    defaultPromptName: model.defaultPromptName,
    similarityFnName: model.similarityFnName,
    maxSeqLength: Number.isFinite(model.maxSeqLength) ? model.maxSeqLength : null,
    dimension: model.getSentenceEmbeddingDimension(),
    embeddings,
  };
  model.dispose();
  return result;
}

const out = {};
if (mode === "save") {
  const saved = path.join(workDir, "stts");
  fs.rmSync(saved, { recursive: true, force: true });
  const tiny = SentenceTransformer.loadFolder(tinyBert);
  tiny.save(path.join(saved, "a-bert"));
  torch.manualSeed(7);
  const [transformer, pooling] = SentenceTransformer.loadFolder(tinyBert).moduleList;
  const dense = new SentenceTransformer([transformer, pooling, new Dense(32, 16), new Normalize()], {
    prompts: { query: "query: ", document: "passage: " },
    defaultPromptName: "query",
    similarityFnName: "dot",
  });
  dense.save(path.join(saved, "b-dense-normalize"));
  const [transformer2] = SentenceTransformer.loadFolder(tinyBert).moduleList;
  transformer2.maxSeqLength = 8;
  const ordered = new SentenceTransformer(
    [transformer2, new Pooling(32, { poolingMode: ["mean", "max"], includePrompt: false })],
    { prompts: { query: "query: " }, similarityFnName: "euclidean" },
  );
  ordered.save(path.join(saved, "b2-maxlen8-mean+max-exclude-prompt"));
  torch.manualSeed(8);
  const staticEmbedding = new StaticEmbedding(Tokenizer.fromFolder(tinyBert), { embeddingDim: 24 });
  const staticModel = new SentenceTransformer([staticEmbedding]);
  staticModel.save(path.join(saved, "c-static"));
  torch.manualSeed(9);
  const records = texts.slice(0, 8).map((t, i) => ({ anchor: t, positive: texts[(i + 1) % texts.length] }));
  const trained = SentenceTransformer.loadFolder(path.join(saved, "b-dense-normalize")).train();
  const trainer = new SentenceTransformerTrainer({
    model: trained,
    trainDataset: Dataset.fromRecords(records, "pairs"),
    loss: new MultipleNegativesRankingLoss(trained),
    args: { outputDir: path.join(saved, "d-trained"), maxSteps: 4, perDeviceTrainBatchSize: 4, learningRate: 1e-2,
      saveStrategy: "steps", saveSteps: 2, loggingSteps: 100, seed: 9 },
  });
  await trainer.train();
  trained.eval().save(path.join(saved, "d-trained", "final"));
  for (const m of [tiny, dense, ordered, staticModel, trained]) m.dispose();
  folders.unshift(...["a-bert", "b-dense-normalize", "b2-maxlen8-mean+max-exclude-prompt", "c-static",
    "d-trained/checkpoint-4", "d-trained/final"].map((f) => path.join(saved, f)));
}
for (const folder of folders) out[path.resolve(folder)] = report(folder);
fs.writeFileSync(path.join(workDir, `stts-${mode}.json`), JSON.stringify(out));
"""


class Checker:
    def __init__(self, atol: float) -> None:
        self.atol = atol
        self.failures: list[str] = []
        self.notes: list[str] = []
        # note -> the models it applies to
        self.grouped: dict[str, list[str]] = {}

    def fail(self, message: str) -> None:
        self.failures.append(message)
        print(f"  FAIL {message}")

    def compare(self, name: str, ours: dict, ref: dict) -> None:
        worst = 0.0
        for key, expected in ref["embeddings"].items():
            if key not in ours["embeddings"]:
                self.fail(f"{name}: no '{key}' embeddings on the other side")
                continue
            diff = float(np.abs(np.asarray(ours["embeddings"][key]) - np.asarray(expected)).max())
            worst = max(worst, diff)
            if not diff <= self.atol:
                self.fail(f"{name}: {key} differs by {diff:.3g} (> {self.atol})")
        for key in ("prompts", "defaultPromptName", "similarityFnName", "maxSeqLength", "dimension"):
            if key == "prompts" and with_default_prompts(ours[key]) == with_default_prompts(ref[key]):
                if ours[key] != ref[key]:
                    self.notes.append(f"{name}: prompts {ours[key]} on one side, {ref[key]} on the other (same texts)")
                continue
            if ours[key] != ref[key]:
                self.fail(f"{name}: {key} is {ours[key]!r} on one side, {ref[key]!r} on the other")
        print(f"  {name}: max |diff| {worst:.3g} over {len(ref['embeddings'])} outputs, {ref['modules']}")


def with_default_prompts(prompts: dict) -> dict:
    """v6 fills missing "query" / "document" prompts with ""; an absent prompt and "" encode alike."""
    return {"query": "", "document": "", **prompts}


def python_report(model: SentenceTransformer) -> dict:
    embeddings = {"plain": model.encode(TEXTS).tolist()}
    for name in model.prompts:
        embeddings[f"prompt:{name}"] = model.encode(TEXTS, prompt_name=name).tolist()
    q = model.encode(TEXTS[:2], convert_to_tensor=True)
    d = model.encode(TEXTS[2:5], convert_to_tensor=True)
    embeddings["similarity"] = model.similarity(q, d).tolist()
    max_len = model.max_seq_length
    dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return {
        "modules": [type(m).__name__ for m in model],
        "prompts": model.prompts,
        "defaultPromptName": model.default_prompt_name,
        "similarityFnName": model.similarity_fn_name,
        "maxSeqLength": None if max_len is None or max_len == math.inf else max_len,
        "dimension": dimension(),
        "embeddings": embeddings,
    }


def load_quietly(folder: str) -> tuple[SentenceTransformer, list[str]]:
    """Loads a folder, returning the warnings and log records (WARNING and above) it produced."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.WARNING)
    loggers = [logging.getLogger(n) for n in ("", "sentence_transformers", "transformers", "huggingface_hub")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = SentenceTransformer(folder, device="cpu")
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    messages = [str(w.message) for w in caught if not issubclass(w.category, ResourceWarning)]
    messages += [line for line in stream.getvalue().splitlines() if line.strip()]
    return model, [m for m in dict.fromkeys(messages) if not m.startswith(BENIGN)]


def front_matter(readme: str) -> dict:
    """README.md's metadata as the Hub reads it (huggingface_hub's ModelCard: YAML, model-index -> eval results)."""
    with open(readme, encoding="utf8") as f:
        text = f.read()
    if not text.startswith("---\n"):
        raise ValueError("no front matter")
    data = yaml.safe_load(text[4 : text.index("\n---\n", 4)])
    if not isinstance(data, dict):
        raise ValueError("front matter is not a mapping")
    try:
        from huggingface_hub import ModelCard
    except ImportError:
        return data
    card = ModelCard.load(readme)
    if "model-index" in data and not card.data.eval_results:
        raise ValueError("model-index gives no eval results")
    return card.data.to_dict()


def json_files(folder: str) -> dict[str, object]:
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            if name.endswith(".json") and name not in ("tokenizer.json",):
                path = os.path.join(root, name)
                with open(path, encoding="utf8") as f:
                    found[os.path.relpath(path, folder)] = json.load(f)
    return found


def shape(value: object) -> object:
    """The keys and value types of a JSON value (lists of objects: per element)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value] if any(isinstance(v, (dict, list)) for v in value) else "list"
    return type(value).__name__


def diff_shapes(where: str, ours: object, theirs: object, notes: list[str]) -> None:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        only_ours, only_theirs = sorted(set(ours) - set(theirs)), sorted(set(theirs) - set(ours))
        if only_ours or only_theirs:
            notes.append(f"{where}: keys only stts writes {only_ours}, only Python writes {only_theirs}")
        for key in sorted(set(ours) & set(theirs)):
            diff_shapes(f"{where}.{key}", ours[key], theirs[key], notes)
    elif isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        for i, (a, b) in enumerate(zip(ours, theirs)):
            diff_shapes(f"{where}[{i}]", a, b, notes)
    elif ours != theirs:
        notes.append(f"{where}: stts writes {ours}, Python writes {theirs}")


def check_stts_to_python(checker: Checker, work: str, node: str, trained: list[str]) -> None:
    print("1. folders written by stts, loaded by Python sentence-transformers", sentence_transformers.__version__)
    subprocess.run([node, os.path.join(work, "helper.mjs"), REPO, "save", work, *trained], check=True)
    with open(os.path.join(work, "stts-save.json"), encoding="utf8") as f:
        saved = json.load(f)
    for folder, ours in saved.items():
        name = os.path.relpath(folder, work) if folder.startswith(work + os.sep) else folder
        if name.startswith("stts/b2-") and ST_MAJOR < 6:
            print(f"  {name}: skipped (v6 Pooling config)")
            continue
        model, messages = load_quietly(folder)
        for message in messages:
            checker.fail(f"{name}: Python logged while loading: {message}")
        checker.compare(name, python_report(model), ours)
        if os.path.exists(os.path.join(folder, "README.md")):
            try:
                data = front_matter(os.path.join(folder, "README.md"))
                if data.get("library_name") != "sentence-transformers":
                    checker.fail(f"{name}: README.md front matter has library_name {data.get('library_name')!r}")
            except (ValueError, yaml.YAMLError) as error:
                checker.fail(f"{name}: README.md front matter does not parse: {error}")
        resaved = os.path.join(work, "python-resaved", name)
        model.save(resaved)
        ours_json, theirs_json = json_files(folder), json_files(resaved)
        notes: list[str] = []
        for rel in sorted(set(ours_json) | set(theirs_json)):
            if rel not in theirs_json or rel not in ours_json:
                side = "stts" if rel in ours_json else "Python"
                if not rel.startswith(("optimizer", "scheduler", "trainer_state", "training_args")):
                    notes.append(f"{rel}: written by {side} only")
                continue
            diff_shapes(rel, shape(ours_json[rel]), shape(theirs_json[rel]), notes)
        for note in notes:
            checker.grouped.setdefault(note, []).append(name)


def build_python_models(out: str) -> dict[str, SentenceTransformer]:
    tiny = tiny_dir()
    models: dict[str, SentenceTransformer] = {}
    torch.manual_seed(1)
    tanh = Dense(32, 16, activation_function=torch.nn.Tanh())
    models["i-mean-dense-normalize"] = SentenceTransformer(
        modules=[Transformer(tiny), Pooling(32, "mean"), tanh, Normalize()], device="cpu"
    )
    for mode in ("cls", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"):
        models[f"ii-{mode}"] = SentenceTransformer(modules=[Transformer(tiny), Pooling(32, mode)], device="cpu")
    if ST_MAJOR >= 6:
        ordered = Pooling(32, ("mean", "cls"))
        models["ii-mean+cls"] = SentenceTransformer(modules=[Transformer(tiny), ordered], device="cpu")
    flags = {"pooling_mode_max_tokens": True, "pooling_mode_mean_tokens": True}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        flagged = Pooling(32, **flags)
    models["ii-max+mean-flags"] = SentenceTransformer(modules=[Transformer(tiny), flagged], device="cpu")
    torch.manual_seed(2)
    tokenizer = Tokenizer.from_file(os.path.join(tiny, "tokenizer.json"))
    models["iii-static"] = SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_dim=32)], device="cpu")
    truncating = Tokenizer.from_file(os.path.join(tiny, "tokenizer.json"))
    truncating.enable_truncation(6)
    torch.manual_seed(3)
    models["iii-static-truncation-6"] = SentenceTransformer(
        modules=[StaticEmbedding(truncating, embedding_dim=8)], device="cpu"
    )
    torch.manual_seed(4)
    models["iv-prompts-dot"] = SentenceTransformer(
        modules=[
            Transformer(tiny),
            Pooling(32, "mean"),
            Dense(32, 8, bias=False, activation_function=torch.nn.Identity()),
            Normalize(),
        ],
        prompts={"query": "query: ", "document": "passage: ", "classification": "Classify: "},
        default_prompt_name="query",
        similarity_fn_name="dot",
        device="cpu",
    )
    model = SentenceTransformer(
        modules=[Transformer(tiny), Pooling(32, "mean", include_prompt=False)],
        prompts={"query": "query: "},
        similarity_fn_name="euclidean",
        device="cpu",
    )
    model.max_seq_length = 8
    models["iv-maxlen8-exclude-prompt-euclidean"] = model
    models["iv-manhattan"] = SentenceTransformer(
        modules=[Transformer(tiny), Pooling(32, "mean")], similarity_fn_name="manhattan", device="cpu"
    )
    return models


def check_python_to_stts(checker: Checker, work: str, node: str) -> None:
    print("2. folders written by Python sentence-transformers, loaded by stts")
    out = os.path.join(work, "python")
    expected = {}
    for name, model in build_python_models(out).items():
        folder = os.path.join(out, name)
        model.save(folder)
        expected[folder] = python_report(SentenceTransformer(folder, device="cpu"))
    subprocess.run([node, os.path.join(work, "helper.mjs"), REPO, "encode", work, *expected], check=True)
    with open(os.path.join(work, "stts-encode.json"), encoding="utf8") as f:
        ours = json.load(f)
    for folder, ref in expected.items():
        checker.compare(os.path.relpath(folder, work), ours[os.path.abspath(folder)], ref)


def tiny_dir() -> str:
    parity = os.environ.get("STTS_BERT_PARITY_DIR", os.path.join(REPO, "..", "shared", "parity", "bert"))
    return os.path.abspath(os.path.join(parity, "bert-tiny-h32-l2"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trained", action="append", default=[], help="a trained stts folder to check (repeatable)")
    parser.add_argument("--work", help="scratch folder (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--node", default="node", help="the node executable")
    parser.add_argument("--atol", type=float, default=1e-5, help="largest allowed absolute difference")
    args = parser.parse_args()
    if not os.path.exists(os.path.join(REPO, "packages/sentence-transformers/dist/src/index.js")):
        sys.exit("build first: npx tsc -b packages/torch packages/sentence-transformers")
    work = os.path.abspath(args.work or tempfile.mkdtemp(prefix="stts-interop-"))
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(work, "texts.json"), "w", encoding="utf8") as f:
        json.dump(TEXTS, f)
    with open(os.path.join(work, "helper.mjs"), "w", encoding="utf8") as f:
        f.write(NODE_HELPER)
    checker = Checker(args.atol)
    try:
        check_stts_to_python(checker, work, args.node, [os.path.abspath(t) for t in args.trained])
        check_python_to_stts(checker, work, args.node)
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
    if checker.grouped:
        print(f"how Python {sentence_transformers.__version__} re-saves the stts folders (JSON keys / value types):")
        for note, names in checker.grouped.items():
            print(f"  {note}  [{', '.join(names)}]")
    for note in dict.fromkeys(checker.notes):
        print(f"note: {note}")
    print(f"{len(checker.failures)} failure(s)" + (f"; scratch folder {work}" if args.keep or args.work else ""))
    return 1 if checker.failures else 0


if __name__ == "__main__":
    sys.exit(main())
