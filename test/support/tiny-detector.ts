/** The smallest detector that trains in tests: resnet18 cut at layer2, 64-px input, tiny heads. */

/** Its spec text, with `backbone` (e.g. `trainable 2`) and `train` settings added. */
export function tinyDetectorSource({ backbone = "", train }: { backbone?: string; train: string }): string {
  return `detector tiny
backbone resnet18${backbone ? ` ${backbone}` : ""}
tap layer2
anchors sizes (16, 32) ratios 1.0
roi align 3 sampling 1
classes "circle", "square", "triangle", "cross"
input 64
rpn pre_nms_top_n_train 50 post_nms_top_n_train 30 pre_nms_top_n_test 30 post_nms_top_n_test 10
box batch_size_per_image 16 representation_size 32
train ${train}
`;
}
