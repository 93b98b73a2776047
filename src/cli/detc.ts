#!/usr/bin/env node
/**
 * The `detc` executable. A command that runs the native engine first restarts itself, once and
 * before anything loads or prints, with glibc's malloc on huge pages (src/engine/huge-pages.ts):
 * glibc reads its settings only as a process starts, and TensorFlow's convolutions run up to a
 * third faster with them. Then the CLI proper (main.ts).
 */
import { restartWithHugePages } from "../engine/huge-pages.js";
import { ENGINE_COMMANDS } from "./engine.js";

// detc's global options are flags, so the command is the first argument that is not an option.
const command = process.argv.slice(2).find((arg) => !arg.startsWith("-"));
if (command && ENGINE_COMMANDS.has(command)) {
  const failure = restartWithHugePages();
  if (failure) process.stderr.write(`detc: ${failure}; continuing on 4 KiB pages\n`);
}
await import("./main.js");
