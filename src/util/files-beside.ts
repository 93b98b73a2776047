/**
 * The files a spec names, looked up on disk relative to the spec's folder: the one piece of the
 * checker's input that is I/O, handed to it by the CLI and the language server as a lookup.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { FileLookup } from "../check/rule.js";

export function filesBeside(specDir: string): FileLookup {
  return (path) => {
    const resolved = resolve(specDir, path);
    try {
      return { kind: statSync(resolved).isDirectory() ? "directory" : "file", resolved };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return { kind: code === "ENOENT" || code === "ENOTDIR" ? "missing" : "unreadable", resolved };
    }
  };
}
