/** torchvision `models/mnasnet.py`: MNASNet (the B1 variant) at four depth multipliers. */
import { GraphBuilder, variants, type Value } from "../builder.js";
import type { BackboneGraph } from "../graph.js";
import { activation, add, batchNorm2d, conv2d, identity, linear, mean } from "../layers.js";

/** `_BN_MOMENTUM = 1 - 0.9997`: TensorFlow's decay 0.9997 as PyTorch's momentum. */
const BN_MOMENTUM = 1 - 0.9997;

/** `_round_to_multiple_of(val, 8)`: rounds up unless the multiple below is within 10%. */
function roundToMultipleOf(value: number, divisor = 8, roundUpBias = 0.9): number {
  const rounded = Math.max(divisor, Math.floor(Math.trunc(value + divisor / 2) / divisor) * divisor);
  return rounded >= roundUpBias * value ? rounded : rounded + divisor;
}

/** One `_stack`: (kernel, stride, expansion factor, repeats); its widths come from `_get_depths`. */
const STACKS = [
  [3, 2, 3, 3],
  [5, 2, 3, 3],
  [5, 2, 6, 3],
  [3, 1, 6, 2],
  [5, 2, 6, 4],
  [3, 1, 6, 1],
] as const;

/** `_InvertedResidual`: 1×1 expand, depthwise k×k, 1×1 project, in the Sequential `layers`. */
function invertedResidual(
  g: GraphBuilder,
  path: string,
  x: Value,
  inCh: number,
  outCh: number,
  kernel: number,
  stride: number,
  expansion: number,
): Value {
  const mid = inCh * expansion;
  const at = (i: number) => `${path}.layers.${i}`;
  let y = conv2d(g, at(0), x, { in: inCh, out: mid, kernel: 1, bias: false });
  y = batchNorm2d(g, at(1), y, mid, 1e-5, BN_MOMENTUM);
  y = activation(g, at(2), y, "relu");
  y = conv2d(g, at(3), y, { in: mid, out: mid, kernel, padding: Math.floor(kernel / 2), stride, groups: mid, bias: false });
  y = batchNorm2d(g, at(4), y, mid, 1e-5, BN_MOMENTUM);
  y = activation(g, at(5), y, "relu");
  y = conv2d(g, at(6), y, { in: mid, out: outCh, kernel: 1, bias: false });
  y = batchNorm2d(g, at(7), y, outCh, 1e-5, BN_MOMENTUM);
  return inCh === outCh && stride === 1 ? add(g, path, y, x) : y;
}

function mnasnet(name: string, alpha: number): BackboneGraph {
  const depths = [32, 16, 24, 40, 80, 96, 192, 320].map((d) => roundToMultipleOf(d * alpha));
  const g = new GraphBuilder(name);
  const bn = (path: string, x: Value, channels: number) => batchNorm2d(g, path, x, channels, 1e-5, BN_MOMENTUM);
  let x = conv2d(g, "layers.0", g.input(), { in: 3, out: depths[0]!, kernel: 3, padding: 1, stride: 2, bias: false });
  x = activation(g, "layers.2", bn("layers.1", x, depths[0]!), "relu");
  x = conv2d(g, "layers.3", x, { in: depths[0]!, out: depths[0]!, kernel: 3, padding: 1, groups: depths[0]!, bias: false });
  x = activation(g, "layers.5", bn("layers.4", x, depths[0]!), "relu");
  x = conv2d(g, "layers.6", x, { in: depths[0]!, out: depths[1]!, kernel: 1, bias: false });
  x = bn("layers.7", x, depths[1]!);
  STACKS.forEach(([kernel, stride, expansion, repeats], s) => {
    for (let i = 0; i < repeats; i++) {
      const inCh = i === 0 ? depths[s + 1]! : depths[s + 2]!;
      x = invertedResidual(g, `layers.${8 + s}.${i}`, x, inCh, depths[s + 2]!, kernel, i === 0 ? stride : 1, expansion);
    }
  });
  x = conv2d(g, "layers.14", x, { in: depths[7]!, out: 1280, kernel: 1, bias: false });
  x = activation(g, "layers.16", bn("layers.15", x, 1280), "relu");
  x = mean(g, "", x, [2, 3]);
  x = identity(g, "classifier.0", x);
  return g.finish(linear(g, "classifier.1", x, 1280, 1000));
}

/** The depth multiplier `alpha` of each builder. */
export const mnasnetNetworks = variants(mnasnet, {
  mnasnet0_5: 0.5,
  mnasnet0_75: 0.75,
  mnasnet1_0: 1.0,
  mnasnet1_3: 1.3,
});
