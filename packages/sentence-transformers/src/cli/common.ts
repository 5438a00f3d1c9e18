// What the CLI commands share: where they write (CliIo), option parsers, and model loading.
import * as fs from "node:fs";
import { InvalidArgumentError } from "commander";
import { SentenceTransformer } from "../sentence-transformer.js";

/** Where the CLI writes and reads: the process's streams, or a test's buffers. */
export interface CliIo {
  /** Receives what the command prints (results, help). */
  stdout(text: string): void;
  /** Receives progress notes and errors. */
  stderr(text: string): void;
  /** Reads standard input to the end (`stts encode` without --input). */
  readStdin(): Promise<string>;
}

/** The process's streams. */
export function processIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
      return Buffer.concat(chunks).toString("utf8");
    },
  };
}

/** Commander argument parser for positive integers ("--batch-size 32"). */
export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return parsed;
}

/** Commander collector for repeatable options ("--sts a.csv --sts b.csv"). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * Loads a model folder or Hub id for a command, notes to stderr; a name that is neither an existing
 * folder nor downloadable gets an error saying both.
 */
export async function loadModel(name: string, io: CliIo): Promise<SentenceTransformer> {
  if (fs.existsSync(name)) return SentenceTransformer.loadFolder(name, { log: (message) => io.stderr(`${message}\n`) });
  try {
    return await SentenceTransformer.load(name, { log: (message) => io.stderr(`${message}\n`) });
  } catch (error) {
    throw new Error(
      `'${name}' is not a local folder, and loading it from the Hugging Face Hub failed: ${(error as Error).message}`,
    );
  }
}
