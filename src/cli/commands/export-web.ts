/**
 * `detc export FILE --weights CKPT --format web -o DIR`: a folder any static server can serve,
 * with no network needed: `detector.js` (the detection code and TensorFlow.js, built by
 * `npm run build` into `dist/web/`), the wasm backend's binaries, the demo page `index.html`, and
 * the weights as TensorFlow.js's sharded `model.json` + `.bin` (src/web/model-json.ts).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DetectorSpec } from "../../check/detector-spec.js";
import type { FasterRCNN } from "../../detection/faster-rcnn.js";
import { writeFileAtomically } from "../../util/durable-file.js";
import { encodeWebModel, WEB_MODEL_FORMAT, type WebDtype } from "../../web/model-json.js";
import type { NamedTensor } from "../../weights/safetensors.js";
import { UsageError } from "../io.js";

/**
 * `dist/web/` of this package, beside the CLI bundle (`dist/detc.js`, `dist/chunks/…`): every file
 * in it is copied (src/build.ts decides what they are).
 */
function builtWebFolder(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    for (const candidate of [join(dir, "web"), join(dir, "dist", "web")]) if (existsSync(join(candidate, "detector.js"))) return candidate;
    if (dirname(dir) === dir) throw new UsageError("the web detector is not built: run `npm run build` in detc's folder");
  }
}

/**
 * Makes `out` ready before the model is loaded, so a wrong -o fails at once: a new or empty folder,
 * or an earlier web export (whose shards are removed, to be replaced). Returns the built files' folder.
 */
export function prepareWebFolder(out: string): string {
  const built = builtWebFolder();
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) throw new UsageError(`-o ${out}: it is a file; --format web writes a folder`);
    const entries = readdirSync(out);
    const earlierExport = entries.includes("model.json") && readFileSync(join(out, "model.json"), "utf8").includes(`"format":"${WEB_MODEL_FORMAT}"`);
    if (entries.length > 0 && !earlierExport)
      throw new UsageError(`-o ${out}: the folder holds other files; give a new or empty folder, or an earlier web export to replace`);
    for (const entry of entries) if (/^group\d+-shard\d+of\d+\.bin$/.test(entry)) rmSync(join(out, entry));
  }
  mkdirSync(out, { recursive: true });
  return built;
}

async function variableTensors(model: FasterRCNN): Promise<Map<string, NamedTensor>> {
  const tensors = new Map<string, NamedTensor>();
  for (const [name, variable] of model.variables()) {
    const data = await variable.data();
    tensors.set(name, variable.dtype === "int32" ? { dtype: "I32", shape: variable.shape, data: Int32Array.from(data as Int32Array) } : { dtype: "F32", shape: variable.shape, data: Float32Array.from(data as Float32Array) });
  }
  return tensors;
}

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Writes the folder `prepareWebFolder` made ready; returns the lines `detc export` prints. */
export async function exportWeb(model: FasterRCNN, spec: DetectorSpec, out: string, built: string, dtype: WebDtype): Promise<string> {
  const { modelJson, shards } = encodeWebModel(spec, await variableTensors(model), dtype);
  for (const shard of shards) writeFileAtomically(join(out, shard.file), shard.bytes);
  writeFileAtomically(join(out, "model.json"), new TextEncoder().encode(JSON.stringify(modelJson)));
  const assets = readdirSync(built);
  for (const asset of assets) copyFileSync(join(built, asset), join(out, asset));
  const size = (file: string) => statSync(join(out, file)).size;
  const weights = shards.reduce((sum, shard) => sum + shard.bytes.length, 0);
  const wasm = assets.filter((asset) => asset.endsWith(".wasm"));
  return (
    `wrote ${out}/: detector.js (${megabytes(size("detector.js"))}), weights ${megabytes(weights)} ${dtype} in ${shards.length} shard${shards.length === 1 ? "" : "s"}, ` +
    `index.html, wasm backend (${wasm.length} builds of up to ${megabytes(Math.max(...wasm.map(size)))}; a page fetches one, only on that backend)\n` +
    `open the demo through any static server, e.g. \`python3 -m http.server -d ${out} 8000\`, then http://localhost:8000/\n`
  );
}
