// The training log on disk: trainer_log.jsonl (one JSON object per log or eval entry) and
// training_curves.svg (the training loss and every eval metric over steps), drawn by hand.
import * as fs from "node:fs";
import * as path from "node:path";
import type { LogEntry } from "./trainer-state.js";

export const TRAINING_LOG_FILE = "trainer_log.jsonl";
export const TRAINING_CURVES_FILE = "training_curves.svg";

/** Rewrites the JSONL log with `entries` (a new run: none; a resumed run: the checkpoint's history). */
export function resetTrainingLog(file: string, entries: readonly LogEntry[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(""));
}

/** Appends one entry to the JSONL log. */
export function appendTrainingLog(file: string, entry: LogEntry): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, `${JSON.stringify(entry)}\n`);
}

/** Reads a JSONL log back. */
export function readTrainingLog(file: string): LogEntry[] {
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as LogEntry);
}

/** Keys of log entries that are not curves. */
const NOT_PLOTTED = new Set([
  "step",
  "epoch",
  "learning_rate",
  "grad_norm",
  "train_runtime",
  "train_samples_per_second",
  "train_steps_per_second",
  "train_loss",
  "eval_runtime",
]);

/** One panel of the plot: a title and its series ([step, value] points in log order). */
export interface CurvePanel {
  title: string;
  series: { name: string; points: [number, number][] }[];
}

/**
 * The panels of a log: "loss" (the training loss, with eval_loss when present), then one per other
 * key (loss components, eval metrics), in order of first appearance.
 */
export function curvePanels(logHistory: readonly LogEntry[]): CurvePanel[] {
  const points = new Map<string, [number, number][]>();
  for (const entry of logHistory) {
    const step = entry.step;
    if (step === undefined) continue;
    for (const [key, value] of Object.entries(entry)) {
      if (NOT_PLOTTED.has(key) || !Number.isFinite(value)) continue;
      const list = points.get(key) ?? [];
      list.push([step, value]);
      points.set(key, list);
    }
  }
  const panels: CurvePanel[] = [];
  const lossSeries = ["loss", "eval_loss"].filter((key) => points.has(key));
  if (lossSeries.length > 0) {
    panels.push({ title: "loss", series: lossSeries.map((name) => ({ name, points: points.get(name)! })) });
  }
  for (const [name, list] of points) {
    if (!lossSeries.includes(name)) panels.push({ title: name, series: [{ name, points: list }] });
  }
  return panels;
}

const PANEL_WIDTH = 460;
const PANEL_HEIGHT = 280;
const MARGIN = { left: 64, right: 16, top: 34, bottom: 42 };
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"];

/**
 * An SVG of the log's curves: one panel per series (see curvePanels), two panels a row, each with its
 * own axes, ticks and labels; series with few points are drawn with markers.
 */
export function renderTrainingCurves(logHistory: readonly LogEntry[]): string {
  const panels = curvePanels(logHistory);
  const columns = panels.length > 1 ? 2 : 1;
  const rows = Math.max(1, Math.ceil(panels.length / columns));
  const width = columns * PANEL_WIDTH;
  const height = rows * PANEL_HEIGHT;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  if (panels.length === 0) {
    parts.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle">no logged values yet</text>`);
  }
  panels.forEach((panel, i) => {
    const x = (i % columns) * PANEL_WIDTH;
    const y = Math.floor(i / columns) * PANEL_HEIGHT;
    parts.push(`<g transform="translate(${x},${y})">`, ...renderPanel(panel), "</g>");
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/** Writes renderTrainingCurves' SVG to `file`. */
export function writeTrainingCurves(file: string, logHistory: readonly LogEntry[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, renderTrainingCurves(logHistory));
}

function renderPanel(panel: CurvePanel): string[] {
  const all = panel.series.flatMap((s) => s.points);
  const xs = niceScale(Math.min(...all.map(([step]) => step)), Math.max(...all.map(([step]) => step)), true);
  const ys = niceScale(Math.min(...all.map(([, v]) => v)), Math.max(...all.map(([, v]) => v)), false);
  const plotWidth = PANEL_WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (step: number) => MARGIN.left + ((step - xs.min) / (xs.max - xs.min)) * plotWidth;
  const py = (value: number) => MARGIN.top + plotHeight - ((value - ys.min) / (ys.max - ys.min)) * plotHeight;
  const out: string[] = [
    `<text x="${PANEL_WIDTH / 2}" y="20" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(panel.title)}</text>`,
  ];
  for (const tick of ys.ticks) {
    const ty = py(tick).toFixed(1);
    out.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${ty}" y2="${ty}" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle">${formatTick(tick, ys.step)}</text>`,
    );
  }
  for (const tick of xs.ticks) {
    const tx = px(tick).toFixed(1);
    out.push(
      `<line x1="${tx}" x2="${tx}" y1="${MARGIN.top + plotHeight}" y2="${MARGIN.top + plotHeight + 4}" stroke="#333"/>`,
      `<text x="${tx}" y="${MARGIN.top + plotHeight + 16}" text-anchor="middle">${formatTick(tick, xs.step)}</text>`,
    );
  }
  out.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotWidth / 2}" y="${PANEL_HEIGHT - 8}" text-anchor="middle">step</text>`,
  );
  panel.series.forEach((series, k) => {
    const color = COLORS[k % COLORS.length]!;
    const coords = series.points.map(([step, value]) => `${px(step).toFixed(1)},${py(value).toFixed(1)}`);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${coords.join(" ")}"/>`);
    if (series.points.length <= 40) {
      for (const point of coords) {
        const [cx, cy] = point.split(",");
        out.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${color}"/>`);
      }
    }
    if (panel.series.length > 1) {
      const ly = MARGIN.top + 12 + k * 14;
      const lx = MARGIN.left + plotWidth - 110;
      out.push(
        `<line x1="${lx}" x2="${lx + 16}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
        `<text x="${lx + 20}" y="${ly}" dominant-baseline="middle">${escapeXml(series.name)}</text>`,
      );
    }
  });
  return out;
}

/** Axis bounds and ticks at 1, 2 or 5 times a power of ten. */
export function niceScale(
  low: number,
  high: number,
  integers: boolean,
): { min: number; max: number; step: number; ticks: number[] } {
  if (!(high > low)) {
    const pad = low === 0 ? 1 : Math.abs(low) * 0.1;
    [low, high] = [low - pad, high + pad];
  }
  const rough = (high - low) / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  let step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  if (integers) step = Math.max(1, Math.round(step));
  const min = Math.floor(low / step) * step;
  const max = Math.ceil(high / step) * step;
  const ticks: number[] = [];
  for (let t = min; t <= max + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { min, max: max > min ? max : min + step, step, ticks };
}

function formatTick(value: number, step: number): string {
  if (Math.abs(value) < step / 1e6) return "0";
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) return value.toExponential(1);
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return value.toFixed(decimals);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
