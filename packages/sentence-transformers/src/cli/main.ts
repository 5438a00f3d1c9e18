// The `stts` command line: train from a config file, encode texts, evaluate and inspect models, choose a loss.
// `main(argv, io)` runs it in-process (tests pass their own writers); bin/stts.mjs calls it.
import { Command, CommanderError } from "commander";
import { sttsVersion } from "../model-card/generate.js";
import { processIo, type CliIo } from "./common.js";
import { registerEncodeCommand } from "./encode.js";
import { registerEvalCommand } from "./eval.js";
import { registerInfoCommand } from "./info.js";
import { registerLossesCommand } from "./losses.js";
import { registerTrainCommand } from "./train.js";

export { processIo, type CliIo } from "./common.js";

/** The `stts` program with its commands, writing to `io`; commander's exits become thrown CommanderErrors. */
export function createProgram(io: CliIo): Command {
  const program = new Command("stts")
    .description(
      "sentence-transformers for TypeScript: train, encode, evaluate and inspect sentence embedding models, and choose a loss",
    )
    .version(sttsVersion(), "-V, --version", "print the stts version")
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout(text), writeErr: (text) => io.stderr(text) })
    .showHelpAfterError("(run with --help for usage)");
  registerTrainCommand(program, io);
  registerEncodeCommand(program, io);
  registerEvalCommand(program, io);
  registerInfoCommand(program, io);
  registerLossesCommand(program, io);
  return program;
}

/**
 * Runs the CLI on `argv` (the arguments after the program name) and resolves to the exit code: 0 on
 * success (and for --help / --version), 1 for errors, which are written to `io.stderr` as "error: ...".
 *
 * @example
 * const code = await main(["info", "models/my-model"]); // prints the module stack, dimensions, ...
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    io.stderr(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
