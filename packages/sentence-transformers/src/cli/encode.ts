// `stts encode <model>`: one sentence per input line in, one embedding per line out (JSON Lines),
// or a whole matrix in a .safetensors or .npy file.
import * as fs from "node:fs";
import * as path from "node:path";
import * as torch from "@stts/torch";
import type { Command } from "commander";
import { loadModel, positiveInteger, type CliIo } from "./common.js";

interface EncodeCommandOptions {
  input?: string;
  output?: string;
  batchSize: number;
  normalize?: boolean;
  promptName?: string;
}

/** The lines of `text` (a final newline ends the last line; it does not start an empty one). */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/**
 * A NumPy .npy file (format 1.0) holding `rows` as a little-endian float32 matrix [rows, dim]
 * (what numpy.save writes; numpy.load reads it).
 */
export function npyBytes(rows: readonly Float32Array[], dim: number): Uint8Array {
  const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows.length}, ${dim}), }`;
  // magic (6) + version (2) + header length (2) + header + padding + "\n" is a multiple of 64.
  const unpadded = 10 + header.length + 1;
  const padded = header + " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + padded.length + rows.length * dim * 4);
  out.set([0x93, ...Buffer.from("NUMPY", "latin1"), 1, 0]);
  new DataView(out.buffer).setUint16(8, padded.length, true);
  out.set(Buffer.from(padded, "latin1"), 10);
  const data = new DataView(out.buffer, 10 + padded.length);
  rows.forEach((row, i) => row.forEach((value, j) => data.setFloat32((i * dim + j) * 4, value, true)));
  return out;
}

/** Adds `encode` to the program. */
export function registerEncodeCommand(program: Command, io: CliIo): void {
  program
    .command("encode")
    .description(
      "embed sentences (one per line) and write one JSON array per line, or a .safetensors (tensor 'embeddings') or .npy matrix",
    )
    .argument("<model>", "a model folder or Hugging Face Hub id")
    .option("-i, --input <file>", "read sentences from this file, one per line (default: standard input)")
    .option(
      "-o, --output <file>",
      "write to this file: .safetensors or .npy for a [sentences, dim] float32 matrix, anything else JSON Lines (default: standard output)",
    )
    .option("-b, --batch-size <n>", "sentences per forward pass", positiveInteger, 32)
    .option("--normalize", "L2-normalize the embeddings")
    .option("--prompt-name <name>", "prepend this prompt of the model (e.g. query) to every sentence")
    .action(async (name: string, options: EncodeCommandOptions) => {
      const text = options.input === undefined ? await io.readStdin() : fs.readFileSync(options.input, "utf8");
      const sentences = splitLines(text);
      const model = await loadModel(name, io);
      try {
        const encodeOptions = {
          batchSize: options.batchSize,
          normalizeEmbeddings: options.normalize === true,
          ...(options.promptName === undefined ? {} : { promptName: options.promptName }),
        };
        const output = options.output;
        const extension = output === undefined ? "" : path.extname(output).toLowerCase();
        if (output !== undefined) fs.mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
        const dim = model.getSentenceEmbeddingDimension() ?? 0;
        if (extension === ".safetensors") {
          const embeddings = model.encode(sentences, { ...encodeOptions, convertTo: "tensor" }) as torch.Tensor;
          try {
            torch.saveSafetensorsSync(output!, { embeddings });
          } finally {
            embeddings.dispose();
          }
        } else {
          const rows = model.encode(sentences, encodeOptions);
          if (extension === ".npy") {
            fs.writeFileSync(output!, npyBytes(rows, rows[0]?.length ?? dim));
          } else {
            const lines = rows.map((row) => `${JSON.stringify(Array.from(row))}\n`).join("");
            if (output === undefined) io.stdout(lines);
            else fs.writeFileSync(output, lines);
          }
        }
        if (output !== undefined) io.stderr(`Encoded ${sentences.length} sentences (dimension ${dim}) to ${output}\n`);
      } finally {
        model.dispose();
      }
    });
}
