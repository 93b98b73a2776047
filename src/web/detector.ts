/**
 * `detector.js` of `detc export --format web`: the detector in a web page, built by the same code
 * as in Node (`buildFasterRCNN`, `detect`) from the `model.json` beside it. Bundled with
 * TensorFlow.js and its wasm backend into one ES module, so the folder needs no network.
 *
 *   const det = await loadDetector();
 *   const found = await det.detect(img, { minScore: 0.5 }); // [{ box, label, class, score }]
 */
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import type { DetectorSpec } from "../check/detector-spec.js";
import type { RgbImage } from "../data/dataset.js";
import { detect, type DetectOptions, type LabelledDetection } from "../detection/detect.js";
import { buildFasterRCNN } from "../detection/faster-rcnn.js";
import { restoreVariables } from "../train/restore-variables.js";
import type { NamedTensor } from "../weights/safetensors.js";
import { WEB_MODEL_FORMAT, type WebModelJson } from "./model-json.js";

export type { DetectOptions, LabelledDetection };

/** TensorFlow.js backends bundled here, fastest first on a machine with a GPU. */
export const WEB_BACKENDS = ["webgl", "wasm", "cpu"] as const;
export type WebBackend = (typeof WEB_BACKENDS)[number];

export interface LoadOptions {
  /** The model.json to load (default: the one beside this module). */
  readonly url?: string | URL;
  /** A backend to use instead of the fastest one that starts. */
  readonly backend?: WebBackend;
}

/** What a page can hand to `detect`: anything a canvas can draw, or pixels already read. */
export type ImageSource = CanvasImageSource | ImageData;

export interface Detector {
  /** The TensorFlow.js backend in use: webgl, wasm or cpu. */
  readonly backend: string;
  readonly spec: DetectorSpec;
  /** Detections by decreasing score, boxes in the source's pixels, as `detc predict --json` gives them. */
  detect(source: ImageSource, options?: DetectOptions): Promise<LabelledDetection[]>;
  /** Frees the weights (GPU textures on webgl). */
  dispose(): void;
}

/**
 * A prefix no live TensorFlow.js variable has: variable names are global to the page's engine,
 * which every copy of TensorFlow.js in the page shares (two exported folders loaded in one page).
 */
function freshNamePrefix(): string {
  const names = Object.keys(tf.engine().registeredVariables);
  for (let n = 1; ; n++) if (!names.some((name) => name.startsWith(`detector${n}/`))) return `detector${n}/`;
}

export async function loadDetector(options: LoadOptions = {}): Promise<Detector> {
  const url = new URL(options.url ?? "./model.json", import.meta.url);
  const backend = await startBackend(options.backend);
  const modelJson = await fetchModelJson(url);
  const model = buildFasterRCNN(modelJson.spec, { namePrefix: freshNamePrefix() });
  try {
    restoreVariables(url.pathname.split("/").pop() ?? "model.json", model.variables(), await loadWeights(modelJson, url));
  } catch (error) {
    model.dispose();
    throw error;
  }
  return {
    backend,
    spec: modelJson.spec,
    detect: (source, detectOptions) => detect(model, readPixels(source), detectOptions),
    dispose: () => model.dispose(),
  };
}

/**
 * WebGL drawn in software (SwiftShader, llvmpipe: a machine without a usable GPU) runs this detector
 * several times slower than wasm, so wasm goes first there.
 */
function softwareWebGl(): boolean {
  try {
    const gl = new OffscreenCanvas(1, 1).getContext("webgl2");
    if (!gl) return false;
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension("WEBGL_lose_context")?.loseContext();
    return /swiftshader|llvmpipe|software/i.test(renderer);
  } catch {
    return false;
  }
}

/** The backends to try, fastest first on this machine. */
export function backendOrder(): WebBackend[] {
  return softwareWebGl() ? ["wasm", "webgl", "cpu"] : [...WEB_BACKENDS];
}

async function startBackend(choice: WebBackend | undefined): Promise<string> {
  // The wasm binaries sit beside this module; fetched only if wasm is the backend used.
  setWasmPaths(new URL("./", import.meta.url).href);
  for (const name of choice ? [choice] : backendOrder()) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch {
      // A backend that cannot start here (no WebGL, no WebAssembly): try the next one.
    }
  }
  throw new Error(choice ? `the ${choice} backend does not start in this browser` : "no TensorFlow.js backend starts in this browser");
}

async function fetchModelJson(url: URL): Promise<WebModelJson> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot load ${url.href}: HTTP ${response.status}`);
  const modelJson = (await response.json()) as Partial<WebModelJson>;
  if (modelJson.format !== WEB_MODEL_FORMAT || !modelJson.spec || !modelJson.weightsManifest)
    throw new Error(`${url.href} is not a detector written by \`detc export --format web\``);
  return modelJson as WebModelJson;
}

/** Every tensor of the manifest, fetched from the shards beside model.json and decoded by TensorFlow.js. */
async function loadWeights(modelJson: WebModelJson, url: URL): Promise<Map<string, NamedTensor>> {
  const tensors = await tf.io.loadWeights(modelJson.weightsManifest, new URL("./", url).href);
  const named = new Map<string, NamedTensor>();
  for (const [name, tensor] of Object.entries(tensors)) {
    const data = tensor.dtype === "int32" ? Int32Array.from(await tensor.data()) : Float32Array.from(await tensor.data());
    named.set(name, { dtype: tensor.dtype === "int32" ? "I32" : "F32", shape: tensor.shape, data });
    tensor.dispose();
  }
  return named;
}

/** `instanceof` that also works in a worker, where DOM element classes do not exist. */
const isA = <T>(source: unknown, name: string): source is T => {
  const constructor = (globalThis as Record<string, unknown>)[name];
  return typeof constructor === "function" && source instanceof constructor;
};

function sizeOf(source: CanvasImageSource): { width: number; height: number } {
  if (isA<HTMLImageElement>(source, "HTMLImageElement")) return { width: source.naturalWidth, height: source.naturalHeight };
  if (isA<HTMLVideoElement>(source, "HTMLVideoElement")) return { width: source.videoWidth, height: source.videoHeight };
  if (isA<SVGImageElement>(source, "SVGImageElement")) return { width: source.width.baseVal.value, height: source.height.baseVal.value };
  if (isA<VideoFrame>(source, "VideoFrame")) return { width: source.displayWidth, height: source.displayHeight };
  return source as HTMLCanvasElement | ImageBitmap | OffscreenCanvas;
}

/**
 * The source as 8-bit RGB, as `detc predict` decodes a file: upright (browsers apply EXIF
 * orientation when drawing) and transparency composited on white.
 */
function readPixels(source: ImageSource): RgbImage {
  const rgba = isA<ImageData>(source, "ImageData") ? source : drawnPixels(source as CanvasImageSource);
  const rgb = new Uint8Array(rgba.width * rgba.height * 3);
  for (let pixel = 0; pixel < rgba.width * rgba.height; pixel++) {
    const alpha = (rgba.data[pixel * 4 + 3] ?? 255) / 255;
    for (let channel = 0; channel < 3; channel++)
      rgb[pixel * 3 + channel] = Math.round((rgba.data[pixel * 4 + channel] ?? 0) * alpha + 255 * (1 - alpha));
  }
  return { width: rgba.width, height: rgba.height, data: rgb };
}

function drawnPixels(source: CanvasImageSource): ImageData {
  const { width, height } = sizeOf(source);
  if (width === 0 || height === 0) throw new Error("the image has no pixels yet (not loaded, or a video without a frame)");
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (!context) throw new Error("this browser gives no 2D canvas to read the image's pixels");
  context.drawImage(source, 0, 0, width, height);
  return context.getImageData(0, 0, width, height);
}
