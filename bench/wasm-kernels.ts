/**
 * Our WASM training kernels (src/engine/wasm-kernels/) against what wasm runs without them: a
 * training step of examples/quickstart.det at batch 2, and each kernel at shapes from the zoo's
 * networks and the detector's heads, against the backend's own kernel (where it has one) and the
 * pure-JS cpu backend. Without ours, the kernels wasm lacks run the cpu backend's kernel on copies
 * of their inputs, the only way wasm trains at all.
 *
 * Kernel times are CPU time of this process (the WASM backend runs on one thread), the least of
 * several runs: stable when other processes share the machine, the same as wall time when none do.
 * Training steps are wall time. Takes about 7 minutes, nearly all of it in the cpu backend's
 * kernels (a filter gradient takes it 15–30 s).
 */
import { readFileSync } from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { checkSource } from "../src/check/index.js";
import { syntheticDataset } from "../src/data/synthetic.js";
import { prepareExample } from "../src/data/transforms.js";
import { buildFasterRCNN } from "../src/detection/faster-rcnn.js";
import { randomFromState } from "../src/util/random.js";
import { selectBackend } from "../src/engine/backend.js";
import { registerWasmKernels, unregisterWasmKernels, WASM_KERNELS } from "../src/engine/wasm-kernels/index.js";

const cpuClock = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const wallClock = () => performance.now();

/** Milliseconds `run` takes on `clock`: the least of `runs` runs, after one warm-up unless `coldOnly`. */
function leastMilliseconds(run: () => void, runs: number, clock: () => number, coldOnly = false): number {
  if (!coldOnly) run();
  let least = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = clock();
    run();
    least = Math.min(least, clock() - start);
  }
  return least;
}

/** For kernels wasm lacks: the cpu backend's kernel, run on copies of the inputs. */
function registerCpuStandIns(): string[] {
  const missing = WASM_KERNELS.map((k) => k.kernelName).filter((name) => !tf.getKernel(name, "wasm"));
  for (const kernelName of missing) {
    const cpuKernel = tf.getKernel(kernelName, "cpu");
    tf.registerKernel({
      kernelName,
      backendName: "wasm",
      kernelFunc: ({ inputs, backend, attrs }) => {
        const wasm = backend as tf.KernelBackend & { makeOutput(shape: number[], dtype: tf.DataType, offset?: number, values?: tf.backend_util.BackendValues): tf.TensorInfo };
        const cpu = tf.findBackend("cpu")!;
        const copies = Object.fromEntries(
          Object.entries(inputs).map(([name, t]) => [name, { dataId: cpu.write(wasm.readSync(t!.dataId), t!.shape, t!.dtype), shape: t!.shape, dtype: t!.dtype }]),
        );
        const out = cpuKernel.kernelFunc({ inputs: copies, backend: cpu, attrs }) as tf.TensorInfo;
        const result = wasm.makeOutput(out.shape, out.dtype, undefined, cpu.readSync(out.dataId));
        for (const t of [...Object.values(copies), out]) cpu.disposeData(t.dataId);
        return result;
      },
    });
  }
  return missing;
}

async function trainingStepLines(): Promise<string[]> {
  const spec = checkSource(readFileSync(new URL("../examples/quickstart.det", import.meta.url), "utf8")).detectors[0]!.spec;
  const size = spec.input.kind === "exact" ? spec.input.height : spec.input.min;
  const samples = syntheticDataset("train", { imageSize: size, trainCount: 2 }).samples;
  const options = { minSize: size, maxSize: size, flipProbability: 0, training: true };
  const examples = await Promise.all(samples.map(async (s, i) => prepareExample(s, await s.loadImage(), options, randomFromState(i))));
  const model = buildFasterRCNN(spec);
  const step = () => {
    const { value, grads } = tf.variableGrads(() => {
      const losses = model.computeLosses(examples.map((e) => e.image), examples.map((e) => ({ boxes: e.boxes, labels: e.labels })));
      return tf.addN(Object.values(losses)) as tf.Scalar;
    }, model.trainableVariables());
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  try {
    unregisterWasmKernels();
    const standIns = registerCpuStandIns();
    const without = leastMilliseconds(step, 1, wallClock, true); // minutes: one run will do
    standIns.forEach((name) => tf.unregisterKernel(name, "wasm"));
    registerWasmKernels();
    const withOurs = leastMilliseconds(step, 5, wallClock);
    return [
      `quickstart.det training step, batch 2, ${size}×${size}:`,
      `  wasm without our kernels (cpu stand-ins for ${standIns.join(", ")})  ${without.toFixed(0).padStart(7)} ms`,
      `  wasm with our kernels                                   ${withOurs.toFixed(0).padStart(7)} ms   (${(without / withOurs).toFixed(1)}× faster)`,
    ];
  } finally {
    model.dispose();
  }
}

interface KernelCase {
  readonly kernelName: string;
  readonly label: string;
  /** Floating-point operations (a multiply-add is two); 0 where GFLOP/s says nothing. */
  readonly flops: number;
  readonly inputs: () => tf.NamedTensorMap;
  readonly attrs: object;
}

const random = (shape: number[]) => tf.randomUniform(shape, -1, 1, "float32", 1);
const convOutput = (input: number[], filter: number[], strides: number, pad: "same" | "valid", depthwise = false) =>
  tf.backend_util.computeConv2DInfo(input as [number, number, number, number], filter as [number, number, number, number], strides, 1, pad, undefined, depthwise);

/** Both gradients of a dense convolution of `input` [N, H, W, C] by `filter` [KH, KW, C, CO]. */
function denseCases(label: string, input: number[], filter: number[], strides: number, pad: "same" | "valid"): KernelCase[] {
  const conv = convOutput(input, filter, strides, pad);
  const flops = 2 * tf.util.sizeFromShape(conv.outShape) * filter[0]! * filter[1]! * filter[2]!;
  return [
    { kernelName: tf.Conv2DBackpropFilter, label, flops, inputs: () => ({ x: random(input), dy: random(conv.outShape) }), attrs: { strides, pad, dataFormat: "NHWC", filterShape: filter } },
    { kernelName: tf.Conv2DBackpropInput, label, flops, inputs: () => ({ dy: random(conv.outShape), filter: random(filter) }), attrs: { strides, pad, dataFormat: "NHWC", inputShape: input } },
  ];
}

function depthwiseCases(label: string, input: number[], filter: number[], strides: number, pad: "same" | "valid"): KernelCase[] {
  const conv = convOutput(input, filter, strides, pad, true);
  const flops = 2 * tf.util.sizeFromShape(conv.outShape) * filter[0]! * filter[1]!;
  const attrs = { strides, pad, dilations: 1 };
  return [
    { kernelName: tf.DepthwiseConv2dNativeBackpropFilter, label, flops, inputs: () => ({ x: random(input), dy: random(conv.outShape) }), attrs: { ...attrs, filterShape: filter } },
    { kernelName: tf.DepthwiseConv2dNativeBackpropInput, label, flops, inputs: () => ({ dy: random(conv.outShape), filter: random(filter) }), attrs: { ...attrs, inputShape: input } },
  ];
}

function matMulCase(label: string, a: number[], b: number[], transposeA: boolean, transposeB: boolean): KernelCase {
  const [m, k] = transposeA ? [a.at(-1)!, a.at(-2)!] : [a.at(-2)!, a.at(-1)!];
  const n = transposeB ? b.at(-2)! : b.at(-1)!;
  const batch = Math.max(tf.util.sizeFromShape(a.slice(0, -2)), tf.util.sizeFromShape(b.slice(0, -2)));
  return { kernelName: tf.BatchMatMul, label, flops: 2 * batch * m * n * k, inputs: () => ({ a: random(a), b: random(b) }), attrs: { transposeA, transposeB } };
}

/** Shapes of a quickstart.det training step (resnet18 to layer2 at 128×128, batch 2), and the zoo's depthwise convolutions. */
const KERNEL_CASES: readonly KernelCase[] = [
  ...denseCases("conv1 7×7/2 3→64 (pre-padded) @134²", [2, 134, 134, 3], [7, 7, 3, 64], 2, "valid"),
  ...denseCases("layer1 3×3 64→64 @32²", [2, 32, 32, 64], [3, 3, 64, 64], 1, "same"),
  ...denseCases("layer2.0 3×3/2 64→128 (pre-padded) @34²", [2, 34, 34, 64], [3, 3, 64, 128], 2, "valid"),
  ...denseCases("layer2.0 downsample 1×1/2 64→128 @32²", [2, 32, 32, 64], [1, 1, 64, 128], 2, "valid"),
  ...denseCases("layer2 / RPN 3×3 128→128 @16²", [2, 16, 16, 128], [3, 3, 128, 128], 1, "same"),
  ...depthwiseCases("MobileNet 3×3 dw 72 ch @32²", [2, 32, 32, 72], [3, 3, 72, 1], 1, "same"),
  ...depthwiseCases("MobileNet 3×3/2 dw 64 ch (pre-padded) @66²", [2, 66, 66, 64], [3, 3, 64, 1], 2, "valid"),
  ...depthwiseCases("ConvNeXt 7×7 dw 96 ch @32²", [2, 32, 32, 96], [7, 7, 96, 1], 1, "same"),
  matMulCase("box head x·W (forward: the backend's fast case)", [128, 6272], [6272, 128], false, false),
  matMulCase("box head dy·Wᵀ", [128, 128], [6272, 128], false, true),
  matMulCase("box head xᵀ·dy", [128, 6272], [128, 128], true, false),
  matMulCase("batched [8, 128, 128]·[8, 128, 128]", [8, 128, 128], [8, 128, 128], false, false),
  {
    // The cpu backend's time grows with rows × segments: bigger cases take minutes.
    kernelName: tf.UnsortedSegmentSum,
    label: "tf.gather's gradient: 2000 rows of 4 into 500",
    flops: 0,
    inputs: () => ({ x: random([2000, 4]), segmentIds: tf.randomUniform([2000], 0, 500, "int32", 2) }),
    attrs: { numSegments: 500 },
  },
  { kernelName: tf.Tile, label: "[6272, 1, 128] × [1, 16, 1] (RoIAlign-gradient sized)", flops: 0, inputs: () => ({ x: random([6272, 1, 128]) }), attrs: { reps: [1, 16, 1] } },
  { kernelName: tf.Tile, label: "[20000, 1] × [1, 4]", flops: 0, inputs: () => ({ x: random([20000, 1]) }), attrs: { reps: [1, 4] } },
  { kernelName: tf.SplitV, label: "[2, 56, 56, 256] into 32 channel groups (ResNeXt)", flops: 0, inputs: () => ({ x: random([2, 56, 56, 256]) }), attrs: { numOrSizeSplits: 32, axis: 3 } },
  { kernelName: tf.SplitV, label: "[20000, 4] into its 4 columns", flops: 0, inputs: () => ({ x: random([20000, 4]) }), attrs: { numOrSizeSplits: 4, axis: 1 } },
  { kernelName: tf.Slice, label: "a quarter of [2, 56, 56, 256]'s rows", flops: 0, inputs: () => ({ x: random([2, 56, 56, 256]) }), attrs: { begin: [0, 0, 0, 0], size: [2, 14, 56, 256] } },
  { kernelName: tf.Identity, label: "[2, 56, 56, 256]", flops: 0, inputs: () => ({ x: random([2, 56, 56, 256]) }), attrs: {} },
];

/** Least CPU ms of the kernel on the current backend, or null where it has none. */
function kernelMilliseconds(c: KernelCase, runs: number, coldOnly = false): number | null {
  if (!tf.getKernel(c.kernelName, tf.getBackend())) return null;
  const inputs = c.inputs();
  try {
    return leastMilliseconds(() => tf.dispose(tf.engine().runKernel(c.kernelName, inputs, c.attrs as tf.NamedAttrMap)), runs, cpuClock, coldOnly);
  } finally {
    tf.dispose(Object.values(inputs));
  }
}

async function kernelLines(): Promise<string[]> {
  unregisterWasmKernels();
  const builtin = KERNEL_CASES.map((c) => kernelMilliseconds(c, 5));
  registerWasmKernels();
  const ours = KERNEL_CASES.map((c) => kernelMilliseconds(c, 10)!);
  await tf.setBackend("cpu");
  const cpu = KERNEL_CASES.map((c) => kernelMilliseconds(c, 1, true)!); // seconds each for some: one run
  await tf.setBackend("wasm");

  const cell = (ms: number | null, flops: number) =>
    ms === null ? "—".padStart(20) : `${ms.toFixed(2).padStart(9)} ms${flops ? `${(flops / ms / 1e6).toFixed(1).padStart(6)} GF/s` : " ".repeat(10)}`;
  const lines = [`${"kernel / shape".padEnd(78)}${"ours".padStart(20)}   ${"wasm's own".padStart(20)}   ${"cpu backend".padStart(20)}   speed-up`];
  KERNEL_CASES.forEach((c, i) => {
    const previous = builtin[i] ?? cpu[i]!;
    const columns = [ours[i]!, builtin[i] ?? null, cpu[i]!].map((ms) => cell(ms, c.flops)).join("   ");
    lines.push(`${`${c.kernelName} ${c.label}`.padEnd(78)}${columns}   ${(previous / ours[i]!).toFixed(1).padStart(7)}×`);
  });
  lines.push("(speed-up: over wasm's own kernel, or over the cpu backend where wasm has none)");
  return lines;
}

export async function benchWasmKernels(): Promise<string[]> {
  const previousBackend = tf.getBackend();
  await selectBackend("wasm");
  try {
    return [...(await trainingStepLines()), "", ...(await kernelLines())];
  } finally {
    if (previousBackend) await tf.setBackend(previousBackend);
  }
}
