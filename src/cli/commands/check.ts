/** `detc check FILE…`: diagnostics with code frames, or the inferred feature pyramid; JSON or GitHub annotations for tools. */
import { dirname } from "node:path";
import Table from "cli-table3";
import { Option, type Command } from "commander";
import { checkSource, type CheckResult } from "../../check/index.js";
import type { Diagnostic, Severity } from "../../check/diagnostic.js";
import type { DetectorSummary } from "../../check/summary.js";
import type { DataCheck } from "../../anchors/analyze.js";
import { anchorDataJson, checkData, renderAnchorData } from "../anchor-data.js";
import { sourceName, writeJson } from "../io.js";
import { renderDiagnostic } from "../render-diagnostics.js";
import { readSpec } from "../spec.js";
import { filesBeside } from "../../util/files-beside.js";
import { colors, thousands, type Colors } from "../style.js";

interface CheckedFile {
  readonly path: string;
  readonly source: string;
  readonly result: CheckResult;
  /** With `--data`: each error-free detector's check against its training data. */
  readonly data?: ReadonlyMap<string, DataCheck>;
}

export function checkJson(files: readonly CheckedFile[]) {
  return {
    files: files.map(({ path, result, data }) => ({
      file: path,
      ok: result.counts.error === 0,
      counts: result.counts,
      omitted: result.omitted,
      diagnostics: result.diagnostics.map((d) => ({
        severity: d.severity,
        code: d.code,
        message: d.message,
        line: d.primary.span.start.line,
        column: d.primary.span.start.column,
        endLine: d.primary.span.end.line,
        endColumn: d.primary.span.end.column,
        ...(d.expected !== undefined && { expected: d.expected }),
        ...(d.found !== undefined && { found: d.found }),
        ...(d.hint !== undefined && { hint: d.hint }),
      })),
      detectors: result.detectors.map((d) => ({
        name: d.name,
        backbone: d.backbone,
        input: [d.input.height, d.input.width],
        levels: d.levels.map((l) => ({
          name: l.name,
          node: l.node,
          channels: l.channels,
          outChannels: l.outChannels,
          stride: l.stride,
          height: l.height,
          width: l.width,
          receptiveField: l.receptiveField,
        })),
        anchorsPerLocation: d.anchorsPerLocation,
        parameters: d.parameters,
        spec: d.spec,
        ...(data?.has(d.name) && { data: anchorDataJson(data.get(d.name)!.report) }),
      })),
    })),
  };
}

export function renderPyramid(d: DetectorSummary, c: Colors): string {
  const table = new Table({
    head: ["level", "node", "channels", "stride", "size", "anchors/loc", "receptive field"],
    style: { head: c.isColorSupported ? ["cyan"] : [], border: [], compact: true },
    chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
  });
  d.levels.forEach((l, i) =>
    table.push([
      l.name,
      l.extra ? c.dim("max-pool of the last level") : l.node,
      l.channels === l.outChannels ? l.channels : `${l.channels} → ${l.outChannels}`,
      l.stride,
      `${l.height}×${l.width}`,
      d.anchorsPerLocation[i] ?? "",
      l.receptiveField ?? "",
    ]),
  );
  const p = d.parameters;
  return [
    `${c.bold(`detector ${d.name}`)} · backbone ${d.backbone} · input ${d.input.height}×${d.input.width}`,
    table.toString(),
    `parameters: backbone ${thousands(p.backbone)} · fpn ${thousands(p.fpn)} · rpn ${thousands(p.rpn)} · roi heads ${thousands(p.roiHeads)} · ${c.bold(`total ${thousands(p.total)}`)}`,
  ].join("\n");
}

export function registerCheck(program: Command): void {
  program
    .command("check")
    .summary("parse and type-check .det files; print the inferred feature pyramid")
    .description(
      "Parse and type-check each file: infer the channels, stride and size of every tapped feature map " +
        "through the backbone's real layer graph, check every number the spec writes down, and report " +
        "all problems of all files at once. Exits 0 when there are no errors (warnings are fine), 1 when " +
        "there are, 2 on usage errors.",
    )
    .argument("<files...>", ".det files (- for standard input)")
    .option("--json", "machine-readable output (schema: specs/check-output.schema.json)")
    .option("--data", "also check the anchors against each detector's training boxes (docs/anchors.md)")
    .addOption(
      new Option("--format <format>", "human: code frames and the pyramid; github: GitHub Actions annotations")
        .choices(["human", "github"])
        .default("human")
        .conflicts("json"),
    )
    .addHelpText(
      "after",
      "\nExamples:\n  $ detc check examples/*.det\n  $ cat my.det | detc check -\n  $ detc check my.det --json | jq '.files[0].detectors[0].levels'\n" +
        "  $ detc check --format github specs/*.det   # in a GitHub Actions step\n" +
        "  $ detc check --data examples/quickstart.det  # anchor recall on the training boxes, and a fitted anchors line",
    )
    .action(async (paths: string[], options: { json?: boolean; data?: boolean; format: "human" | "github" }) => {
      const files: CheckedFile[] = [];
      for (const path of paths) {
        const source = readSpec(path);
        const result = checkSource(source, { files: filesBeside(dirname(path)) });
        const data = options.data ? await checkData(path, result) : undefined;
        files.push({ path: sourceName(path), source, result: data ? withDataDiagnostics(result, data) : result, ...(data && { data }) });
      }
      const errors = files.reduce((n, f) => n + f.result.counts.error, 0);
      if (options.json) writeJson(checkJson(files));
      else if (options.format === "github") process.stdout.write(renderGithub(files));
      else process.stdout.write(renderHuman(files, colors(process.stdout)));
      process.exitCode = errors > 0 ? 1 : 0;
    });
}

/** The data rules' diagnostics listed and counted with the checker's, in source order. */
function withDataDiagnostics(result: CheckResult, data: ReadonlyMap<string, DataCheck>): CheckResult {
  const added = [...data.values()].flatMap((check) => check.diagnostics);
  const counts = { ...result.counts };
  for (const d of added) counts[d.severity]++;
  const diagnostics = [...result.diagnostics, ...added].sort((a, b) => a.primary.span.start.offset - b.primary.span.start.offset);
  return { ...result, diagnostics, counts };
}

function renderHuman(files: readonly CheckedFile[], c: Colors): string {
  const out: string[] = [];
  let errors = 0;
  let warnings = 0;
  for (const { path, source, result, data } of files) {
    out.push(c.bold(c.underline(path)));
    for (const d of result.diagnostics) out.push(renderDiagnostic(d, path, source, c), "");
    if (result.omitted > 0) out.push(c.dim(`… and ${thousands(result.omitted)} more problems in ${path} (the first ${result.diagnostics.length} are shown)`), "");
    errors += result.counts.error;
    warnings += result.counts.warning;
    for (const detector of result.detectors) {
      out.push(renderPyramid(detector, c), "");
      const check = data?.get(detector.name);
      if (check) out.push(renderAnchorData(check.report, c), "");
    }
  }
  const status =
    errors > 0
      ? c.red(`${thousands(errors)} error${errors === 1 ? "" : "s"}`)
      : c.green(`ok`);
  out.push(`${status}${warnings > 0 ? `, ${thousands(warnings)} warning${warnings === 1 ? "" : "s"}` : ""} in ${files.length} file${files.length === 1 ? "" : "s"}`);
  return out.join("\n") + "\n";
}

const GITHUB_COMMAND: Record<Severity, string> = { error: "error", warning: "warning", info: "notice" };

/** GitHub's workflow-command escaping: data escapes `%` and line breaks, properties also `:` and `,`. */
const escapeData = (text: string) => text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escapeProperty = (text: string) => escapeData(text).replace(/:/g, "%3A").replace(/,/g, "%2C");

/** One `::error file=…,line=…::message` line per diagnostic, which GitHub Actions shows on the diff. */
export function githubAnnotation(d: Diagnostic, path: string): string {
  const { start, end } = d.primary.span;
  const properties = [
    `file=${escapeProperty(path)}`,
    `line=${start.line}`,
    `col=${start.column}`,
    `endLine=${end.line}`,
    `endColumn=${end.column}`,
    `title=${escapeProperty(d.code)}`,
  ].join(",");
  const message = d.hint === undefined ? d.message : `${d.message}\nhelp: ${d.hint}`;
  return `::${GITHUB_COMMAND[d.severity]} ${properties}::${escapeData(message)}`;
}

function renderGithub(files: readonly CheckedFile[]): string {
  return files
    .flatMap(({ path, result }) => [
      ...result.diagnostics.map((d) => githubAnnotation(d, path) + "\n"),
      ...(result.omitted > 0 ? [`::notice file=${escapeProperty(path)}::${result.omitted} more problems are not listed (run detc check ${escapeData(path)})\n`] : []),
    ])
    .join("");
}
