// Hugging Face Hub datasets: find a split's data file in the Hub cache (downloading it when allowed)
// and load it as a Dataset.
import * as fs from "node:fs";
import * as path from "node:path";
import { hubCacheDir, isHubId, isHubOffline } from "./download.js";
import type { Dataset } from "../training/dataset.js";
import { loadDatasetFile } from "../training/load-dataset-file.js";

const DATA_FILE = /\.(jsonl|csv|tsv|parquet)$/i;

function listFiles(folder: string, prefix = ""): string[] {
  if (!fs.existsSync(folder)) return [];
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const relative = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) return listFiles(path.join(folder, entry.name), relative);
    return [relative];
  });
}

/** The data file of a split: a file named after it ("train.jsonl", "data/train-0000.csv", "train/x.jsonl"). */
function pickSplitFile(files: readonly string[], split: string | undefined, id: string): string {
  const readable = files.filter((file) => DATA_FILE.test(file)).sort();
  if (readable.length === 0) {
    throw new Error(
      `Hub dataset '${id}' has no .jsonl, .csv, .tsv or .parquet file (files: ${files.slice(0, 5).join(", ") || "none"})`,
    );
  }
  const wanted = split ?? "train";
  const matches = readable.filter((file) =>
    file.split("/").some((part) => part === wanted || part.startsWith(`${wanted}.`) || part.startsWith(`${wanted}-`)),
  );
  if (matches.length > 0) return matches[0]!;
  if (split !== undefined) {
    throw new Error(`Hub dataset '${id}' has no file for split '${split}' (files: ${readable.join(", ")})`);
  }
  return readable[0]!;
}

/**
 * The local path of a Hugging Face Hub dataset's data file (.jsonl, .csv, .tsv or .parquet) for `split`: from the
 * cache (<HF cache>/datasets--org--name/snapshots/<commit>/...), else downloaded into it unless
 * HF_HUB_OFFLINE is set.
 */
export async function hubDatasetFile(
  id: string,
  options: { split?: string; revision?: string } = {},
  log: (line: string) => void = () => {},
): Promise<string> {
  if (!isHubId(id)) throw new Error(`'${id}' is not a Hugging Face Hub dataset id ("org/name")`);
  const revision = options.revision ?? "main";
  const repoFolder = path.join(hubCacheDir(), `datasets--${id.replace(/\//g, "--")}`);
  const refFile = path.join(repoFolder, "refs", revision);
  const commit = fs.existsSync(refFile) ? fs.readFileSync(refFile, "utf8").trim() : revision;
  const cached = path.join(repoFolder, "snapshots", commit);
  if (fs.existsSync(cached)) {
    const file = pickSplitFile(listFiles(cached), options.split, id);
    log(`reading ${file} of ${id} from the Hugging Face cache`);
    return path.join(cached, file);
  }
  if (isHubOffline()) {
    throw new Error(
      `Hub dataset '${id}' (revision ${revision}) is not in the Hugging Face cache at ${repoFolder}, and HF_HUB_OFFLINE is set`,
    );
  }
  const endpoint = (process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/$/, "");
  const token = process.env.HF_TOKEN;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const infoUrl = `${endpoint}/api/datasets/${id}/revision/${encodeURIComponent(revision)}`;
  const response = await fetch(infoUrl, { headers });
  if (!response.ok)
    throw new Error(`Hub dataset '${id}': ${infoUrl} answered ${response.status} ${response.statusText}`);
  const info = (await response.json()) as { sha?: unknown; siblings?: { rfilename?: unknown }[] };
  if (typeof info.sha !== "string" || !Array.isArray(info.siblings)) {
    throw new Error(`Hub dataset '${id}': ${infoUrl} did not return a commit hash and a file list`);
  }
  const files = info.siblings.map((s) => s.rfilename).filter((name): name is string => typeof name === "string");
  const file = pickSplitFile(files, options.split, id);
  const snapshot = path.join(repoFolder, "snapshots", info.sha);
  const target = path.join(snapshot, file);
  if (!path.resolve(target).startsWith(path.resolve(snapshot) + path.sep)) {
    throw new Error(`Hub dataset '${id}': refusing the file name '${file}' (it leaves the snapshot folder)`);
  }
  if (!fs.existsSync(target)) {
    const url = `${endpoint}/datasets/${id}/resolve/${info.sha}/${file.split("/").map(encodeURIComponent).join("/")}`;
    log(`downloading ${url}`);
    const fileResponse = await fetch(url, { headers });
    if (!fileResponse.ok)
      throw new Error(`Hub dataset '${id}': ${url} answered ${fileResponse.status} ${fileResponse.statusText}`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const temp = `${target}.${process.pid}.incomplete`;
    fs.writeFileSync(temp, new Uint8Array(await fileResponse.arrayBuffer()));
    fs.renameSync(temp, target);
  }
  fs.mkdirSync(path.dirname(path.join(repoFolder, "refs", revision)), { recursive: true });
  if (revision !== info.sha) fs.writeFileSync(path.join(repoFolder, "refs", revision), info.sha);
  return target;
}

/**
 * Loads a split of a Hugging Face Hub dataset by id (its .parquet, .jsonl, .csv or .tsv file; CSV/TSV
 * with a header line), from the Hub cache or downloaded into it (HF_HUB_OFFLINE=1: cache only).
 *
 * @example
 * const train = await loadHubDataset("sentence-transformers/all-nli", { split: "train" });
 *
 * @param id "org/name"
 * @param options split (default "train"), revision (default "main"), name (default the id), log
 */
export async function loadHubDataset(
  id: string,
  options: { split?: string; revision?: string; name?: string; log?: (line: string) => void } = {},
): Promise<Dataset> {
  const file = await hubDatasetFile(id, options, options.log);
  const delimiter = file.toLowerCase().endsWith(".csv") ? "," : "\t"; // for .csv/.tsv files
  return loadDatasetFile(file, { name: options.name ?? id, delimiter });
}
