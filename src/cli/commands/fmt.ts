/** `detc fmt FILE… [--check]`: rewrite .det files in their canonical form, or list those that are not. */
import { renameSync, statSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { MAX_DIAGNOSTICS, syntaxDiagnostics } from "../../check/index.js";
import { parse } from "../../language/index.js";
import { print } from "../../language/printer.js";
import { sourceName, STDIN, UsageError } from "../io.js";
import { readSpec } from "../spec.js";
import { renderDiagnostic } from "../render-diagnostics.js";
import { colors } from "../style.js";

/** Written beside the file and renamed over it, so a crash never leaves a half-written spec. */
function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.detc-fmt.tmp`;
  writeFileSync(temporary, text, { mode: statSync(path).mode });
  renameSync(temporary, path);
}

/** `fmt -`: the formatted text on stdout (what editors' format-on-save reads), problems on stderr. */
function formatStandardInput(paths: readonly string[], check: boolean): void {
  if (paths.length > 1) throw new UsageError("`-` (standard input) is formatted alone: give no other file with it");
  const source = readSpec(STDIN);
  const { file, problems } = parse(source);
  if (problems.length > 0) {
    const c = colors(process.stderr);
    const listed = problems.slice(0, MAX_DIAGNOSTICS);
    const rendered = syntaxDiagnostics(listed).map((d) => renderDiagnostic(d, sourceName(STDIN), source, c) + "\n");
    if (problems.length > listed.length) rendered.push(`… and ${problems.length - listed.length} more syntax errors in ${sourceName(STDIN)}\n`);
    process.stderr.write(rendered.join("\n"));
    process.exitCode = 1;
    return;
  }
  const formatted = print(file);
  if (check) {
    if (formatted !== source) process.stdout.write(`${sourceName(STDIN)}\n`);
    process.exitCode = formatted === source ? 0 : 1;
    return;
  }
  process.stdout.write(formatted);
  process.exitCode = 0;
}

const files = (n: number) => `${n} file${n === 1 ? "" : "s"}`;

export function registerFmt(program: Command): void {
  program
    .command("fmt")
    .summary("format .det files canonically (comments kept)")
    .description(
      "Rewrite each file in canonical form: one statement per line in a fixed order (backbone, tap, " +
        "fpn, in_channels, out_channels, anchors, roi, classes, input, dataset, rpn, box, train), a blank " +
        "line between detectors, lists as `a, b, c`, numbers as written. Comments stay with the statement " +
        "they precede or end the line of. A file with syntax errors is left untouched and its errors " +
        "printed. Exits 1 on syntax errors, and with --check when a file would change.",
    )
    .argument("<files...>", ".det files, or - to format standard input to standard output")
    .option("--check", "change nothing; list the files that are not formatted")
    .addHelpText("after", "\nExamples:\n  $ detc fmt examples/*.det\n  $ detc fmt - < my.det > formatted.det   # as editors' format-on-save runs it\n  $ detc fmt --check specs/*.det   # in CI")
    .action((paths: string[], options: { check?: boolean }) => {
      if (paths.includes(STDIN)) return formatStandardInput(paths, options.check === true);
      const c = colors(process.stdout);
      const out: string[] = [];
      const changed: string[] = [];
      let broken = 0;
      for (const path of paths) {
        const source = readSpec(path);
        // Formatting needs the syntax tree only: the type-checker is never run.
        const { file, problems } = parse(source);
        if (problems.length > 0) {
          broken++;
          const listed = problems.slice(0, MAX_DIAGNOSTICS);
          for (const d of syntaxDiagnostics(listed)) out.push(renderDiagnostic(d, path, source, c) + "\n");
          if (problems.length > listed.length) out.push(`… and ${problems.length - listed.length} more syntax errors in ${path}\n`);
          continue;
        }
        const formatted = print(file);
        if (formatted === source) continue;
        changed.push(path);
        if (!options.check) writeAtomically(path, formatted);
        out.push(options.check ? path : `${c.green("formatted")} ${path}`);
      }
      const unchanged = paths.length - changed.length - broken;
      const summary = options.check
        ? changed.length > 0
          ? `${files(changed.length)} would be reformatted, ${files(unchanged)} already formatted`
          : `${files(unchanged)} already formatted`
        : `${files(changed.length)} reformatted, ${files(unchanged)} unchanged`;
      out.push(broken > 0 ? `${summary}, ${c.red(`${files(broken)} with syntax errors (left as they are)`)}` : summary);
      process.stdout.write(out.join("\n") + "\n");
      process.exitCode = broken > 0 || (options.check && changed.length > 0) ? 1 : 0;
    });
}
