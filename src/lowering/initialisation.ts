/**
 * Random initial values as torchvision's model constructors set them, per family (each model file
 * ends with an `init` loop over its modules). Scales come from torchvision's shapes (fan-in,
 * fan-out); since every initialiser draws its elements independently (or is a constant), values are
 * drawn directly in the shape of our layout, with no transpose. Every entry gets its own seed
 * derived from its key, so a value does not depend on which other entries are initialised or when.
 */
import * as tf from "@tensorflow/tfjs";
import type { GraphNode, StateEntry } from "../zoo/graph.js";

type Shape = readonly number[];
/** Makes a tensor of `shape`; scales derive from torchvision's shape of the module's weight (for a bias too). */
type Initialiser = (shape: Shape, seed: number, weight: Shape) => tf.Tensor;

/** PyTorch's fan-in / fan-out of a weight [out, in, ...kernel]. */
const receptiveField = (shape: Shape) => shape.slice(2).reduce((a, b) => a * b, 1);
const fanIn = (shape: Shape) => shape[1]! * receptiveField(shape);
const fanOut = (shape: Shape) => shape[0]! * receptiveField(shape);

const zeros: Initialiser = (shape) => tf.zeros([...shape]);
const normal =
  (std: (weight: Shape) => number): Initialiser =>
  (shape, seed, weight) =>
    tf.randomNormal([...shape], 0, std(weight), "float32", seed);
const uniform =
  (bound: (weight: Shape) => number): Initialiser =>
  (shape, seed, weight) =>
    tf.randomUniform([...shape], -bound(weight), bound(weight), "float32", seed);

/** `kaiming_normal_(mode="fan_out", nonlinearity="relu")`, torchvision's usual conv init. */
const kaimingNormalFanOut = normal((weight) => Math.sqrt(2 / fanOut(weight)));
/**
 * `trunc_normal_(std=0.02)`: torch truncates at ±2 absolute, i.e. ±100σ, so it is a plain normal
 * (tfjs's truncatedNormal would cut at ±2σ).
 */
const truncNormal002 = normal(() => 0.02);

interface FamilyInitialisers {
  readonly convWeight: Initialiser;
  readonly convBias: Initialiser;
  readonly linearWeight: Initialiser;
  readonly linearBias: Initialiser;
  /** Parameters read directly (ConvNeXt's `layer_scale`), other than a layer norm's own, by their key. */
  readonly parameter?: (shape: Shape, seed: number, key: string) => tf.Tensor;
}

/** `nn.Conv2d` / `nn.Linear` `reset_parameters`: kaiming_uniform(a=√5) = U(±1/√fan_in), bias the same bound. */
const pytorchDefaults: FamilyInitialisers = {
  convWeight: uniform((weight) => 1 / Math.sqrt(fanIn(weight))),
  convBias: uniform((weight) => 1 / Math.sqrt(fanIn(weight))),
  linearWeight: uniform((weight) => 1 / Math.sqrt(fanIn(weight))),
  linearBias: uniform((weight) => 1 / Math.sqrt(fanIn(weight))),
};

const normal001 = normal(() => 0.01);
/** `kaiming_uniform_` with its defaults (a = 0, fan_in, gain √2): U(±√(6/fan_in)). */
const kaimingUniform = uniform((weight) => Math.sqrt(6 / fanIn(weight)));
/** `kaiming_normal_` with its defaults (fan_in, gain √2). */
const kaimingNormalFanIn = normal((weight) => Math.sqrt(2 / fanIn(weight)));

/** Keyed by `Backbone.family` (the torchvision model file). */
const FAMILIES: Record<string, FamilyInitialisers> = {
  vgg: { convWeight: kaimingNormalFanOut, convBias: zeros, linearWeight: normal001, linearBias: zeros },
  // ResNet leaves nn.Linear at PyTorch's default; its convs have no bias.
  resnet: { ...pytorchDefaults, convWeight: kaimingNormalFanOut },
  mobilenetv2: { convWeight: kaimingNormalFanOut, convBias: zeros, linearWeight: normal001, linearBias: zeros },
  mobilenetv3: { convWeight: kaimingNormalFanOut, convBias: zeros, linearWeight: normal001, linearBias: zeros },
  efficientnet: {
    convWeight: kaimingNormalFanOut,
    convBias: zeros,
    linearWeight: uniform((weight) => 1 / Math.sqrt(weight[0]!)), // 1/√out_features
    linearBias: zeros,
  },
  // RegNet sets only conv weights (normal, √(2/fan_out)); the SE convs keep PyTorch's default bias.
  regnet: { ...pytorchDefaults, convWeight: kaimingNormalFanOut, linearWeight: normal001, linearBias: zeros },
  // SqueezeNet's classifier conv (normal, std 0.01) is never part of a backbone.
  squeezenet: { ...pytorchDefaults, convWeight: kaimingUniform, convBias: zeros },
  // AlexNet keeps PyTorch's defaults.
  alexnet: pytorchDefaults,
  mnasnet: {
    convWeight: kaimingNormalFanOut,
    convBias: zeros,
    linearWeight: uniform((weight) => Math.sqrt(3 / weight[0]!)), // kaiming_uniform_(fan_out, sigmoid)
    linearBias: zeros,
  },
  densenet: { ...pytorchDefaults, convWeight: kaimingNormalFanIn, linearBias: zeros },
  // trunc_normal_(a=-2, b=2) bounds absolutely, ±200σ and ±20σ: plain normals. Inception v3's
  // auxiliary classifier (std 0.01 and 0.001) is never part of a backbone.
  googlenet: { ...pytorchDefaults, convWeight: normal001, linearWeight: normal001 },
  inception: { ...pytorchDefaults, convWeight: normal(() => 0.1), linearWeight: normal(() => 0.1) },
  convnext: {
    convWeight: truncNormal002,
    convBias: zeros,
    linearWeight: truncNormal002,
    linearBias: zeros,
    parameter: (shape) => tf.fill([...shape], 1e-6),
  },
  // Every nn.Linear (the MLPs' xavier init is overwritten by the model's final loop), and the
  // attention's weights read as parameters: trunc_normal_(std=0.02), biases zero; v2's logit scale
  // log(10). The patch-embedding conv keeps PyTorch's default.
  swin_transformer: {
    ...pytorchDefaults,
    linearWeight: truncNormal002,
    linearBias: zeros,
    parameter: (shape, seed, key) => {
      if (key.endsWith(".logit_scale")) return tf.fill([...shape], Math.log(10));
      if (key.endsWith(".bias")) return tf.zeros([...shape]);
      return truncNormal002(shape, seed, shape);
    },
  },
};

/** FNV-1a: a stable 32-bit hash of a state-dict key, to derive its seed. */
export function hashKey(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

/**
 * The initial value of `entry`, read by `owner`, as a tensor of `shape` (our layout's). `readers`
 * are the steps that take a parameter step as input (a layer norm's weight and bias are parameters
 * in ConvNeXt's LayerNorm2d).
 */
export function initialValue(
  family: string | undefined,
  entry: StateEntry,
  shape: Shape,
  owner: GraphNode,
  readers: readonly GraphNode[],
  seed: number,
): tf.Tensor {
  const init = (family !== undefined ? FAMILIES[family] : undefined) ?? pytorchDefaults;
  const entrySeed = (seed ^ hashKey(entry.key)) >>> 0;
  const weightShape = owner.state.find((e) => e.role === "weight")?.shape ?? entry.shape;
  const op = owner.op;
  switch (entry.role) {
    case "running_mean":
      return tf.zeros([...shape]);
    case "running_var":
      return tf.ones([...shape]);
    case "num_batches_tracked":
      return tf.zeros([...shape], "int32");
    case "weight":
      if (op.kind === "conv2d") return init.convWeight(shape, entrySeed, entry.shape);
      if (op.kind === "linear") return init.linearWeight(shape, entrySeed, entry.shape);
      return tf.ones([...shape]); // batch and layer norm
    case "bias":
      if (op.kind === "conv2d") return init.convBias(shape, entrySeed, weightShape);
      if (op.kind === "linear") return init.linearBias(shape, entrySeed, weightShape);
      return tf.zeros([...shape]);
    case "parameter": {
      const norm = readers.find((r) => r.op.kind === "layer_norm");
      if (norm) return norm.inputs[1] === owner.name ? tf.ones([...shape]) : tf.zeros([...shape]);
      if (!init.parameter) throw new Error(`no initialiser for parameter \`${entry.key}\` of family ${family}`);
      return init.parameter(shape, entrySeed, entry.key);
    }
    case "buffer":
      if (op.kind !== "buffer") throw new Error(`buffer \`${entry.key}\` has no values`);
      return tf.tensor(op.values as number[], [...shape], op.dtype);
  }
}
