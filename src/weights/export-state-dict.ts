/** A model's variables as the state dict of the equivalent torchvision Faster R-CNN, in either layout. */
import type { FasterRCNN } from "../detection/faster-rcnn.js";
import { layoutKey, type Layout } from "./layouts.js";
import type { NamedTensor } from "./safetensors.js";

/** Every variable in torchvision's tensor layouts, named as `layout` names it; integer counters as torch's int64. */
export async function exportStateDict(model: FasterRCNN, layout: Layout): Promise<Map<string, NamedTensor>> {
  const tensors = new Map<string, NamedTensor>();
  for (const [key, variable] of model.variables()) {
    const name = layoutKey(model.spec, key, layout);
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
