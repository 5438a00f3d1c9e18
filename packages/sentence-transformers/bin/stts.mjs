#!/usr/bin/env node
// The `stts` executable: runs the compiled CLI (build first: npm run build).
import { main } from "../dist/src/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
