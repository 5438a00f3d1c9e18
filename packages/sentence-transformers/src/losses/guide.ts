// The loss guide: which data each loss takes, read from the loss classes' own static metadata
// (inputColumns, labelKind, category, description, dataFormats, commonChoiceFor, citation), rendered as
// the tables of docs/losses.md and `stts losses`, and matched against a dataset (lossesForData), so the
// documentation, the command line and the trainer's data check give the same answer.
import type { Dataset, DatasetValue } from "../training/dataset.js";
import { wordTokenize } from "../util/noise.js";
import { AdaptiveLayerLoss } from "./adaptive-layer-loss.js";
import { AnglELoss } from "./angle-loss.js";
import { BatchAllTripletLoss } from "./batch-all-triplet-loss.js";
import { BatchHardSoftMarginTripletLoss } from "./batch-hard-soft-margin-triplet-loss.js";
import { BatchHardTripletLoss } from "./batch-hard-triplet-loss.js";
import { BatchSemiHardTripletLoss } from "./batch-semi-hard-triplet-loss.js";
import { CachedGISTEmbedLoss } from "./cached-gist-embed-loss.js";
import { CachedMultipleNegativesRankingLoss } from "./cached-multiple-negatives-ranking-loss.js";
import { CachedMultipleNegativesSymmetricRankingLoss } from "./cached-multiple-negatives-symmetric-ranking-loss.js";
import { ContrastiveLoss } from "./contrastive-loss.js";
import { ContrastiveTensionLoss, ContrastiveTensionLossInBatchNegatives } from "./contrastive-tension-loss.js";
import { CoSENTLoss } from "./cosent-loss.js";
import { CosineSimilarityLoss } from "./cosine-similarity-loss.js";
import { DenoisingAutoEncoderLoss } from "./denoising-auto-encoder-loss.js";
import { DistillKLDivLoss } from "./distill-kl-div-loss.js";
import { GISTEmbedLoss } from "./gist-embed-loss.js";
import type { Loss } from "./loss.js";
import {
  describeColumns,
  type DataFormatId,
  type InputColumns,
  type LabelKind,
  type LossCategory,
  type LossGuideSpec,
} from "./loss-inputs.js";
import { MarginMSELoss } from "./margin-mse-loss.js";
import { Matryoshka2dLoss } from "./matryoshka-2d-loss.js";
import { MatryoshkaLoss } from "./matryoshka-loss.js";
import { MegaBatchMarginLoss } from "./mega-batch-margin-loss.js";
import { MSELoss } from "./mse-loss.js";
import { MultipleNegativesRankingLoss } from "./multiple-negatives-ranking-loss.js";
import { MultipleNegativesSymmetricRankingLoss } from "./multiple-negatives-symmetric-ranking-loss.js";
import { OnlineContrastiveLoss } from "./online-contrastive-loss.js";
import { SoftmaxLoss } from "./softmax-loss.js";
import { TripletLoss } from "./triplet-loss.js";

// ---- the losses and their metadata ----------------------------------------------------------------

/** A loss class as the guide reads it: a constructor whose static metadata may be missing (custom losses). */
export type LossClass = (abstract new (...args: never[]) => Loss) & Partial<LossGuideSpec>;

/**
 * Every loss of the library, in the guide's order: within a data format, the common choices come
 * first and the others follow in this order.
 */
export const GUIDE_LOSSES: readonly LossClass[] = [
  MultipleNegativesRankingLoss,
  CachedMultipleNegativesRankingLoss,
  MultipleNegativesSymmetricRankingLoss,
  CachedMultipleNegativesSymmetricRankingLoss,
  GISTEmbedLoss,
  CachedGISTEmbedLoss,
  MegaBatchMarginLoss,
  TripletLoss,
  CoSENTLoss,
  AnglELoss,
  CosineSimilarityLoss,
  SoftmaxLoss,
  OnlineContrastiveLoss,
  ContrastiveLoss,
  BatchAllTripletLoss,
  BatchHardTripletLoss,
  BatchSemiHardTripletLoss,
  BatchHardSoftMarginTripletLoss,
  ContrastiveTensionLossInBatchNegatives,
  ContrastiveTensionLoss,
  DenoisingAutoEncoderLoss,
  MSELoss,
  MarginMSELoss,
  DistillKLDivLoss,
  MatryoshkaLoss,
  AdaptiveLayerLoss,
  Matryoshka2dLoss,
];

/** A paper, read from a loss's BibTeX citation. */
export interface PaperReference {
  title: string;
  /** "Henderson et al.", or the one author's name as written. */
  authors: string;
  year: string;
  /** The url field, else the arXiv abstract of the eprint, else the DOI; null when the entry has none. */
  url: string | null;
}

/** One loss of the guide, with its metadata resolved. */
export interface LossGuideEntry {
  name: string;
  category: LossCategory;
  description: string;
  inputColumns: InputColumns;
  labelKind: LabelKind;
  dataFormats: readonly DataFormatId[];
  commonChoiceFor: readonly DataFormatId[];
  /** The BibTeX of `loss.citation`, or null for a loss without a paper of its own. */
  citation: string | null;
  paper: PaperReference | null;
}

/** The guide metadata fields, in the order the messages name them. */
const GUIDE_FIELDS = [
  "inputColumns",
  "labelKind",
  "category",
  "description",
  "dataFormats",
  "commonChoiceFor",
] as const;

/**
 * The metadata fields a loss class lacks. inputColumns and labelKind may be inherited (AnglELoss takes
 * CoSENTLoss's); category, description, dataFormats and commonChoiceFor must be the class's own, so a
 * subclass does not silently pass for its parent in the guide.
 */
export function missingLossMetadata(lossClass: LossClass): string[] {
  return GUIDE_FIELDS.filter((field) => {
    const own =
      field === "inputColumns" || field === "labelKind" ? field in lossClass : Object.hasOwn(lossClass, field);
    return !own || lossClass[field] === undefined;
  });
}

/** `loss.citation` of a class, read from its prototype's getter (the library's citations are constants). */
export function citationOf(lossClass: LossClass): string | null {
  const value: unknown = Reflect.get(lossClass.prototype as object, "citation");
  return typeof value === "string" && value.trim() !== "" ? value : null;
}

/** The guide entry of a loss class; throws, naming the class and the fields, when metadata is missing. */
export function lossGuideEntry(lossClass: LossClass): LossGuideEntry {
  const missing = missingLossMetadata(lossClass);
  if (missing.length > 0) {
    throw new Error(
      `${lossClass.name} declares no static ${missing.join(", ")}: every loss of the guide needs them (see LossGuideSpec in losses/loss-inputs.ts)`,
    );
  }
  const citation = citationOf(lossClass);
  return {
    name: lossClass.name,
    category: lossClass.category!,
    description: lossClass.description!,
    inputColumns: lossClass.inputColumns!,
    labelKind: lossClass.labelKind!,
    dataFormats: lossClass.dataFormats!,
    commonChoiceFor: lossClass.commonChoiceFor!,
    citation,
    paper: citation === null ? null : parseCitation(citation),
  };
}

/** Every loss of the guide (GUIDE_LOSSES), resolved. */
export function lossGuideEntries(): LossGuideEntry[] {
  return GUIDE_LOSSES.map(lossGuideEntry);
}

function bibField(bibtex: string, field: string): string | null {
  const match = new RegExp(`\\b${field}\\s*=\\s*(\\{(?:[^{}]|\\{[^{}]*\\})*\\}|"[^"]*"|\\d+)`, "i").exec(bibtex);
  if (match === null) return null;
  const raw = match[1]!;
  const inner = raw.startsWith("{") || raw.startsWith('"') ? raw.slice(1, -1) : raw;
  return inner
    .replace(/\{\\["'`^~]\{?([a-zA-Z])\}?\}/g, "$1") // {\"a} -> a
    .replace(/[{}]/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

/** Title, first author, year and link of a BibTeX entry. */
export function parseCitation(bibtex: string): PaperReference {
  const title = bibField(bibtex, "title") ?? "(untitled)";
  const authorList = (bibField(bibtex, "author") ?? "").split(/\s+and\s+/).filter((a) => a !== "");
  const surname = (author: string) => (author.includes(",") ? author.split(",")[0]! : author.split(" ").pop()!).trim();
  const authors =
    authorList.length === 0 ? "" : authorList.length === 1 ? authorList[0]! : `${surname(authorList[0]!)} et al.`;
  const eprint = bibField(bibtex, "eprint");
  const doi = bibField(bibtex, "doi");
  const url =
    bibField(bibtex, "url") ??
    (eprint !== null && /arxiv/i.test(bibField(bibtex, "archivePrefix") ?? "")
      ? `https://arxiv.org/abs/${eprint}`
      : doi !== null
        ? `https://doi.org/${doi}`
        : null);
  return { title, authors, year: bibField(bibtex, "year") ?? "", url };
}

// ---- data formats -----------------------------------------------------------------------------------

/** What a data format's label column holds; "text" for class names as texts (no loss takes those). */
export type FormatLabel = Exclude<LabelKind, "inner"> | "text";

/** A data format of the guide (see DataFormatId). */
export interface DataFormat {
  id: DataFormatId;
  /** What the input columns hold: "(anchor, positive) pairs". */
  inputs: string;
  /** What the labels are: "none", "class", "0/1", "float score", ... */
  labels: string;
  /** How many input columns (the label column not counted). */
  columns: { min: number; max: number | null };
  label: FormatLabel;
  /** The table of docs/losses.md the format belongs to. */
  section: "table" | "distillation";
}

/** The data formats, in the order of the tables of docs/losses.md. */
export const DATA_FORMATS: readonly DataFormat[] = [
  {
    id: "pairs",
    inputs: "(anchor, positive) pairs",
    labels: "none",
    columns: { min: 2, max: 2 },
    label: "none",
    section: "table",
  },
  {
    id: "triplets",
    inputs: "(anchor, positive, negative) triplets",
    labels: "none",
    columns: { min: 3, max: 3 },
    label: "none",
    section: "table",
  },
  {
    id: "n-tuples",
    inputs: "(anchor, positive, negative_1, ..., negative_n)",
    labels: "none",
    columns: { min: 4, max: null },
    label: "none",
    section: "table",
  },
  {
    id: "scored-pairs",
    inputs: "(sentence_A, sentence_B) pairs",
    labels: "float similarity score",
    columns: { min: 2, max: 2 },
    label: "score",
    section: "table",
  },
  {
    id: "binary-pairs",
    inputs: "(sentence_A, sentence_B) pairs",
    labels: "0/1 (1 = similar)",
    columns: { min: 2, max: 2 },
    label: "binary",
    section: "table",
  },
  {
    id: "class-pairs",
    inputs: "(sentence_A, sentence_B) pairs",
    labels: "class",
    columns: { min: 2, max: 2 },
    label: "class",
    section: "table",
  },
  {
    id: "class-sentences",
    inputs: "single sentences",
    labels: "class",
    columns: { min: 1, max: 1 },
    label: "class",
    section: "table",
  },
  {
    id: "sentences",
    inputs: "single sentences",
    labels: "none",
    columns: { min: 1, max: 1 },
    label: "none",
    section: "table",
  },
  {
    id: "same-text-pairs",
    inputs: "(sentence, same sentence) pairs",
    labels: "none",
    columns: { min: 2, max: 2 },
    label: "none",
    section: "table",
  },
  {
    id: "contrastive-tension-pairs",
    inputs: "(sentence, same or other sentence) pairs",
    labels: "0/1 (1 = the same sentence)",
    columns: { min: 2, max: 2 },
    label: "binary",
    section: "table",
  },
  {
    id: "damaged-pairs",
    inputs: "(damaged_sentence, original_sentence) pairs",
    labels: "none",
    columns: { min: 2, max: 2 },
    label: "none",
    section: "table",
  },
  {
    id: "text-label-pairs",
    inputs: "(sentence_A, sentence_B) pairs",
    labels: "class names (texts)",
    columns: { min: 2, max: 2 },
    label: "text",
    section: "table",
  },
  {
    id: "text-label-sentences",
    inputs: "single sentences",
    labels: "class names (texts)",
    columns: { min: 1, max: 1 },
    label: "text",
    section: "table",
  },
  {
    id: "teacher-embeddings",
    inputs: "(sentence_1, ..., sentence_n)",
    labels: "teacher embeddings (one vector per row)",
    columns: { min: 1, max: null },
    label: "teacher_embeddings",
    section: "distillation",
  },
  {
    id: "teacher-margins",
    inputs: "(query, positive, negative_1, ..., negative_n)",
    labels: "teacher score margins: score(q, positive) - score(q, negative_i)",
    columns: { min: 3, max: null },
    label: "teacher_margins",
    section: "distillation",
  },
  {
    id: "teacher-scores",
    inputs: "(query, positive, negative_1, ..., negative_n)",
    labels: "teacher scores of (q, positive) and each (q, negative_i)",
    columns: { min: 3, max: null },
    label: "teacher_scores",
    section: "distillation",
  },
];

/** The format with this id. */
export function dataFormat(id: DataFormatId): DataFormat {
  const format = DATA_FORMATS.find((f) => f.id === id);
  if (format === undefined) throw new Error(`unknown data format '${id}'`);
  return format;
}

/** Whether a loss's label kind takes a format's labels (MarginMSELoss also takes raw teacher scores). */
export function labelKindTakes(kind: LabelKind, label: FormatLabel): boolean {
  return kind === label || (kind === "teacher_margins" && label === "teacher_scores");
}

/** Whether a loss's input columns and label kind take the shape of a format (its declared metadata aside). */
export function specTakesFormat(
  spec: { inputColumns: InputColumns; labelKind: LabelKind },
  format: DataFormat,
): boolean {
  const { min, max } = spec.inputColumns;
  const fits = (n: number | null) => (n === null ? max === null : n >= min && (max === null || n <= max));
  return labelKindTakes(spec.labelKind, format.label) && fits(format.columns.min) && fits(format.columns.max);
}

/** Formats whose texts mean something particular: a loss is only matched to them when it names them. */
const SEMANTIC_FORMATS = new Set<DataFormatId>(["same-text-pairs", "contrastive-tension-pairs", "damaged-pairs"]);

/**
 * The formats a loss class is meant for: its declared dataFormats, or for a custom loss that declares
 * only inputColumns/labelKind, every plain format of that shape.
 */
export function formatsOf(lossClass: LossClass): DataFormatId[] {
  if (lossClass.dataFormats !== undefined) return [...lossClass.dataFormats];
  const { inputColumns, labelKind } = lossClass;
  if (inputColumns === undefined || labelKind === undefined || labelKind === "inner") return [];
  return DATA_FORMATS.filter((f) => !SEMANTIC_FORMATS.has(f.id) && specTakesFormat({ inputColumns, labelKind }, f)).map(
    (f) => f.id,
  );
}

/** The guide's losses meant for a format, its common choices first, then the guide's order. */
export function lossesForFormat(id: DataFormatId): LossGuideEntry[] {
  const entries = lossGuideEntries().filter((entry) => entry.dataFormats.includes(id));
  return [
    ...entries.filter((entry) => entry.commonChoiceFor.includes(id)),
    ...entries.filter((entry) => !entry.commonChoiceFor.includes(id)),
  ];
}

// ---- conversions ------------------------------------------------------------------------------------

/** A way to turn data of one format into another, with the library's helpers. */
export interface Conversion {
  from: DataFormatId;
  to: DataFormatId;
  /** The call, as the docs write it: "pairsAboveThreshold(dataset, threshold)". */
  call: string;
  /** What it does, in a few words. */
  what: string;
  /** Whether it applies to this data (default: always, for data of the `from` format). */
  applies?: (profile: DataProfile) => boolean;
}

/** The conversions of the guide; the helpers are in util/data-formats.ts and util/noise.ts. */
export const CONVERSIONS: readonly Conversion[] = [
  {
    from: "class-pairs",
    to: "triplets",
    call: "tripletsByAnchor(dataset, { positiveLabel, negativeLabel })",
    what: "for NLI-like data, where a sentence_A comes with several labelled partners: (sentence_A, a partner of positiveLabel, a partner of negativeLabel)",
    applies: (profile) => profile.sharedAnchors,
  },
  {
    from: "class-pairs",
    to: "triplets",
    call: "pairsToTripletsDataset(dataset)",
    what: "anchor = sentence_A, positive = another sentence of its class, negative = a sentence of another class",
  },
  {
    from: "class-pairs",
    to: "pairs",
    call: "pairsWithLabel(dataset, label)",
    what: "keep the pairs of one class (e.g. entailment) as (anchor, positive) pairs",
  },
  {
    from: "binary-pairs",
    to: "pairs",
    call: "pairsWithLabel(dataset, 1)",
    what: "keep the similar pairs as (anchor, positive) pairs",
  },
  {
    from: "scored-pairs",
    to: "pairs",
    call: "pairsAboveThreshold(dataset, threshold)",
    what: "keep the pairs scored at least `threshold` as (anchor, positive) pairs",
  },
  {
    from: "pairs",
    to: "triplets",
    call: "mineHardNegatives(model, dataset)",
    what: "add a hard negative: a text the model ranks close to the anchor that is not one of its positives",
  },
  {
    from: "pairs",
    to: "n-tuples",
    call: "mineHardNegatives(model, dataset, { numNegatives: 3, asTriplets: false })",
    what: "add several hard negatives per pair, in columns negative_1 ... negative_n",
  },
  {
    from: "n-tuples",
    to: "triplets",
    call: "dataset.selectColumns([anchor, positive, negative_1])",
    what: "keep the first negative",
  },
  {
    from: "triplets",
    to: "pairs",
    call: "dataset.selectColumns([anchor, positive])",
    what: "drop the negative",
  },
  {
    from: "text-label-pairs",
    to: "class-pairs",
    call: "classLabelsToIds(dataset)",
    what: "number the class names 0 ... k-1",
  },
  {
    from: "text-label-sentences",
    to: "class-sentences",
    call: "classLabelsToIds(dataset)",
    what: "number the class names 0 ... k-1",
  },
  {
    from: "sentences",
    to: "same-text-pairs",
    call: "new Dataset({ anchor: texts, positive: texts })",
    what: "each sentence twice",
  },
  {
    from: "sentences",
    to: "contrastive-tension-pairs",
    call: "contrastiveTensionDataset(texts)",
    what: "every 8th pair a sentence with itself (label 1), the others two different sentences (label 0)",
  },
  {
    from: "sentences",
    to: "damaged-pairs",
    call: "denoisingAutoEncoderDataset(texts)",
    what: "delete 60% of the words of each sentence (TSDAE's noise)",
  },
];

/** One or two conversions in a row, and the format they end in. */
export interface ConversionPath {
  steps: Conversion[];
  to: DataFormatId;
  /** Losses meant for `to` that the data did not fit before, nor an earlier path (except an alternative) opened. */
  opens: string[];
  /** Whether it is another way to the format of the path before it (same format, as many steps). */
  alternative: boolean;
}

/** "pairsAboveThreshold(dataset, threshold), then mineHardNegatives(model, dataset)" */
export function describePath(path: ConversionPath): string {
  return path.steps.map((step) => step.call).join(", then ");
}

/**
 * Every chain of at most `maxSteps` conversions (that apply to the data) from its formats to a new
 * one, shortest first; alternatives that reach the same format in as many steps are all kept, and only
 * the first of them is extended.
 */
function conversionPaths(profile: DataProfile, maxSteps: number): { steps: Conversion[]; to: DataFormatId }[] {
  const seen = new Set<DataFormatId>(detectFormats(profile));
  let frontier: { steps: Conversion[]; to: DataFormatId }[] = [...seen].map((to) => ({ steps: [], to }));
  const paths: { steps: Conversion[]; to: DataFormatId }[] = [];
  for (let depth = 0; depth < maxSteps; depth++) {
    const next: { steps: Conversion[]; to: DataFormatId }[] = [];
    for (const path of frontier) {
      for (const conversion of CONVERSIONS) {
        if (conversion.from !== path.to || seen.has(conversion.to)) continue;
        if (conversion.applies !== undefined && !conversion.applies(profile)) continue;
        next.push({ steps: [...path.steps, conversion], to: conversion.to });
      }
    }
    next.forEach((path) => seen.add(path.to));
    paths.push(...next);
    frontier = next.filter((path, i) => next.findIndex((other) => other.to === path.to) === i);
  }
  return paths;
}

// ---- profiling a dataset ----------------------------------------------------------------------------

/** What a dataset's label column holds. */
export type LabelProfile =
  | { type: "none" }
  | { type: "integer"; column: string; min: number; max: number; classes: number; values: number[] }
  | { type: "float"; column: string; min: number; max: number }
  | { type: "vector"; column: string; widths: number[] }
  | { type: "text"; column: string; classes: number; values: string[] }
  | { type: "mixed"; column: string };

/** A dataset's columns and labels, as the guide sees them. */
export interface DataProfile {
  name: string;
  rows: number;
  inputColumns: string[];
  label: LabelProfile;
  /** Two input columns holding the same text in every row. */
  sameText: boolean;
  /** Two input columns where the first is, in every row, the second with some words deleted (and not always equal). */
  damaged: boolean;
  /** 0/1 labels that are 1 exactly where the two texts are identical, with rows of both. */
  identicalIsPositive: boolean;
  /** Two input columns and labels, and some first-column text comes with two different labels (as in NLI). */
  sharedAnchors: boolean;
}

function profileLabels(column: string | null, values: readonly DatasetValue[]): LabelProfile {
  if (column === null) return { type: "none" };
  if (values.every((v) => Array.isArray(v))) {
    return {
      type: "vector",
      column,
      widths: [...new Set(values.map((v) => (v as number[]).length))].sort((a, b) => a - b),
    };
  }
  if (values.every((v) => typeof v === "boolean" || (typeof v === "number" && Number.isInteger(v)))) {
    const numbers = values.map(Number);
    const distinct = [...new Set(numbers)].sort((a, b) => a - b);
    return {
      type: "integer",
      column,
      min: distinct[0] ?? 0,
      max: distinct[distinct.length - 1] ?? 0,
      classes: distinct.length,
      values: distinct,
    };
  }
  if (values.every((v) => typeof v === "number" && Number.isFinite(v))) {
    const numbers = values as number[];
    // a loop, not Math.min(...numbers): spreading a million rows overflows the call stack
    let min = Infinity;
    let max = -Infinity;
    for (const x of numbers) [min, max] = [Math.min(min, x), Math.max(max, x)];
    return { type: "float", column, min, max };
  }
  if (values.every((v) => typeof v === "string")) {
    const distinct = [...new Set(values as string[])].sort();
    return { type: "text", column, classes: distinct.length, values: distinct };
  }
  return { type: "mixed", column };
}

/** Whether `short`'s words are `long`'s with some deleted (in order). */
function isWordSubsequence(short: string, long: string): boolean {
  const words = wordTokenize(long);
  let at = 0;
  for (const word of wordTokenize(short)) {
    while (at < words.length && words[at] !== word) at++;
    if (at === words.length) return false;
    at++;
  }
  return true;
}

/** Profiles a dataset: its input columns, what its label column holds, and how its two text columns relate. */
export function profileDataset(dataset: Dataset): DataProfile {
  const inputColumns = dataset.inputColumns;
  const labelColumn = dataset.labelColumn;
  const label = profileLabels(labelColumn, labelColumn === null ? [] : dataset.column(labelColumn));
  let sameText = false;
  let damaged = false;
  let identicalIsPositive = false;
  let sharedAnchors = false;
  if (inputColumns.length === 2 && dataset.length > 0) {
    const a = dataset.column(inputColumns[0]!);
    const b = dataset.column(inputColumns[1]!);
    const equal = a.map((text, i) => text === b[i]);
    if (label.type === "none") {
      sameText = equal.every(Boolean);
      damaged =
        !sameText &&
        a.every((text, i) => typeof text === "string" && typeof b[i] === "string" && isWordSubsequence(text, b[i]));
    } else if (label.type === "integer" && label.values.every((v) => v === 0 || v === 1) && label.classes === 2) {
      const labels = dataset.column(labelColumn!).map(Number);
      identicalIsPositive = equal.every((same, i) => same === (labels[i] === 1));
    }
    if (labelColumn !== null) {
      const labels = dataset.column(labelColumn);
      const firstLabel = new Map<DatasetValue, DatasetValue>();
      sharedAnchors = a.some((text, i) => {
        const seen = firstLabel.get(text);
        if (seen === undefined) firstLabel.set(text, labels[i]!);
        return seen !== undefined && seen !== labels[i];
      });
    }
  }
  return {
    name: dataset.name,
    rows: dataset.length,
    inputColumns,
    label,
    sameText,
    damaged,
    identicalIsPositive,
    sharedAnchors,
  };
}

function asProfile(data: Dataset | DataProfile): DataProfile {
  return "label" in data && "sameText" in data ? data : profileDataset(data as Dataset);
}

/** The formats the data matches, the most specific first (e.g. 0/1 pairs: binary, then class, then scored). */
export function detectFormats(data: Dataset | DataProfile): DataFormatId[] {
  const profile = asProfile(data);
  const n = profile.inputColumns.length;
  const label = profile.label;
  switch (label.type) {
    case "none":
      if (n === 1) return ["sentences"];
      if (n === 2) {
        return [
          ...(profile.sameText ? (["same-text-pairs"] as const) : []),
          ...(profile.damaged ? (["damaged-pairs"] as const) : []),
          "pairs",
        ];
      }
      return n === 3 ? ["triplets"] : n >= 4 ? ["n-tuples"] : [];
    case "integer": {
      const binary = label.values.every((v) => v === 0 || v === 1);
      if (n === 1) return ["class-sentences"];
      if (n === 2 && binary) {
        return [
          ...(profile.identicalIsPositive ? (["contrastive-tension-pairs"] as const) : []),
          "binary-pairs",
          "class-pairs",
          "scored-pairs",
        ];
      }
      // whole numbers in a column named score(s) are ratings (e.g. 1 to 5); in label(s), classes
      if (n === 2) return label.column.startsWith("score") ? ["scored-pairs", "class-pairs"] : ["class-pairs"];
      return n === 3 ? ["teacher-margins"] : [];
    }
    case "float":
      return n === 2 ? ["scored-pairs"] : n === 3 ? ["teacher-margins"] : [];
    case "vector": {
      if (label.widths.length !== 1 || n === 0) return [];
      const width = label.widths[0]!;
      const ranking: DataFormatId[] = [];
      if (n >= 3 && width === n - 1) ranking.push("teacher-scores");
      if (n >= 3 && width === n - 2) ranking.push("teacher-margins");
      return [...ranking, "teacher-embeddings"];
    }
    case "text":
      return n === 1 ? ["text-label-sentences"] : n === 2 ? ["text-label-pairs"] : [];
    default:
      return [];
  }
}

// ---- matching data to losses ------------------------------------------------------------------------

/** A loss that fits a dataset. */
export interface LossFit {
  name: string;
  /** The format of the data it was matched through. */
  format: DataFormatId;
  /** Whether it is the usual first choice for that format. */
  common: boolean;
  /** What to set or check before using it on this data ("numLabels: 3"), or null. */
  note: string | null;
}

function fitNote(name: string, profile: DataProfile): string | null {
  const label = profile.label;
  if (name === "SoftmaxLoss" && label.type === "integer") {
    const contiguous = label.min === 0 && label.max === label.classes - 1;
    return contiguous
      ? `numLabels: ${label.classes}`
      : `numLabels: ${label.max + 1}; labels must be class ids 0 ... numLabels - 1 (found ${label.values.slice(0, 8).join(", ")})`;
  }
  const numeric = label.type === "float" || label.type === "integer";
  if (name === "CosineSimilarityLoss" && numeric && (label.min < -1 || label.max > 1)) {
    return `it regresses cosine similarities onto the scores: scale them (${formatNumber(label.min)} to ${formatNumber(label.max)}) to [0, 1] first`;
  }
  if (name === "GISTEmbedLoss" || name === "CachedGISTEmbedLoss") return "needs a guide model (options.guide)";
  if (name === "MSELoss" && label.type === "vector") {
    return `the teacher embeddings have ${label.widths.join("/")} numbers: the model's embedding dimension must match`;
  }
  return null;
}

/**
 * The losses of the library that fit a dataset (or its profile), the most common choice first: the
 * formats the data matches, most specific first, and within each its common choices, then the others.
 * Modifiers (MatryoshkaLoss, ...) are not listed: they wrap any of these.
 *
 * @example
 * lossesForData(stsb)[0]; // { name: "CoSENTLoss", format: "scored-pairs", common: true, note: null }
 */
export function lossesForData(data: Dataset | DataProfile): LossFit[] {
  const profile = asProfile(data);
  const fits: LossFit[] = [];
  for (const format of detectFormats(profile)) {
    for (const entry of lossesForFormat(format)) {
      if (fits.some((fit) => fit.name === entry.name)) continue;
      fits.push({
        name: entry.name,
        format,
        common: entry.commonChoiceFor.includes(format),
        note: fitNote(entry.name, profile),
      });
    }
  }
  return fits;
}

/**
 * The conversions (one or two in a row) that make the data fit losses it does not fit yet, each with
 * the losses it opens, shortest first.
 *
 * @example
 * conversionsForData(stsb)[0]; // { steps: [pairsAboveThreshold ...], to: "pairs", opens: ["MultipleNegativesRankingLoss", ...] }
 */
export function conversionsForData(data: Dataset | DataProfile, maxSteps = 2): ConversionPath[] {
  const profile = asProfile(data);
  const known = new Set(lossesForData(profile).map((fit) => fit.name));
  const out: ConversionPath[] = [];
  for (const path of conversionPaths(profile, maxSteps)) {
    const previous = out[out.length - 1];
    if (previous !== undefined && previous.to === path.to && previous.steps.length === path.steps.length) {
      out.push({ ...path, opens: previous.opens, alternative: true });
      continue;
    }
    const opens = lossesForFormat(path.to)
      .map((entry) => entry.name)
      .filter((name) => !known.has(name));
    opens.forEach((name) => known.add(name));
    if (opens.length > 0) out.push({ ...path, opens, alternative: false });
  }
  return out;
}

/**
 * The shortest conversion that turns the data into a format `lossClass` is meant for, or null (also
 * when the data fits it already).
 */
export function conversionToLoss(data: Dataset | DataProfile, lossClass: LossClass): ConversionPath | null {
  const targets = new Set(formatsOf(lossClass));
  const path = conversionPaths(asProfile(data), 2).find((p) => targets.has(p.to));
  return path === undefined ? null : { ...path, opens: [lossClass.name], alternative: false };
}

// ---- describing data --------------------------------------------------------------------------------

function formatNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(4)));
}

/** "float scores from 0 to 5 in 'score'", "integer labels in 'label' (3 classes: 0, 1, 2)", "no label column" */
export function describeLabelProfile(label: LabelProfile): string {
  switch (label.type) {
    case "none":
      return "no label column";
    case "integer": {
      const shown = label.values.slice(0, 10).join(", ") + (label.classes > 10 ? ", ..." : "");
      return `integer labels in '${label.column}' (${label.classes} ${label.classes === 1 ? "class" : "classes"}: ${shown})`;
    }
    case "float":
      return `float scores from ${formatNumber(label.min)} to ${formatNumber(label.max)} in '${label.column}'`;
    case "vector":
      return `vectors of ${label.widths.join("/")} numbers in '${label.column}'`;
    case "text": {
      const shown = label.values.slice(0, 6).join(", ") + (label.classes > 6 ? ", ..." : "");
      return `texts in '${label.column}' (${label.classes} distinct: ${shown})`;
    }
    default:
      return `values of mixed types in '${label.column}'`;
  }
}

// ---- the tables of docs/losses.md -------------------------------------------------------------------

/** One row of the data-format table: a format and the losses meant for it (common choices first). */
export interface LossGuideRow {
  format: DataFormat;
  losses: { name: string; common: boolean }[];
  /** For a format no loss takes directly: the conversions that start from it. */
  conversions: Conversion[];
}

/** The rows of the data-format tables (main and distillation), in DATA_FORMATS order. */
export function lossGuideRows(): LossGuideRow[] {
  return DATA_FORMATS.map((format) => ({
    format,
    losses: lossesForFormat(format.id).map((entry) => ({
      name: entry.name,
      common: entry.commonChoiceFor.includes(format.id),
    })),
    conversions: CONVERSIONS.filter((c) => c.from === format.id),
  }));
}

const LABEL_WORDS: Record<LabelKind, string> = {
  none: "none",
  class: "class",
  binary: "0/1",
  score: "float score",
  teacher_embeddings: "teacher embeddings",
  teacher_margins: "teacher score margins (or teacher scores)",
  teacher_scores: "teacher scores",
  inner: "those of the wrapped loss",
};

/** The label words of a label kind, as the tables write them. */
export function labelWords(kind: LabelKind): string {
  return LABEL_WORDS[kind];
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, "\\|");
}

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map(escapeCell).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function anchor(name: string): string {
  return `#${name.toLowerCase()}`;
}

function paperLink(paper: PaperReference | null): string {
  if (paper === null) return "-";
  const text = `${paper.authors}${paper.authors === "" ? "" : ", "}${paper.year}`;
  return paper.url === null ? `${paper.title} (${text})` : `[${paper.title}](${paper.url}) (${text})`;
}

function formatRowCells(row: LossGuideRow): string[] {
  const losses =
    row.losses.length > 0
      ? row.losses
          .map((loss) =>
            loss.common ? `**[${loss.name}](${anchor(loss.name)})**` : `[${loss.name}](${anchor(loss.name)})`,
          )
          .join(", ")
      : `none directly: convert with ${row.conversions.map((c) => `\`${c.call}\``).join(" or ")}`;
  return [row.format.inputs, row.format.labels, losses];
}

/**
 * The generated tables of docs/losses.md (markdown): losses by data format, the distillation losses,
 * the modifiers, the conversions, and every loss with its columns, labels and paper. `npm run
 * docs:losses` writes it between the markers of docs/losses.md; a test checks the file is current.
 */
export function lossGuideTable(): string {
  const rows = lossGuideRows();
  const entries = lossGuideEntries();
  const formatTable = (section: DataFormat["section"]) =>
    markdownTable(
      ["Inputs", "Labels", "Losses (the common choice in bold)"],
      rows.filter((row) => row.format.section === section).map(formatRowCells),
    );
  const modifiers = markdownTable(
    ["Modifier", "What it does", "Paper"],
    entries
      .filter((entry) => entry.category === "modifier")
      .map((entry) => [`[${entry.name}](${anchor(entry.name)})`, entry.description, paperLink(entry.paper)]),
  );
  const conversions = markdownTable(
    ["From", "To", "Call", "Opens"],
    CONVERSIONS.map((c) => {
      const from = dataFormat(c.from);
      const to = dataFormat(c.to);
      return [
        `${from.inputs}, ${from.labels === "none" ? "no labels" : from.labels}`,
        `${to.inputs}${to.labels === "none" ? "" : `, ${to.labels}`}`,
        `\`${c.call}\`: ${c.what}`,
        lossesForFormat(c.to)
          .map((entry) => entry.name)
          .join(", "),
      ];
    }),
  );
  const every = markdownTable(
    ["Loss", "Input columns", "Labels", "Category", "Paper"],
    entries.map((entry) => [
      `[${entry.name}](${anchor(entry.name)})`,
      describeColumns(entry.inputColumns),
      labelWords(entry.labelKind),
      entry.category === "table" ? "main" : entry.category,
      paperLink(entry.paper),
    ]),
  );
  return [
    "### Losses by data format",
    "",
    formatTable("table"),
    "",
    "### Distillation",
    "",
    formatTable("distillation"),
    "",
    "### Loss modifiers",
    "",
    "A modifier wraps one of the losses above (`new MatryoshkaLoss(model, innerLoss, options)`) and takes the data of that loss.",
    "",
    modifiers,
    "",
    "### Converting formats",
    "",
    conversions,
    "",
    "### Every loss",
    "",
    every,
  ].join("\n");
}

/**
 * The per-loss reference of docs/losses.md: for each loss, what it does, its columns, labels, data
 * formats, paper, and `examples[name]` (TypeScript, from test/loss-guide-examples.ts).
 */
export function lossReferenceSections(examples: Readonly<Record<string, string>>): string {
  const sections: string[] = [];
  for (const category of ["table", "distillation", "modifier"] as const) {
    sections.push(
      `### ${category === "table" ? "Losses" : category === "distillation" ? "Distillation losses" : "Modifiers"}`,
    );
    for (const entry of lossGuideEntries().filter((e) => e.category === category)) {
      const example = examples[entry.name];
      if (example === undefined) throw new Error(`lossReferenceSections: no example for ${entry.name}`);
      const formats = entry.dataFormats.map((id) => {
        const format = dataFormat(id);
        const common = entry.commonChoiceFor.includes(id) ? " (common choice)" : "";
        return `${format.inputs}, ${format.labels === "none" ? "no labels" : `labels: ${format.labels}`}${common}`;
      });
      sections.push(
        "",
        `#### ${entry.name}`,
        "",
        entry.description,
        "",
        `- Input columns: ${describeColumns(entry.inputColumns)}`,
        `- Labels: ${labelWords(entry.labelKind)}`,
        ...(formats.length > 0 ? [`- Data: ${formats.join("; ")}`] : []),
        `- Paper: ${entry.paper === null ? "none of its own" : paperLink(entry.paper)}`,
        "",
        "```ts",
        example.trimEnd(),
        "```",
      );
    }
    sections.push("");
  }
  return sections.join("\n").trimEnd();
}

/**
 * The examples of test/loss-guide-examples.ts: the text between `// #region Name` and `// #endregion`,
 * dedented, by name.
 */
export function extractExampleRegions(source: string): Record<string, string> {
  const out: Record<string, string> = {};
  const pattern = /^([ \t]*)\/\/ #region (\w+)\n([\s\S]*?)^[ \t]*\/\/ #endregion/gm;
  for (const match of source.matchAll(pattern)) {
    const lines = match[3]!.replace(/\n$/, "").split("\n");
    const indent = Math.min(...lines.filter((l) => l.trim() !== "").map((l) => l.length - l.trimStart().length));
    out[match[2]!] = lines.map((l) => l.slice(indent)).join("\n");
  }
  return out;
}

/** The markers of the generated parts of docs/losses.md. */
export const LOSS_DOC_MARKERS = {
  tables: ["<!-- generated:loss-tables:start (npm run docs:losses) -->", "<!-- generated:loss-tables:end -->"],
  reference: ["<!-- generated:loss-reference:start (npm run docs:losses) -->", "<!-- generated:loss-reference:end -->"],
} as const;

/**
 * docs/losses.md with its generated parts replaced by what the code produces now (`text` is the current
 * file). Throws when a marker is missing.
 */
export function renderLossDocs(text: string, examples: Readonly<Record<string, string>>): string {
  const replace = (doc: string, [start, end]: readonly [string, string], body: string) => {
    const from = doc.indexOf(start);
    const to = doc.indexOf(end);
    if (from < 0 || to < from) throw new Error(`docs/losses.md: missing the markers ${start} ... ${end}`);
    return `${doc.slice(0, from + start.length)}\n\n${body}\n\n${doc.slice(to)}`;
  };
  const withTables = replace(text, LOSS_DOC_MARKERS.tables, lossGuideTable());
  return replace(withTables, LOSS_DOC_MARKERS.reference, lossReferenceSections(examples));
}
