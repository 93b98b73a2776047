/**
 * The box-regression loss both heads use: `F.smooth_l1_loss(reduction="none")`, which torchvision's
 * `rpn.py` and `roi_heads.py` each call with β = 1/9.
 */
import * as tf from "@tensorflow/tfjs";

/**
 * `0.5·x²/β` below β, `|x| − 0.5·β` above. Written with `minimum` because tfjs cannot
 * differentiate through the comparison a `where` would need.
 */
export function smoothL1(difference: tf.Tensor, beta: number): tf.Tensor {
  const absolute = tf.abs(difference);
  const small = tf.minimum(absolute, beta);
  return tf.add(tf.div(tf.mul(0.5, tf.square(small)), beta), tf.sub(absolute, small));
}
