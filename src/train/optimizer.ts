/**
 * SGD with momentum and weight decay, with PyTorch's semantics (torch.optim.SGD): the decay is
 * added to the gradient, the momentum buffer starts as the first gradient, and
 * `p ← p − lr · buf`. tfjs's own MomentumOptimizer has no weight decay, hence this one.
 */
import * as tf from "@tensorflow/tfjs";

export class SGD {
  /** Momentum buffers by variable name; part of the checkpoint. */
  readonly buffers = new Map<string, tf.Variable>();

  constructor(
    readonly momentum: number,
    readonly weightDecay: number,
  ) {}

  /** Applies one update; `gradients` are disposed. */
  step(variables: ReadonlyMap<string, tf.Variable>, gradients: tf.NamedTensorMap, lr: number): void {
    for (const [name, gradient] of Object.entries(gradients)) {
      const variable = variables.get(name);
      if (!variable) throw new Error(`gradient for unknown variable ${name}`);
      tf.tidy(() => {
        // Each op is a full pass over a tensor as large as the weight (fc6 of a C4 head: 200 MB):
        // one addN instead of two adds.
        const decay = this.weightDecay > 0 ? [tf.mul(variable, this.weightDecay)] : [];
        let buffer = this.buffers.get(name);
        if (buffer === undefined) {
          buffer = tf.variable(decay.length ? tf.addN([gradient, ...decay]) : gradient, false, `momentum/${name}`);
          this.buffers.set(name, buffer);
        } else {
          buffer.assign(tf.addN([tf.mul(buffer, this.momentum), gradient, ...decay]));
        }
        variable.assign(tf.sub(variable, tf.mul(buffer, lr)));
      });
      gradient.dispose();
    }
  }

  dispose(): void {
    for (const buffer of this.buffers.values()) buffer.dispose();
    this.buffers.clear();
  }
}
