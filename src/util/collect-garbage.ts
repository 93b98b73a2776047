/**
 * JavaScript's garbage collected now, rather than whenever V8 gets to it. Between loading phases a
 * weights file's bytes (hundreds of MB in an ArrayBuffer, outside V8's heap) and the arrays a model
 * was initialised from are garbage, but V8 weighs such external memory lightly and kept them through
 * inference: ResNet-50 C4 predicting from a 283 MB `.pth` held 546 MB of it (docs/memory.md).
 * Node exposes `gc` only behind `--expose-gc`, a flag that can also be set once running.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | null | undefined;

/** A no-op where the runtime will not expose `gc`: the memory is then freed when V8 gets to it. */
export function collectGarbage(): void {
  if (gc === undefined) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("typeof gc === 'function' ? gc : null") as (() => void) | null;
  }
  gc?.();
}

/**
 * For a loop that drops large buffers as it goes (reading a weights file tensor by tensor): V8
 * would let hundreds of MB of them wait; this collects once `everyBytes` have been dropped.
 */
export function collectGarbageEvery(everyBytes = 64 * 2 ** 20): (droppedBytes: number) => void {
  let dropped = 0;
  return (droppedBytes) => {
    dropped += droppedBytes;
    if (dropped < everyBytes) return;
    collectGarbage();
    dropped = 0;
  };
}
