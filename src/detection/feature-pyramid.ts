/**
 * torchvision's `FeaturePyramidNetwork` with `LastLevelMaxPool` (`ops/feature_pyramid_network.py`):
 * a 1×1 lateral conv per input map, a top-down path adding each coarser result (upsampled, nearest)
 * to the next finer lateral, and a 3×3 output conv per level; the extra level is the last output
 * max-pooled with kernel 1, stride 2, named `pool`.
 *
 * Maps are NHWC; conv weights are HWIO (`lowering/layouts.ts`), keyed as torchvision's state dict
 * (`inner_blocks.{i}.0.weight`, `layer_blocks.{i}.0.bias`).
 */
import * as tf from "@tensorflow/tfjs";
import { denseConv2d } from "../lowering/convolution.js";
import { hashKey } from "../lowering/initialisation.js";
import { add } from "../lowering/lean-backward.js";
import { POOL_LEVEL } from "../util/torchvision.js";

export class FeaturePyramidNetwork {
  /** Keyed by torchvision's state-dict key relative to the FPN module. */
  readonly variables = new Map<string, tf.Variable>();

  constructor(
    readonly inChannelsList: readonly number[],
    readonly outChannels: number,
    readonly extraMaxPool: boolean,
    seed: number,
    namePrefix = "",
  ) {
    inChannelsList.forEach((inChannels, i) => {
      this.addConv(`inner_blocks.${i}.0`, 1, inChannels, seed, namePrefix);
      this.addConv(`layer_blocks.${i}.0`, 3, outChannels, seed, namePrefix);
    });
  }

  /** torchvision's init: `kaiming_uniform_(weight, a=1)`, i.e. U(±√(3 / fan_in)), and zero bias. */
  private addConv(module: string, kernel: number, inChannels: number, seed: number, namePrefix: string): void {
    const bound = Math.sqrt(3 / (inChannels * kernel * kernel));
    const weight = `${module}.weight`;
    const initial = {
      [weight]: tf.randomUniform([kernel, kernel, inChannels, this.outChannels], -bound, bound, "float32", (seed ^ hashKey(weight)) >>> 0),
      [`${module}.bias`]: tf.zeros([this.outChannels]),
    };
    for (const [key, value] of Object.entries(initial)) {
      this.variables.set(key, tf.variable(value, true, `${namePrefix}${key}`));
      value.dispose();
    }
  }

  private conv(module: string, x: tf.Tensor4D): tf.Tensor4D {
    const weight = this.variables.get(`${module}.weight`) as tf.Variable<tf.Rank.R4>;
    return add(denseConv2d(x, weight, [1, 1], "same", [1, 1]), this.variables.get(`${module}.bias`)!) as tf.Tensor4D;
  }

  /**
   * Maps in increasing stride, named (torchvision keeps the input dict's names), to the pyramid: the
   * same names, `outChannels` each, plus `pool` with the extra max-pool level.
   */
  apply(features: ReadonlyMap<string, tf.Tensor4D>): Map<string, tf.Tensor4D> {
    const names = [...features.keys()];
    const maps = [...features.values()];
    if (maps.length !== this.inChannelsList.length) {
      throw new Error(`FeaturePyramidNetwork: ${maps.length} feature maps for ${this.inChannelsList.length} input levels`);
    }
    const outputs = tf.tidy(() => {
      const last = maps.length - 1;
      let lastInner = this.conv(`inner_blocks.${last}.0`, maps[last]!);
      const results = [this.conv(`layer_blocks.${last}.0`, lastInner)];
      for (let i = last - 1; i >= 0; i--) {
        const lateral = this.conv(`inner_blocks.${i}.0`, maps[i]!);
        // F.interpolate(mode="nearest") to the lateral's size reads source floor(dst * in / out), as
        // tfjs does without align corners or half-pixel centres; the ratio here is a power of two, so
        // torch's float32 ratio gives the same pixels.
        const topDown = tf.image.resizeNearestNeighbor(lastInner, [lateral.shape[1], lateral.shape[2]]);
        lastInner = add(lateral, topDown) as tf.Tensor4D;
        results.unshift(this.conv(`layer_blocks.${i}.0`, lastInner));
      }
      if (this.extraMaxPool) results.push(tf.maxPool(results[last]!, 1, 2, "valid"));
      return results;
    });
    return new Map(outputs.map((map, i) => [names[i] ?? POOL_LEVEL, map]));
  }

  dispose(): void {
    this.variables.forEach((variable) => variable.dispose());
  }
}
