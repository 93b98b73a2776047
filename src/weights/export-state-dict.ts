/** A model's variables as the state dict of the equivalent torchvision Faster R-CNN. */
import type { FasterRCNN } from "../detection/faster-rcnn.js";
import type { NamedTensor } from "./safetensors.js";
import { torchvisionKey } from "./torchvision-keys.js";

/** Every variable in torchvision's layout; integer counters as torch's int64. */
export async function exportStateDict(model: FasterRCNN): Promise<Map<string, NamedTensor>> {
  const tensors = new Map<string, NamedTensor>();
  for (const [key, variable] of model.variables()) {
    const name = torchvisionKey(model.spec, key);
    if (variable.dtype === "int32") {
      const values = await variable.data<"int32">();
      tensors.set(name, { dtype: "I64", shape: variable.shape, data: BigInt64Array.from(values, (value) => BigInt(value)) });
      continue;
    }
    const torchLayout = model.toTorchLayout(key, variable);
    const values = await torchLayout.data<"float32">();
    tensors.set(name, { dtype: "F32", shape: torchLayout.shape, data: Float32Array.from(values) });
    torchLayout.dispose();
  }
  return tensors;
}
