// Training progress: a bar on a terminal (step/total, loss, it/s on stderr), one plain line per log entry elsewhere.
import type { LogEntry } from "./trainer-state.js";

/** Options of TrainingProgress. */
export interface TrainingProgressOptions {
  /** The run's total optimizer steps. */
  total: number;
  /** The step the run starts from (a resumed run). Default 0. */
  start?: number;
  /** Where plain lines go. Default: stderr. */
  log?: (line: string) => void;
  /** Draw a bar on this stream (a TTY). Default: none. */
  bar?: NodeJS.WriteStream | null;
}

/**
 * Reports training progress. With `bar` (a terminal stream), a single line redrawn at most ten times a
 * second: `  37%|███████▍            | 37/100 [00:12<00:20, 3.02 it/s, loss=0.1234]`, with log entries
 * printed above it; without, one plain line per log entry through `log`.
 *
 * @example
 * const progress = new TrainingProgress({ total: 100 });
 * progress.update(1, 0.5); progress.entry({ loss: 0.5, step: 1, epoch: 0.01 }); progress.close();
 */
export class TrainingProgress {
  readonly total: number;
  readonly #start: number;
  readonly #log: (line: string) => void;
  readonly #bar: NodeJS.WriteStream | null;
  readonly #startTime = performance.now();
  #step: number;
  #loss: number | null = null;
  #lastDraw = 0;

  constructor(options: TrainingProgressOptions) {
    this.total = options.total;
    this.#start = options.start ?? 0;
    this.#step = this.#start;
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.#bar = options.bar ?? null;
  }

  /** Steps per second since this run started. */
  get rate(): number {
    const seconds = (performance.now() - this.#startTime) / 1000;
    return seconds > 0 ? (this.#step - this.#start) / seconds : 0;
  }

  /** Records the step just done (and its loss); redraws the bar. */
  update(step: number, loss: number | null): void {
    this.#step = step;
    if (loss !== null) this.#loss = loss;
    const now = performance.now();
    if (this.#bar !== null && (now - this.#lastDraw > 100 || step === this.total)) {
      this.#lastDraw = now;
      this.#draw();
    }
  }

  /** Reports a log entry: a plain line (printed above the bar on a terminal). */
  entry(logs: LogEntry): void {
    this.message(formatLogEntry(logs, this.total));
  }

  /** Prints a line (above the bar on a terminal). */
  message(line: string): void {
    if (this.#bar === null) {
      this.#log(line);
      return;
    }
    this.#bar.write(`\r\x1b[2K${line}\n`);
    this.#draw();
  }

  /** Ends the bar's line. */
  close(): void {
    if (this.#bar !== null) {
      this.#draw();
      this.#bar.write("\n");
    }
  }

  #draw(): void {
    const bar = this.#bar;
    if (bar === null) return;
    const fraction = this.total > 0 ? Math.min(1, this.#step / this.total) : 1;
    const width = 24;
    const cells = fraction * width;
    const full = Math.floor(cells);
    const partial = full < width ? (" ▏▎▍▌▋▊▉"[Math.floor((cells - full) * 8)] ?? " ") : "";
    const filled = `${"█".repeat(full)}${partial}`.padEnd(width, " ");
    const rate = this.rate;
    const remaining = rate > 0 ? (this.total - this.#step) / rate : 0;
    const elapsed = (performance.now() - this.#startTime) / 1000;
    const loss = this.#loss === null ? "" : `, loss=${formatNumber(this.#loss)}`;
    bar.write(
      `\r\x1b[2K${String(Math.floor(fraction * 100)).padStart(4)}%|${filled}| ${this.#step}/${this.total} ` +
        `[${clock(elapsed)}<${clock(remaining)}, ${rate.toFixed(2)} it/s${loss}]`,
    );
  }
}

/** "step 20/100 (epoch 0.40): loss 0.2345, grad_norm 1.234, learning_rate 4e-05" */
export function formatLogEntry(logs: LogEntry, total: number): string {
  const fields = Object.entries(logs)
    .filter(([key]) => key !== "step" && key !== "epoch")
    .map(([key, value]) => `${key} ${formatNumber(value)}`);
  const epoch = logs.epoch === undefined ? "" : ` (epoch ${logs.epoch.toFixed(2)})`;
  return `step ${logs.step ?? "?"}/${total}${epoch}: ${fields.join(", ")}`;
}

function formatNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const magnitude = Math.abs(value);
  return magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e5) ? value.toExponential(3) : value.toPrecision(4);
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const pad = (n: number) => String(n).padStart(2, "0");
  return s >= 3600
    ? `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`
    : `${pad(Math.floor(s / 60))}:${pad(s % 60)}`;
}
