/**
 * CLI tests run the real `detc` bundle, built once per test run into a private folder so that
 * concurrent runs never read a half-written `dist/detc.js`.
 */
import { execSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    cli: string;
  }
}

export default function buildCli(project: TestProject): void {
  const cli = join(mkdtempSync(join(tmpdir(), "detc-cli-")), "detc.js");
  execSync(`npm run --silent build -- --outfile=${cli}`, { stdio: "inherit", cwd: new URL("../..", import.meta.url) });
  project.provide("cli", cli);
}
