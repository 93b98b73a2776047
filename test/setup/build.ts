/**
 * CLI tests run the real `detc` bundle, built once per test run into a private folder (inside
 * node_modules, so the bundle's external packages resolve) so that concurrent runs never read a
 * half-written `dist/`.
 */
import { execSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    cli: string;
  }
}

export default function buildCli(project: TestProject): void {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const cache = join(root, "node_modules", ".cache");
  mkdirSync(cache, { recursive: true });
  const outdir = mkdtempSync(join(cache, "detc-test-"));
  // The package's own build command, pointed at the private folder.
  const build = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts.build as string;
  const command = build.replace(/^rm -rf dist && /, "").replace("--outdir=dist", `--outdir=${outdir}`);
  execSync(command, { stdio: "inherit", cwd: root, env: { ...process.env, PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}` } });
  const cli = join(outdir, "detc.js");
  project.provide("cli", cli);
}
