/** `fastrcnnLoss` against torchvision's `fastrcnn_loss` (make_detection_goldens.py). */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { fastrcnnLoss } from "../../src/detection/roi-heads.js";
import { BACKENDS, golden, useBackend } from "./support.js";

interface LossCase {
  classLogits: number[][];
  boxRegression: number[][];
  labels: number[];
  regressionTargets: number[][];
  lossClassifier: number;
  lossBoxReg: number;
}

describe.each(BACKENDS)("fastrcnnLoss on %s", (backend) => {
  beforeAll(() => useBackend(backend));

  it("equals torchvision's fastrcnn_loss, smooth L1 on both sides of beta included", () => {
    const l = golden<LossCase>("fastrcnn_loss");
    const inputs = [tf.tensor2d(l.classLogits), tf.tensor2d(l.boxRegression), tf.tensor1d(l.labels, "int32"), tf.tensor2d(l.regressionTargets)] as const;
    const { lossClassifier, lossBoxReg } = fastrcnnLoss(...inputs);
    expect(lossClassifier.dataSync()[0]).toBeCloseTo(l.lossClassifier, 5);
    expect(lossBoxReg.dataSync()[0]).toBeCloseTo(l.lossBoxReg, 6);
    tf.dispose([...inputs, lossClassifier, lossBoxReg]);
  });
});
