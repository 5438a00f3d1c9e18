#!/usr/bin/env node
// Side by side: stts (this checkout's libtorch), stts built against another libtorch (a copy of the repository,
// --torch2-repo), and Python sentence-transformers (bench/python/bench_st.py), run back to back for each
// (measurement, threads), --repeats times, with the load average recorded before each run. Ends with a
// Markdown table of the medians over the repeats.
//
//   node bench/compare.mjs [--what train_mnrl,train_cosent,encode] [--threads 1,2] [--repeats 2] [--steps 10]
//                          [--torch2-repo /tmp/stts-torch2] [--python /tmp/stvenv/bin/python] [--attn default,eager]
//                          [--json-out FILE] [--quick] [--data-dir DIR] [--no-python]
//                          [--variants "padded=--unpad-inputs off;unpadded=--unpad-inputs on"]
//                          [--py-variants "=;fused AdamW=--fused"]
//
// --variants: several stts runs per libtorch, each "label=extra run.mjs flags" (';'-separated), run back to back
// in that order, so their ratio comes from one run at one load; default one plain run labelled "stts".
// --py-variants: the same for each Python --attn run (the label is appended to the attention's; default one plain run).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { benchDir, dataDir, emit, median, parseArgs, round } from "./common.mjs";

const { flags, options } = parseArgs(process.argv.slice(2), ["quick", "no-python"]);
const whats = (options.what ?? "train_mnrl,train_cosent,encode").split(",");
const threadList = (options.threads ?? "1,2").split(",");
const repeats = Number(options.repeats ?? 2);
const steps = options.steps ?? "10";
const python = flags.has("no-python")
  ? undefined
  : (options.python ?? ["/tmp/stvenv/bin/python", "/tmp/stvenv-bench/bin/python"].find(existsSync));
/** "label=flags;label=flags" -> [{label, flags}] */
const parseVariants = (specs) =>
  specs.split(";").map((spec) => {
    const [label, extra = ""] = spec.split("=");
    return { label: label.trim(), flags: extra.split(" ").filter((f) => f !== "") };
  });
const variants = parseVariants(options.variants ?? "stts=");
const pyVariants = parseVariants(options["py-variants"] ?? "=");
const attns = (options.attn ?? "default,eager").split(",");
const jsonOut = options["json-out"];
const env = { ...process.env, STTS_DATA_DIR: dataDir(options) };
const quick = flags.has("quick") ? ["--quick"] : [];

/** The implementations compared: a label and the command that prints one JSON line. */
function implementations(what, threads) {
  const common = ["--what", what, "--threads", threads, "--steps", steps, ...quick];
  const runs = variants.map((v) => ({
    label: v.label,
    cmd: [process.execPath, resolve(benchDir, "run.mjs"), ...common, ...v.flags],
  }));
  if (options["torch2-repo"] !== undefined) {
    const repo = resolve(options["torch2-repo"]);
    for (const v of variants) {
      runs.push({
        label: `${v.label}@torch2`,
        cmd: [process.execPath, resolve(benchDir, "run.mjs"), ...common, ...v.flags, "--repo", repo],
      });
    }
  }
  if (python !== undefined) {
    for (const attn of attns) {
      for (const v of pyVariants) {
        const label = `sentence-transformers (${attn} attention${v.label === "" ? "" : `, ${v.label}`})`;
        const cmd = [python, resolve(benchDir, "python/bench_st.py"), ...common, "--attn", attn, ...v.flags];
        runs.push({ label, cmd });
      }
    }
    // stts sets OMP_WAIT_POLICY=passive by default; Python leaves libgomp's spinning default. With more than one
    // thread, also run Python with passive waiting, so the kernels' threading is the same.
    if (Number(threads) > 1 && process.env.OMP_WAIT_POLICY === undefined) {
      const label = `sentence-transformers (${attns[0]} attention, OMP_WAIT_POLICY=passive)`;
      const cmd = [python, resolve(benchDir, "python/bench_st.py"), ...common, "--attn", attns[0]];
      runs.push({ label, cmd, env: { OMP_WAIT_POLICY: "passive" } });
    }
  }
  return runs;
}

const load1 = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
const results = [];
for (let repeat = 0; repeat < repeats; repeat++) {
  for (const what of whats) {
    for (const threads of threadList) {
      for (const { label, cmd, env: extraEnv } of implementations(what, threads)) {
        const loadBefore = load1();
        const r = spawnSync(cmd[0], cmd.slice(1), {
          env: { ...env, ...extraEnv },
          encoding: "utf8",
          maxBuffer: 64 * 2 ** 20,
        });
        const lines = r.stdout.split("\n").filter((l) => l.startsWith("{"));
        const record = lines.map((l) => JSON.parse(l)).find((x) => x.what === what);
        if (r.status !== 0 || record === undefined || record.error !== undefined) {
          const error = { status: r.status, signal: r.signal, stderr: errorLines(r.stderr) };
          emit({ what, threads: Number(threads), label, repeat, error }, jsonOut);
          continue;
        }
        const full = { ...record, label, repeat, load1_before: loadBefore, load1_after: load1() };
        results.push(full);
        emit(full, jsonOut);
      }
    }
  }
}

// Markdown summary: medians over the repeats.
const rows = new Map();
for (const r of results) {
  const key = `${r.what}|${r.threads}|${r.label}`;
  if (!rows.has(key)) rows.set(key, []);
  rows.get(key).push(r);
}
console.log(
  "\n| what | threads | implementation | libtorch | median_s | per_s | tokens_per_s | peak_rss_mb | runs | load1 (min-max) |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const group of rows.values()) {
  const r0 = group[0];
  const m = (key) => median(group.map((r) => r[key]));
  const loads = group.flatMap((r) => [r.load1_before, r.load1_after]);
  console.log(
    `| ${r0.what} | ${r0.threads} | ${r0.label} | ${r0.libtorch} | ${round(m("median_s"), 3)} | ${round(m("per_s"), 1)} | ` +
      `${Math.round(m("tokens_per_s"))} | ${Math.round(m("peak_rss_mb"))} | ${group.length} | ` +
      `${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)} |`,
  );
}

/** The error message lines of a child's stderr (the stack's first lines otherwise). */
function errorLines(stderr) {
  const lines = stderr.trim().split("\n");
  const errors = lines.filter((line) => /Error\b/.test(line));
  return errors.length > 0 ? errors.slice(0, 3) : lines.slice(-3);
}
