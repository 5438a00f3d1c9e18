// Downloading a model repository from the Hugging Face Hub into the shared cache, in huggingface_hub's layout:
//   <cache>/models--<org>--<name>/refs/<revision>        the commit hash the revision pointed to
//   <cache>/models--<org>--<name>/snapshots/<commit>/...  the files of that commit
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Options of `snapshotDownload`. */
export interface HubDownloadOptions {
  /** A branch, tag or commit hash (default "main"). */
  revision?: string;
  /** The cache folder (default HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub). */
  cacheFolder?: string;
  /** A Hub access token (default HF_TOKEN). */
  token?: string;
  /** Use only the cache, never the network (default: true when HF_HUB_OFFLINE is set to 1/true/yes/on). */
  localFilesOnly?: boolean;
  /** The Hub's address (default HF_ENDPOINT, else https://huggingface.co). */
  endpoint?: string;
  /** Also fetch files whose names match (by default only what loading needs: JSON, text, safetensors, tokenizer models). */
  allowFile?: (name: string) => boolean;
}

/** Files a SentenceTransformer folder may need; other weight formats (ONNX, OpenVINO, pickles) are skipped. */
const NEEDED_FILE = /(\.json|\.txt|\.safetensors|\.model|README\.md)$/;
const SKIPPED_FOLDER = /^(onnx|openvino)\//;

/** The cache folder: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
export function hubCacheDir(): string {
  if (process.env.HF_HUB_CACHE) return process.env.HF_HUB_CACHE;
  const home =
    process.env.HF_HOME ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "huggingface");
  return path.join(home, "hub");
}

/** Whether HF_HUB_OFFLINE asks for cache-only loading. */
export function isHubOffline(): boolean {
  return ["1", "true", "yes", "on"].includes((process.env.HF_HUB_OFFLINE ?? "").toLowerCase());
}

/** Whether `name` looks like a Hub repository id ("org/name" or "name"). */
export function isHubId(name: string): boolean {
  return /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/.test(name) && !name.includes("..");
}

/** The cache folder of one repository: models--org--name. */
export function repoCacheFolder(repoId: string, cacheFolder = hubCacheDir()): string {
  return path.join(cacheFolder, `models--${repoId.replace(/\//g, "--")}`);
}

/**
 * The snapshot folder of `repoId` at `revision` if the cache holds it, else null: refs/<revision>
 * names the commit, or `revision` is itself a commit hash with a snapshot.
 */
export function cachedSnapshot(
  repoId: string,
  options: { revision?: string; cacheFolder?: string } = {},
): string | null {
  const revision = options.revision ?? "main";
  const repoFolder = repoCacheFolder(repoId, options.cacheFolder);
  const refFile = path.join(repoFolder, "refs", revision);
  const commit = fs.existsSync(refFile) ? fs.readFileSync(refFile, "utf8").trim() : revision;
  const snapshot = path.join(repoFolder, "snapshots", commit);
  return fs.existsSync(snapshot) ? snapshot : null;
}

/**
 * Makes the files of a Hub model repository available locally and returns their folder, like
 * huggingface_hub's `snapshot_download`: offline (HF_HUB_OFFLINE=1 or `localFilesOnly`) it only looks in
 * the cache and throws when the model is not there; online it asks the Hub API which commit the revision
 * is and which files it has, downloads the missing ones (each to a temporary file renamed into place),
 * and records the commit in refs/<revision>.
 *
 * @example
 * const folder = await snapshotDownload("sentence-transformers/all-MiniLM-L6-v2");
 * // ~/.cache/huggingface/hub/models--sentence-transformers--all-MiniLM-L6-v2/snapshots/<commit>
 *
 * @param repoId "org/name"
 * @param options revision ("main"), cacheFolder, token, localFilesOnly, endpoint, allowFile
 */
export async function snapshotDownload(repoId: string, options: HubDownloadOptions = {}): Promise<string> {
  if (!isHubId(repoId)) {
    throw new Error(
      `snapshotDownload: '${repoId}' is neither an existing folder nor a Hugging Face Hub id ("org/name")`,
    );
  }
  const revision = options.revision ?? "main";
  const cacheFolder = options.cacheFolder ?? hubCacheDir();
  const offline = options.localFilesOnly ?? isHubOffline();
  if (offline) {
    const snapshot = cachedSnapshot(repoId, { revision, cacheFolder });
    if (snapshot === null) {
      throw new Error(
        `'${repoId}' (revision ${revision}) is not in the Hugging Face cache at ${repoCacheFolder(repoId, cacheFolder)}, ` +
          `and ${options.localFilesOnly === true ? "localFilesOnly is set" : "HF_HUB_OFFLINE is set"}, so nothing is downloaded. ` +
          `Load it once with network access, or pass a local folder.`,
      );
    }
    return snapshot;
  }
  const endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/$/, "");
  const token = options.token ?? process.env.HF_TOKEN;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const infoUrl = `${endpoint}/api/models/${repoId}/revision/${encodeURIComponent(revision)}`;
  const response = await fetch(infoUrl, { headers });
  if (!response.ok) {
    const hint =
      response.status === 401 || response.status === 404
        ? " (a private or gated repository needs a token: HF_TOKEN)"
        : "";
    throw new Error(`snapshotDownload: ${infoUrl} answered ${response.status} ${response.statusText}${hint}`);
  }
  const info = (await response.json()) as { sha?: unknown; siblings?: { rfilename?: unknown }[] };
  if (typeof info.sha !== "string" || !Array.isArray(info.siblings)) {
    throw new Error(`snapshotDownload: ${infoUrl} did not return a commit hash and a file list`);
  }
  const commit = info.sha;
  const wanted = (name: string) =>
    (NEEDED_FILE.test(name) && !SKIPPED_FOLDER.test(name)) || options.allowFile?.(name) === true;
  const files = info.siblings
    .map((sibling) => sibling.rfilename)
    .filter((name): name is string => typeof name === "string" && wanted(name));
  const repoFolder = repoCacheFolder(repoId, cacheFolder);
  const snapshot = path.join(repoFolder, "snapshots", commit);
  for (const name of files) {
    const target = path.join(snapshot, name);
    if (!path.resolve(target).startsWith(path.resolve(snapshot) + path.sep)) {
      throw new Error(
        `snapshotDownload: refusing the file name '${name}' of ${repoId} (it leaves the snapshot folder)`,
      );
    }
    if (fs.existsSync(target)) continue;
    const url = `${endpoint}/${repoId}/resolve/${commit}/${name.split("/").map(encodeURIComponent).join("/")}`;
    const fileResponse = await fetch(url, { headers });
    if (!fileResponse.ok)
      throw new Error(`snapshotDownload: ${url} answered ${fileResponse.status} ${fileResponse.statusText}`);
    const bytes = new Uint8Array(await fileResponse.arrayBuffer());
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const temp = `${target}.${process.pid}.incomplete`;
    fs.writeFileSync(temp, bytes);
    fs.renameSync(temp, target);
  }
  fs.mkdirSync(path.join(repoFolder, "refs", path.dirname(revision)), { recursive: true });
  if (revision !== commit) fs.writeFileSync(path.join(repoFolder, "refs", revision), commit);
  fs.mkdirSync(snapshot, { recursive: true });
  return snapshot;
}
