// README.md of a saved model: YAML front matter for the Hugging Face Hub, then the reference's card
// sections (details, usage, evaluation, training, citations), written from ModelCardData.
import * as fs from "node:fs";
import * as torch from "@stts/torch";
import { stringify as toYaml } from "yaml";
import { isHubId } from "../hub/download.js";
import * as referenceLosses from "../losses/index.js";
import type { ConfigValue } from "../losses/loss.js";
import type { SentenceTransformerModule } from "../modules/module-registry.js";
import { Pooling } from "../modules/pooling.js";
import { Transformer } from "../modules/transformer.js";
import type { SentenceTransformer } from "../sentence-transformer.js";
import type { DatasetValue } from "../training/dataset.js";
import {
  createModelCardData,
  DEFAULT_MODEL_CARD_TAGS,
  DEFAULT_TASK_NAME,
  EVALUATOR_DESCRIPTIONS,
  type ColumnStats,
  type DatasetCardInfo,
  type EvaluatorCardInfo,
  type LossCardInfo,
  type ModelCardData,
  type TrainingLogRow,
} from "./model-card-data.js";

/** BibTeX of Sentence-BERT (Reimers & Gurevych, 2019), cited by every card. */
export const SENTENCE_TRANSFORMERS_CITATION = `@inproceedings{reimers-2019-sentence-bert,
    title = "Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks",
    author = "Reimers, Nils and Gurevych, Iryna",
    booktitle = "Proceedings of the 2019 Conference on Empirical Methods in Natural Language Processing",
    month = "11",
    year = "2019",
    publisher = "Association for Computational Linguistics",
    url = "https://arxiv.org/abs/1908.10084",
}`;

const DEFAULT_PREDICT_EXAMPLE = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."];
const SIMILARITY_TITLES: Record<string, string> = {
  cosine: "Cosine Similarity",
  dot: "Dot Product",
  euclidean: "Euclidean Distance",
  manhattan: "Manhattan Distance",
};
const LOSS_DOCS = "https://sbert.net/docs/package_reference/sentence_transformer/losses.html";
const EVALUATOR_DOCS = "https://sbert.net/docs/package_reference/sentence_transformer/evaluation.html";

/**
 * The model card (README.md text) of `model`: YAML front matter (tags, base_model, datasets, pipeline_tag,
 * library_name, metrics and model-index when evaluated), then the model details and module stack, usage in
 * stts (TypeScript) and Python sentence-transformers, the evaluation metrics, each dataset's size, columns,
 * statistics, examples and loss, the non-default training arguments, the training logs, the framework
 * versions and BibTeX (Sentence-BERT plus each loss's, identical entries merged). `SentenceTransformer.save`
 * writes it as README.md from `model.modelCardData`.
 *
 * @example
 * const card = generateModelCard(model, createModelCardData({ language: "en", license: "apache-2.0" }));
 * fs.writeFileSync("README.md", card);
 *
 * @param model the model described (dimensions, sequence length, similarity, module stack)
 * @param data what the card says beyond the model itself (missing lists count as empty)
 */
export function generateModelCard(model: SentenceTransformer, data: Partial<ModelCardData> = {}): string {
  const card = createModelCardData({ ...data, tags: data.tags ?? [] });
  const modelName =
    card.modelName ?? (card.baseModel ? `SentenceTransformer based on ${card.baseModel}` : "SentenceTransformer");
  const sections = [
    `---\n${frontMatter(card, modelName)}---`,
    introduction(model, card, modelName),
    modelDetails(model, card),
    usage(model, card),
    evaluation(card),
    trainingDetails(card),
    frameworkVersions(),
    citations(card),
  ];
  return `${sections.filter((section) => section !== "").join("\n\n")}\n`;
}

/**
 * The module stack as the reference prints a SentenceTransformer:
 * "SentenceTransformer(\n  (0): Transformer({'max_seq_length': 128, ...})\n  (1): Pooling({...})\n)".
 */
export function modelArchitectureString(model: SentenceTransformer): string {
  const lines = model.moduleList.map((module, index) => `  (${index}): ${moduleString(module)}`);
  return ["SentenceTransformer(", ...lines, ")"].join("\n");
}

function moduleString(module: SentenceTransformerModule): string {
  const name = module.constructor.name;
  if (module instanceof Transformer) {
    return `${name}(${pythonDict({ ...module.getConfigDict(), architecture: module.autoModel.constructor.name })})`;
  }
  if (module instanceof Pooling) return `${name}(${pythonDict({ ...module.toConfig() })})`;
  const getConfigDict = (module as { getConfigDict?: () => unknown }).getConfigDict;
  if (typeof getConfigDict === "function") {
    const config = getConfigDict.call(module) as Record<string, ConfigValue>;
    if (typeof config === "object" && config !== null) return `${name}(${pythonDict(config)})`;
  }
  return `${name}(${module.extraRepr()})`;
}

// ---- front matter ---------------------------------------------------------------------------------

/** The losses with the ones modifiers wrap, outer first, one per class name. */
function allLosses(card: ModelCardData): LossCardInfo[] {
  const out = new Map<string, LossCardInfo>();
  const visit = (loss: LossCardInfo): void => {
    if (!out.has(loss.name)) out.set(loss.name, loss);
    if (loss.inner !== null) visit(loss.inner);
  };
  card.losses.forEach(visit);
  return [...out.values()];
}

function isTrained(card: ModelCardData): boolean {
  return card.losses.length > 0 || card.trainDatasets.length > 0 || card.trainingLogs.length > 0;
}

function tags(card: ModelCardData): string[] {
  const out = [...DEFAULT_MODEL_CARD_TAGS, ...card.tags];
  if (isTrained(card)) out.push("generated_from_trainer");
  const size = card.trainDatasets.reduce((total, dataset) => total + dataset.size, 0);
  if (size > 0) out.push(`dataset_size:${size}`);
  out.push(...allLosses(card).map((loss) => `loss:${loss.name}`));
  return [...new Set(out)];
}

/** The metric keys without the evaluator's `${name}_` prefix (when every key has it). */
function shortMetrics(entry: EvaluatorCardInfo): { metrics: [string, number][]; primary: string | null } {
  const prefix = `${entry.name}_`;
  const keys = Object.keys(entry.metrics);
  const strip = entry.name !== "" && keys.length > 0 && keys.every((key) => key.startsWith(prefix));
  const short = (key: string) => (strip && key.startsWith(prefix) ? key.slice(prefix.length) : key);
  return {
    metrics: Object.entries(entry.metrics).map(([key, value]) => [short(key), value]),
    primary: entry.primaryMetric === null ? null : short(entry.primaryMetric),
  };
}

function frontMatter(card: ModelCardData, modelName: string): string {
  const language = card.language == null ? [] : Array.isArray(card.language) ? card.language : [card.language];
  const datasets = [...new Set([...card.trainDatasets, ...card.evalDatasets].flatMap((d) => (d.id ? [d.id] : [])))];
  const metrics = [...new Set(card.evalMetrics.flatMap((entry) => shortMetrics(entry).metrics.map(([key]) => key)))];
  const fields: Record<string, unknown> = {
    language,
    license: card.license ?? null,
    library_name: "sentence-transformers",
    tags: tags(card),
    datasets,
    metrics,
    pipeline_tag: "sentence-similarity",
    "model-index": card.evalMetrics.length === 0 ? [] : [{ name: modelName, results: modelIndex(card) }],
    base_model: card.baseModel ?? null,
  };
  const kept = Object.fromEntries(
    Object.entries(fields).filter(([, value]) => value !== null && !(Array.isArray(value) && value.length === 0)),
  );
  return toYaml(kept, { lineWidth: 0 });
}

function modelIndex(card: ModelCardData): unknown[] {
  return card.evalMetrics.map((entry) => ({
    task: { type: entry.description.toLowerCase().replace(/ /g, "-"), name: entry.description },
    dataset: { name: entry.name.replace(/[_-]/g, " ") || "Unknown", type: entry.name || "unknown" },
    metrics: shortMetrics(entry)
      .metrics.filter(([, value]) => Number.isFinite(value))
      .map(([key, value]) => ({ type: key, value, name: pythonTitle(key.replace(/_/g, " ")) })),
  }));
}

// ---- sections -------------------------------------------------------------------------------------

function introduction(model: SentenceTransformer, card: ModelCardData, modelName: string): string {
  const names = card.trainDatasets.map((dataset) => datasetLink(dataset));
  const on = names.length === 0 ? "" : ` on the ${joinAnd(names)} dataset${names.length > 1 ? "s" : ""}`;
  const from = card.baseModel ? ` finetuned from ${baseModelLink(card.baseModel)}` : " trained";
  return (
    `# ${modelName}\n\n` +
    `This is a [sentence-transformers](https://www.SBERT.net) model${from}${on}, built with stts ` +
    `(sentence-transformers for TypeScript on libtorch). It maps sentences & paragraphs to a ` +
    `${model.getSentenceEmbeddingDimension() ?? "?"}-dimensional dense vector space and can be used for ` +
    `${card.taskName ?? DEFAULT_TASK_NAME}.`
  );
}

function modelDetails(model: SentenceTransformer, card: ModelCardData): string {
  const maxSeqLength = model.maxSeqLength;
  const lines = [
    "## Model Details",
    "",
    "### Model Description",
    "- **Model Type:** Sentence Transformer",
    card.baseModel
      ? `- **Base model:** ${baseModelLink(card.baseModel)}`
      : "<!-- - **Base model:** [Unknown](https://huggingface.co/unknown) -->",
    `- **Maximum Sequence Length:** ${maxSeqLength === null ? "unknown" : maxSeqLength === Infinity ? "unlimited" : `${maxSeqLength} tokens`}`,
    `- **Output Dimensionality:** ${model.getSentenceEmbeddingDimension() ?? "unknown"} dimensions`,
    `- **Similarity Function:** ${SIMILARITY_TITLES[model.similarityFnName] ?? model.similarityFnName}`,
  ];
  if (card.trainDatasets.length > 0) {
    lines.push(`- **Training Dataset${card.trainDatasets.length > 1 ? "s" : ""}:**`);
    for (const dataset of card.trainDatasets) lines.push(`    - ${datasetLink(dataset)}`);
  } else {
    lines.push("<!-- - **Training Dataset:** Unknown -->");
  }
  const language = card.language == null ? [] : Array.isArray(card.language) ? card.language : [card.language];
  lines.push(
    language.length > 0
      ? `- **Language${language.length > 1 ? "s" : ""}:** ${language.join(", ")}`
      : "<!-- - **Language:** Unknown -->",
  );
  lines.push(card.license ? `- **License:** ${card.license}` : "<!-- - **License:** Unknown -->");
  lines.push(
    "",
    "### Model Sources",
    "",
    "- **Documentation:** [Sentence Transformers Documentation](https://sbert.net)",
    "- **Repository:** [Sentence Transformers on GitHub](https://github.com/UKPLab/sentence-transformers)",
    "- **Hugging Face:** [Sentence Transformers on Hugging Face](https://huggingface.co/models?library=sentence-transformers)",
    "",
    "### Full Model Architecture",
    "",
    "```",
    modelArchitectureString(model),
    "```",
  );
  return lines.join("\n");
}

function usage(model: SentenceTransformer, card: ModelCardData): string {
  const id = card.modelId ?? "sentence_transformers_model_id";
  const texts = predictExample(card);
  const dim = model.getSentenceEmbeddingDimension() ?? 1024;
  const n = texts.length;
  return [
    "## Usage",
    "",
    "### Direct Usage (stts, TypeScript)",
    "",
    "First install stts:",
    "",
    "```bash",
    "npm install stts",
    "```",
    "",
    "Then you can load this model and run inference.",
    "```ts",
    'import { SentenceTransformer } from "stts";',
    "",
    "// Download from the 🤗 Hub (or give a local folder)",
    `const model = await SentenceTransformer.load(${JSON.stringify(id)});`,
    "// Run inference",
    "const sentences = [",
    ...texts.map((text) => `  ${JSON.stringify(text)},`),
    "];",
    "const embeddings = model.encode(sentences);",
    "console.log(embeddings.length, embeddings[0].length);",
    `// ${n} ${dim}`,
    "",
    "// Get the similarity scores for the embeddings",
    "const similarities = model.similarity(embeddings, embeddings);",
    "console.log(similarities.shape);",
    `// [${n}, ${n}]`,
    "```",
    "",
    "### Direct Usage (Sentence Transformers, Python)",
    "",
    "First install the Sentence Transformers library:",
    "",
    "```bash",
    "pip install -U sentence-transformers",
    "```",
    "",
    "Then you can load this model and run inference.",
    "```python",
    "from sentence_transformers import SentenceTransformer",
    "",
    "# Download from the 🤗 Hub",
    `model = SentenceTransformer(${pythonRepr(id)})`,
    "# Run inference",
    "sentences = [",
    ...texts.map((text) => `    ${pythonRepr(text)},`),
    "]",
    "embeddings = model.encode(sentences)",
    "print(embeddings.shape)",
    `# [${n}, ${dim}]`,
    "",
    "# Get the similarity scores for the embeddings",
    "similarities = model.similarity(embeddings, embeddings)",
    "print(similarities.shape)",
    `# [${n}, ${n}]`,
    "```",
  ].join("\n");
}

/** The texts of the usage snippets: given, else the first texts of the training examples, else the defaults. */
function predictExample(card: ModelCardData): string[] {
  if (card.predictExample && card.predictExample.length > 0) return card.predictExample;
  const texts: string[] = [];
  for (const dataset of [...card.evalDatasets, ...card.trainDatasets]) {
    for (const row of dataset.examples) {
      for (const value of Object.values(row))
        if (typeof value === "string" && !texts.includes(value)) texts.push(value);
    }
    if (texts.length >= 3) return texts.slice(0, 3);
  }
  return DEFAULT_PREDICT_EXAMPLE;
}

function evaluation(card: ModelCardData): string {
  if (card.evalMetrics.length === 0) return "";
  const lines = ["## Evaluation", "", "### Metrics"];
  for (const entry of card.evalMetrics) {
    const { metrics, primary } = shortMetrics(entry);
    const link =
      entry.evaluator in EVALUATOR_DESCRIPTIONS || entry.evaluator === "SequentialEvaluator"
        ? `[<code>${entry.evaluator}</code>](${EVALUATOR_DOCS}#sentence_transformers.evaluation.${entry.evaluator})`
        : `<code>${entry.evaluator}</code>`;
    lines.push("", `#### ${entry.description}`, "");
    if (entry.name !== "") lines.push(`* Dataset: \`${entry.name}\``);
    lines.push(`* Evaluated with ${link}`, "");
    const rows = metrics.map(([key, value]) => {
      const bold = key === primary;
      const shown = formatNumber(value, 4);
      return { Metric: bold ? `**${key}**` : key, Value: bold ? `**${shown}**` : shown };
    });
    lines.push(markdownTable(["Metric", "Value"], rows));
  }
  return lines.join("\n");
}

function trainingDetails(card: ModelCardData): string {
  const lines = ["## Training Details"];
  for (const [kind, datasets] of [
    ["training", card.trainDatasets],
    ["evaluation", card.evalDatasets],
  ] as const) {
    if (datasets.length === 0) continue;
    lines.push("", `### ${kind === "training" ? "Training" : "Evaluation"} Dataset${datasets.length > 1 ? "s" : ""}`);
    for (const dataset of datasets) lines.push("", datasetSection(dataset, kind, lossFor(card, dataset.name)));
  }
  const args = Object.entries(card.trainingArguments);
  if (args.length > 0) {
    lines.push("", "### Training Hyperparameters", "#### Non-Default Hyperparameters", "");
    for (const [key, value] of args) lines.push(`- \`${key}\`: ${formatArgument(value)}`);
  }
  if (card.trainingLogs.length > 0) lines.push("", "### Training Logs", trainingLogTable(card));
  return lines.length === 1 ? "" : lines.join("\n");
}

function lossFor(card: ModelCardData, datasetName: string): LossCardInfo | null {
  return (
    card.losses.find((loss) => loss.dataset === datasetName) ??
    card.losses.find((loss) => loss.dataset === null) ??
    null
  );
}

function datasetSection(dataset: DatasetCardInfo, kind: "training" | "evaluation", loss: LossCardInfo | null): string {
  const columns = dataset.columns.map((column) => `<code>${escapeHtml(column.name)}</code>`);
  const lines = [`#### ${dataset.name || "Unnamed Dataset"}`, "", `* Dataset: ${datasetLink(dataset)}`];
  lines.push(`* Size: ${dataset.size.toLocaleString("en-US")} ${kind} samples`);
  if (columns.length > 0) lines.push(`* Columns: ${joinAnd(columns, ", and ")}`);
  if (dataset.columns.length > 0 && dataset.statsSampleSize > 0) {
    lines.push(`* Approximate statistics based on the first ${dataset.statsSampleSize} samples:`);
    const headers = ["", ...dataset.columns.map((column) => column.name)];
    const rows = [
      { "": "type", ...Object.fromEntries(dataset.columns.map((c) => [c.name, c.type])) },
      { "": "details", ...Object.fromEntries(dataset.columns.map((c) => [c.name, columnDetails(c)])) },
    ];
    lines.push(indent(markdownTable(headers, rows)));
  }
  if (dataset.examples.length > 0) {
    lines.push("* Samples:");
    const headers = Object.keys(dataset.examples[0]!);
    const rows = dataset.examples.map((row) =>
      Object.fromEntries(headers.map((key) => [key, `<code>${escapeHtml(exampleValue(row[key] ?? null))}</code>`])),
    );
    lines.push(indent(markdownTable(headers, rows)));
  }
  if (loss !== null) {
    const name = Object.hasOwn(referenceLosses, loss.name)
      ? `[<code>${loss.name}</code>](${LOSS_DOCS}#${loss.name.toLowerCase()})`
      : `<code>${loss.name}</code>`;
    lines.push(`* Loss: ${name} with these parameters:`);
    lines.push(indent(`\`\`\`json\n${JSON.stringify(loss.config, null, 4)}\n\`\`\``));
  }
  return lines.join("\n");
}

function columnDetails(column: ColumnStats): string {
  const items: string[] = [];
  const unit = column.unit === null ? "" : ` ${column.unit}`;
  const distribution = column.distribution === undefined ? [] : Object.entries(column.distribution);
  if (column.type === "int" && distribution.length > 0 && distribution.length <= 10) {
    const approx = distribution.length > 1 ? "~" : "";
    for (const [value, fraction] of distribution) items.push(`${value}: ${approx}${(fraction * 100).toFixed(2)}%`);
  } else if (column.min !== null && column.mean !== null && column.max !== null) {
    items.push(`min: ${formatNumber(column.min, 2)}${unit}`);
    items.push(`mean: ${formatNumber(column.mean, 2)}${unit}`);
    items.push(`max: ${formatNumber(column.max, 2)}${unit}`);
  }
  return items.length === 0 ? "" : `<ul><li>${items.join("</li><li>")}</li></ul>`;
}

function exampleValue(value: DatasetValue): string {
  if (Array.isArray(value)) {
    return value.length > 5 ? `[${value.slice(0, 5).join(", ")}, ...]` : `[${value.join(", ")}]`;
  }
  return String(value);
}

const LOG_COLUMN_TITLES: Record<string, string> = { epoch: "Epoch", step: "Step", trainingLoss: "Training Loss" };

function trainingLogTable(card: ModelCardData): string {
  const keys: string[] = [];
  for (const row of card.trainingLogs) for (const key of Object.keys(row)) if (!keys.includes(key)) keys.push(key);
  const rank = (key: string): number =>
    key === "epoch"
      ? 0
      : key === "step"
        ? 1
        : key === "trainingLoss"
          ? 2
          : key === "validationLoss"
            ? 3
            : /loss$/i.test(key)
              ? 4
              : 5 + keys.indexOf(key);
  const ordered = [...keys].sort((a, b) => rank(a) - rank(b));
  const title = (key: string) => LOG_COLUMN_TITLES[key] ?? (key === "validationLoss" ? "Validation Loss" : key);
  const best = card.bestModelStep ?? null;
  const rows = card.trainingLogs.map((row: TrainingLogRow) =>
    Object.fromEntries(
      ordered.map((key) => {
        const value = row[key];
        const shown = value === undefined ? "-" : key === "step" ? String(value) : formatNumber(value, 4);
        return [title(key), row.step === best ? `**${shown}**` : shown];
      }),
    ),
  );
  const table = markdownTable(ordered.map(title), rows);
  const details = card.trainingLogs.length > 100;
  const parts = [details ? `<details><summary>Click to expand</summary>\n\n${table}` : table];
  if (best !== null && card.trainingLogs.some((row) => row.step === best)) {
    parts.push("* The bold row denotes the saved checkpoint.");
  }
  if (details) parts.push("</details>");
  return parts.join("\n");
}

function frameworkVersions(): string {
  return [
    "### Framework Versions",
    `- stts: ${sttsVersion()}`,
    `- Node.js: ${process.versions.node}`,
    `- libtorch: ${torch.buildInfo().version}`,
    "- Sentence Transformers (folder format): 5.1.2",
  ].join("\n");
}

function citations(card: ModelCardData): string {
  const byCitation = new Map<string, string[]>([[SENTENCE_TRANSFORMERS_CITATION.trim(), ["Sentence Transformers"]]]);
  for (const loss of allLosses(card)) {
    if (loss.citation === null || loss.citation.trim() === "") continue;
    const key = loss.citation.trim();
    const names = byCitation.get(key) ?? [];
    if (!names.includes(loss.name)) names.push(loss.name);
    byCitation.set(key, names);
  }
  const lines = ["## Citation", "", "### BibTeX"];
  for (const [citation, names] of byCitation) lines.push("", `#### ${joinAnd(names)}`, "```bibtex", citation, "```");
  return lines.join("\n");
}

// ---- formatting helpers ---------------------------------------------------------------------------

let cachedVersion: string | null = null;

/** This package's version (stts), from its package.json. */
export function sttsVersion(): string {
  if (cachedVersion === null) {
    try {
      const file = new URL("../../../package.json", import.meta.url);
      cachedVersion = String((JSON.parse(fs.readFileSync(file, "utf8")) as { version?: unknown }).version ?? "unknown");
    } catch {
      cachedVersion = "unknown";
    }
  }
  return cachedVersion;
}

function baseModelLink(baseModel: string): string {
  return isHubId(baseModel) ? `[${baseModel}](https://huggingface.co/${baseModel})` : baseModel;
}

function datasetLink(dataset: DatasetCardInfo): string {
  return dataset.id ? `[${dataset.name || dataset.id}](https://huggingface.co/datasets/${dataset.id})` : dataset.name;
}

/** "a", "a and b", "a, b and c" (or "a, b, and c" with lastSeparator ", and "). */
function joinAnd(items: readonly string[], lastSeparator = " and "): string {
  if (items.length <= 1) return items.join("");
  if (items.length === 2) return `${items[0]} and ${items[1]}`;
  return `${items.slice(0, -1).join(", ")}${lastSeparator}${items[items.length - 1]}`;
}

function indent(text: string, prefix = "  "): string {
  return text
    .split("\n")
    .map((line) => (line === "" ? line : prefix + line))
    .join("\n");
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\n/g, "<br>");
}

/** A markdown table; cells must not contain newlines (pipes are escaped). */
function markdownTable(headers: readonly string[], rows: readonly Record<string, string>[]): string {
  const cell = (text: string) => text.replace(/\|/g, "\\|");
  return [
    `| ${headers.map(cell).join(" | ")} |`,
    `|${headers.map(() => ":--").join("|")}|`,
    ...rows.map((row) => `| ${headers.map((header) => cell(row[header] ?? "")).join(" | ")} |`),
  ].join("\n");
}

/** Rounded to `digits` decimals, as Python's round() prints it. */
function formatNumber(value: number, digits: number): string {
  if (!Number.isFinite(value)) return String(value);
  return String(Number(value.toFixed(digits)));
}

function formatArgument(value: ConfigValue): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Python's str.title(): each run of letters capitalised. */
function pythonTitle(text: string): string {
  return text.replace(/[A-Za-z]+/g, (word) => word[0]!.toUpperCase() + word.slice(1).toLowerCase());
}

/** Python's repr() of a string. */
export function pythonRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = "";
  for (const char of text) {
    if (char === "\\") out += "\\\\";
    else if (char === quote) out += `\\${quote}`;
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)
      out += `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`;
    else out += char;
  }
  return quote + out + quote;
}

/** A config as Python prints a dict: {'key': 'value', 'flag': True, 'none': None}. */
function pythonDict(config: Record<string, ConfigValue>): string {
  return `{${Object.entries(config)
    .map(([key, value]) => `${pythonRepr(key)}: ${pythonValue(value)}`)
    .join(", ")}}`;
}

function pythonValue(value: ConfigValue): string {
  if (value === null) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") return value === Infinity ? "inf" : value === -Infinity ? "-inf" : String(value);
  if (typeof value === "string") return pythonRepr(value);
  if (Array.isArray(value)) return `[${value.map(pythonValue).join(", ")}]`;
  return pythonDict(value);
}
