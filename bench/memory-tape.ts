/**
 * Issue 15: what the gradient tape keeps for the backward pass at the end of a training forward
 * pass, per op kind and per part of the detector (backbone stages by output stride, FPN, RPN, RoI
 * heads), in bytes. `bench/memory.ts` measures the total ("kept for backward"); this says which
 * ops keep it.
 *
 * A tensor several ops save (a ReLU's output that the next conv saves as its input) is counted once
 * in the total; per row, "saved" counts every tensor the row's ops save, and "alone" only those no
 * op outside the row saves too: what the row's ops would free if they saved nothing.
 *
 *     npx tsx bench/memory-tape.ts [--only mobilenet_v3_large_fpn] [--size 512] [--recompute]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { checkSource } from "../src/check/index.js";
import { buildFasterRCNN, type FasterRCNN } from "../src/detection/faster-rcnn.js";
import { selectBackend } from "../src/engine/backend.js";
import { computeGradients } from "../src/train/trainer.js";
import { readBenchExamples } from "./bench-examples.js";
import { BENCH_CONFIGS, writeInputs } from "./training.js";

const root = fileURLToPath(new URL("..", import.meta.url));

interface TapeNode {
  readonly kernelName: string;
  readonly outputs: readonly tf.Tensor[];
  readonly saved?: readonly tf.Tensor[];
}

const activeTape = () => (tf.engine() as unknown as { state: { activeTape: TapeNode[] | null } }).state.activeTape ?? [];
const bytesOf = (tensor: tf.Tensor) => tensor.size * (tensor.dtype === "bool" ? 1 : 4);

/** Where each part of the forward pass starts on the tape, recorded by wrapping the model's parts. */
function markParts(model: FasterRCNN): { part: string; start: number }[] {
  const marks: { part: string; start: number }[] = [];
  const wrap = <T extends object, K extends keyof T>(owner: T, method: K, part: string, after: string) => {
    const original = owner[method] as unknown as (...args: unknown[]) => unknown;
    (owner as Record<K, unknown>)[method] = (...args: unknown[]) => {
      marks.push({ part, start: activeTape().length });
      const result = original.apply(owner, args);
      marks.push({ part: after, start: activeTape().length });
      return result;
    };
  };
  wrap(model.backbone, "apply", "backbone", "between");
  if (model.fpn) wrap(model.fpn, "apply", "FPN", "between");
  wrap(model.rpn, "forward", "RPN", "between");
  wrap(model.roiHeads, "computeLosses", "RoI heads", "losses");
  return marks;
}

/** The part a tape node belongs to; backbone nodes by the stride of their output. */
function partOf(index: number, node: TapeNode, marks: readonly { part: string; start: number }[], inputSize: number): string {
  const part = marks.filter((m) => m.start <= index).at(-1)?.part ?? "transform";
  if (part !== "backbone") return part;
  const height = node.outputs[0]?.rank === 4 ? node.outputs[0].shape[1] : undefined;
  return height === undefined ? "backbone (other)" : `backbone stride ${Math.round(inputSize / height)}`;
}

interface Row {
  readonly name: string;
  readonly nodes: number;
  readonly saved: number;
  readonly alone: number;
}

/** Per group (op kind or part): bytes its nodes save, and bytes only its nodes save. */
function attribute(
  tape: readonly TapeNode[],
  variables: ReadonlySet<object>,
  groupOf: (node: TapeNode, index: number) => string,
): { rows: Row[]; total: number } {
  const savers = new Map<object, { bytes: number; groups: Set<string> }>();
  const nodes = new Map<string, number>();
  tape.forEach((node, index) => {
    const group = groupOf(node, index);
    nodes.set(group, (nodes.get(group) ?? 0) + 1);
    for (const tensor of node.saved ?? []) {
      if (variables.has(tensor.dataId)) continue; // weights, counted as such
      const entry = savers.get(tensor.dataId) ?? { bytes: bytesOf(tensor), groups: new Set<string>() };
      entry.groups.add(group);
      savers.set(tensor.dataId, entry);
    }
  });
  const rows = [...nodes].map(([name, count]) => {
    const mine = [...savers.values()].filter((s) => s.groups.has(name));
    const sum = (list: typeof mine) => list.reduce((total, s) => total + s.bytes, 0);
    return { name, nodes: count, saved: sum(mine), alone: sum(mine.filter((s) => s.groups.size === 1)) };
  });
  const total = [...savers.values()].reduce((sum, s) => sum + s.bytes, 0);
  return { rows: rows.filter((r) => r.saved > 0).sort((a, b) => b.saved - a.saved), total };
}

/** tfjs names a `tf.customGrad` node "unnamed scope". */
const kind = (node: TapeNode) => (node.kernelName === "unnamed scope" ? "custom gradient" : node.kernelName);

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

function table(heading: string, { rows, total }: ReturnType<typeof attribute>): string[] {
  return [
    `| ${heading} | tape nodes | saved MiB | saved by it alone MiB |`,
    "|---|---|---|---|",
    ...rows.map((r) => `| ${r.name} | ${r.nodes} | ${mib(r.saved)} | ${mib(r.alone)} |`),
    `| **total kept** (each tensor once) | | **${mib(total)}** | |`,
  ];
}

async function profileTape(configName: string, size: number, extraSource: string): Promise<string[]> {
  const config = BENCH_CONFIGS.find((c) => c.name === configName);
  if (!config) throw new Error(`unknown config ${configName}; known: ${BENCH_CONFIGS.map((c) => c.name).join(", ")}`);
  const original = readFileSync(join(root, config.file), "utf8");
  const source = `${original}${config.input === undefined ? "" : `\ninput ${size}\n`}${extraSource}`;
  const detector = checkSource(source).detectors[0];
  if (!detector) throw new Error(`${config.file} does not check`);
  const { spec } = detector;
  const model = buildFasterRCNN(spec);
  const dir = mkdtempSync(join(tmpdir(), "detc-memory-tape-"));
  try {
    const batch = spec.settings.train.batch_size as number;
    const inputs = writeInputs(dir, detector.input.height, batch, spec.classes.count);
    const { examples } = readBenchExamples(inputs, model.transform);
    const marks = markParts(model);
    let byKind: ReturnType<typeof attribute> = { rows: [], total: 0 };
    let byPart: ReturnType<typeof attribute> = { rows: [], total: 0 };
    let byBoth: ReturnType<typeof attribute> = { rows: [], total: 0 };
    let kept = 0;
    const computeLosses = model.computeLosses.bind(model);
    model.computeLosses = (...args) => {
      const before = tf.memory().numBytes;
      const losses = computeLosses(...args);
      kept = tf.memory().numBytes - before;
      const tape = activeTape();
      const variables = new Set(model.trainableVariables().map((v) => v.dataId));
      const part = (node: TapeNode, index: number) => partOf(index, node, marks, detector.input.height);
      byKind = attribute(tape, variables, kind);
      byPart = attribute(tape, variables, part);
      byBoth = attribute(tape, variables, (node, index) => `${part(node, index)}: ${kind(node)}`);
      return losses;
    };
    const trainable = new Map(model.trainableVariables().map((v) => [v.name, v]));
    const { gradients } = computeGradients(model, trainable, examples);
    tf.dispose(Object.values(gradients));
    return [
      `${configName}, ${detector.input.height} px, batch ${batch}${extraSource ? `, ${extraSource.trim()}` : ""}: ` +
        `${mib(kept)} MiB alive when the forward pass returns`,
      "",
      ...table("op kind", byKind),
      "",
      ...table("part", byPart),
      "",
      ...table("part: op kind (the largest)", { ...byBoth, rows: byBoth.rows.slice(0, 30) }),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
    model.dispose();
  }
}

const { values } = parseArgs({ options: { only: { type: "string" }, size: { type: "string" }, recompute: { type: "boolean" } } });
await selectBackend("tensorflow");
const extra = values.recompute ? "\ntrain recompute_stages true\n" : "";
for (const name of values.only?.split(",") ?? ["mobilenet_v3_large_fpn"])
  console.log([...(await profileTape(name, Number(values.size ?? 512), extra)), ""].join("\n"));
