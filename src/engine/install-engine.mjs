#!/usr/bin/env node
// @ts-check
/**
 * postinstall: gives detc the fastest TensorFlow.js engine this machine allows.
 *
 * `@tensorflow/tfjs-node` is an optional dependency whose own install script is denied in
 * package.json#allowScripts, so this script is its only builder and can fall back:
 *   1. already set up in this node_modules                  → nothing to do
 *   2. a native build cached by an earlier run              → link it in (no network)
 *   3. tfjs-node's own install script (downloads libtensorflow 2.9.1; online machines)
 *   4. TensorFlow's pip wheel (`pip download`, so a PyPI mirror works): its C library
 *      and headers, with the addon built by node-gyp; the result is cached for step 2
 *   5. otherwise the WASM engine stays the default.
 * Every native result is loaded in a child process before it is accepted. The install never
 * fails because of this script: it always exits 0, with one line saying what it did.
 *
 * Environment: DETC_SKIP_NATIVE_ENGINE=1 skips all of it; DETC_CACHE_DIR moves the cache
 * (default ~/.cache/detc); DETC_TENSORFLOW_WHEEL overrides the pip requirement.
 */
import { spawnSync } from "node:child_process";
import {
  constants, copyFileSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync,
  readFileSync, renameSync, rmSync, symlinkSync, writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { basename, delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const projectRoot = fileURLToPath(new URL("../..", import.meta.url));
const startedAt = Date.now();

/** The C API tfjs-node 4.x is written against is TF 2.9's; later 2.x releases keep it. */
const wheelRequirement = process.env.DETC_TENSORFLOW_WHEEL ?? "tensorflow-cpu>=2.9,<3";
const cacheRoot = process.env.DETC_CACHE_DIR
  ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "detc");
/** Libraries the addon needs from a wheel, and how tfjs-node's binding.gyp (-ltensorflow) and
 * install script (libtensorflow.so.2.9.1 present → no download) expect to find them. */
const wheelLibraries = ["libtensorflow_cc.so.2", "libtensorflow_framework.so.2"];
const libraryAliases = {
  "libtensorflow.so": "libtensorflow_cc.so.2",
  "libtensorflow_framework.so": "libtensorflow_framework.so.2",
  "libtensorflow.so.2.9.1": "libtensorflow_cc.so.2",
};
/** @param {number} n */
const minutes = (n) => n * 60_000;

/**
 * @typedef {{ dir: string, version: string, binding: string, nodePreGypBin: string, libDir: string }} TfjsNode
 *   Where tfjs-node lives and where its native addon and libraries go.
 * @typedef {{ dir: string, wheel: string, version: string }} WheelLibrary
 *   A TensorFlow wheel's libraries and headers, extracted into the cache.
 * @typedef {{ how: string, tensorflow?: string }} Outcome
 * @typedef {{ engine: string, tensorflow?: string, how: string, at: string }} EngineStatus
 */

class StepFailed extends Error {}

/** @param {unknown} error */
const messageOf = (error) => (error instanceof Error ? error.message : String(error));

/** @param {string} message */
function say(message) {
  console.log(`detc engine: ${message}`);
}

/**
 * Prints the one-line outcome and exits 0; with `record`, keeps it in tfjs-node's
 * deps/detc-engine.json for the next run and for `detc doctor` (src/engine/doctor.ts reads it).
 * A native engine also gets its memory helper (see {@link buildMemoryHelper}).
 * @param {"tensorflow" | "wasm"} engine
 * @param {Outcome} outcome
 * @param {TfjsNode} [tfjsNode]
 * @param {boolean} [record]
 * @returns {never}
 */
function finish(engine, { how, tensorflow }, tfjsNode, record = true) {
  if (tfjsNode && record) writeStatus(tfjsNode, { engine, tensorflow, how, at: new Date().toISOString() });
  const pages = engine === "tensorflow" && tfjsNode ? `; ${buildMemoryHelper(tfjsNode)}` : "";
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  const hint = engine === "tensorflow" ? "" : " — `detc doctor` lists the fixes";
  say(`${engine} (${tensorflow ? `TensorFlow ${tensorflow}, ` : ""}${how}${pages}) [${seconds} s]${hint}`);
  process.exit(0);
}

/**
 * The line of a failed tool's output that says why: its first error message, else its last line.
 * @param {unknown} output
 */
function explain(output) {
  const lines = String(output ?? "").split("\n").map((line) => line.trim())
    .filter((line) => line && !/^(at |Node\.js v|(node-pre-)?gyp (info|ERR!|WARN))/.test(line));
  return lines.find((line) => /(^|\s)(\w*Error|ERROR|error):/.test(line)) ?? lines.at(-1) ?? "no output";
}

/** @param {string} text */
const lastLine = (text) => String(text).trim().split("\n").at(-1);

/**
 * @param {string} command
 * @param {string[]} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, timeout: number }} options
 */
function run(command, args, { cwd = projectRoot, env = process.env, timeout }) {
  const result = spawnSync(command, args, { cwd, env, timeout, encoding: "utf8", maxBuffer: 64 << 20 });
  if (result.error) {
    /** @type {Record<string, string>} */
    const reasons = { ETIMEDOUT: `timed out after ${timeout / 1000} s`, ENOENT: "not found" };
    const code = /** @type {NodeJS.ErrnoException} */ (result.error).code;
    const why = code === undefined ? undefined : reasons[code];
    throw new StepFailed(`${basename(command)} ${why ?? result.error.message}`);
  }
  if (result.status !== 0) throw new StepFailed(explain(`${result.stdout}\n${result.stderr}`));
  return result.stdout;
}

// ---------------------------------------------------------------------------------------------
// tfjs-node's layout

/** @returns {TfjsNode | null} */
function locateTfjsNode() {
  try {
    const requireFromRoot = createRequire(join(projectRoot, "package.json"));
    const dir = dirname(requireFromRoot.resolve("@tensorflow/tfjs-node/package.json"));
    const requireFromTfjsNode = createRequire(join(dir, "package.json"));
    const nodePreGyp = requireFromTfjsNode("@mapbox/node-pre-gyp");
    return {
      dir,
      version: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version,
      binding: nodePreGyp.find(join(dir, "package.json")),
      nodePreGypBin: requireFromTfjsNode.resolve("@mapbox/node-pre-gyp/bin/node-pre-gyp"),
      libDir: join(dir, "deps", "lib"),
    };
  } catch {
    return null;
  }
}

/** @param {TfjsNode} tfjsNode */
const statusFile = (tfjsNode) => join(tfjsNode.dir, "deps", "detc-engine.json");

/**
 * @param {TfjsNode} tfjsNode
 * @returns {EngineStatus | null}
 */
function readStatus(tfjsNode) {
  try {
    return JSON.parse(readFileSync(statusFile(tfjsNode), "utf8"));
  } catch {
    return null;
  }
}

/**
 * @param {TfjsNode} tfjsNode
 * @param {EngineStatus} status
 */
function writeStatus(tfjsNode, status) {
  mkdirSync(dirname(statusFile(tfjsNode)), { recursive: true });
  writeFileSync(statusFile(tfjsNode), `${JSON.stringify(status, null, 2)}\n`);
}

/**
 * Removes every trace of a native build so tfjs-node fails fast and WASM is chosen.
 * @param {TfjsNode} tfjsNode
 */
function clearNativeBuild(tfjsNode) {
  const buildDirs = readdirSync(tfjsNode.dir).filter((name) => /^build(-tmp-napi-v\d+)?$/.test(name));
  for (const dir of ["deps", "lib", ...buildDirs]) rmSync(join(tfjsNode.dir, dir), { recursive: true, force: true });
}

/**
 * Loads tfjs-node in a child process and runs one op. LD_BIND_NOW resolves every C API symbol
 * at load time, so a libtensorflow missing a function the addon calls is rejected here rather
 * than crashing a training run later. Returns the TensorFlow version.
 * @param {TfjsNode} tfjsNode
 */
function probeNativeEngine(tfjsNode) {
  const check = `
    const tf = require(${JSON.stringify(tfjsNode.dir)});
    if (tf.getBackend() !== "tensorflow") throw new Error("backend is " + tf.getBackend());
    const sum = tf.tensor([1, 2, 3]).square().sum().dataSync()[0];
    if (sum !== 14) throw new Error("wrong result " + sum);
    console.log(tf.backend().binding.TF_Version);`;
  const env = { ...process.env, LD_BIND_NOW: "1", TF_CPP_MIN_LOG_LEVEL: "2" };
  return lastLine(run(process.execPath, ["-e", check], { env, timeout: minutes(2) }));
}

// ---------------------------------------------------------------------------------------------
// steps

/**
 * Cached wheel extractions, newest TensorFlow first.
 * @returns {WheelLibrary[]}
 */
function cachedLibraries() {
  if (!existsSync(cacheRoot)) return [];
  return readdirSync(cacheRoot)
    .filter((name) => existsSync(join(cacheRoot, name, "ready.json")))
    .map((name) => ({ dir: join(cacheRoot, name), ...JSON.parse(readFileSync(join(cacheRoot, name, "ready.json"), "utf8")) }))
    .sort((a, b) => b.version.localeCompare(a.version, undefined, { numeric: true }));
}

/**
 * Where a built addon is cached: it depends on the tfjs-node sources, N-API level and platform.
 * @param {WheelLibrary} library
 * @param {TfjsNode} tfjsNode
 */
function cachedAddonPath(library, tfjsNode) {
  const key = `tfjs-node-${tfjsNode.version}-${basename(dirname(tfjsNode.binding))}-${process.platform}-${process.arch}`;
  return join(library.dir, "addons", key, basename(tfjsNode.binding));
}

/**
 * Hard links (same disk: instant, no extra space; the cache may be deleted later), else copies.
 * @param {string} source
 * @param {string} target
 */
function placeFile(source, target) {
  rmSync(target, { force: true });
  try {
    linkSync(source, target);
  } catch {
    copyFileSync(source, target, constants.COPYFILE_FICLONE);
  }
}

/**
 * @param {WheelLibrary} library
 * @param {TfjsNode} tfjsNode
 */
function placeLibrary(library, tfjsNode) {
  clearNativeBuild(tfjsNode);
  mkdirSync(tfjsNode.libDir, { recursive: true });
  for (const file of wheelLibraries) placeFile(join(library.dir, "lib", file), join(tfjsNode.libDir, file));
  for (const [alias, target] of Object.entries(libraryAliases)) symlinkSync(target, join(tfjsNode.libDir, alias));
  cpSync(join(library.dir, "include"), join(tfjsNode.dir, "deps", "include"), { recursive: true });
}

/**
 * @param {TfjsNode} tfjsNode
 * @returns {Outcome | null}
 */
function restoreCachedBuild(tfjsNode) {
  if (process.platform !== "linux") return null;
  for (const library of cachedLibraries()) {
    const addon = cachedAddonPath(library, tfjsNode);
    if (!existsSync(addon)) continue;
    try {
      placeLibrary(library, tfjsNode);
      mkdirSync(dirname(tfjsNode.binding), { recursive: true });
      copyFileSync(addon, tfjsNode.binding);
      return { tensorflow: probeNativeEngine(tfjsNode), how: `pip wheel ${library.wheel}, addon restored from ${library.dir}` };
    } catch (error) {
      say(`cached build in ${library.dir} did not load (${messageOf(error)}); trying the next option`);
      clearNativeBuild(tfjsNode);
    }
  }
  return null;
}

/** @param {TfjsNode} tfjsNode */
function withPackageBins(tfjsNode) {
  const bins = [join(tfjsNode.dir, "node_modules", ".bin"), join(projectRoot, "node_modules", ".bin")];
  return { ...process.env, PATH: [...bins, process.env.PATH].join(delimiter) };
}

/**
 * @param {TfjsNode} tfjsNode
 * @returns {Outcome}
 */
function runTfjsNodeInstaller(tfjsNode) {
  say("trying @tensorflow/tfjs-node's own installer (downloads libtensorflow 2.9.1)…");
  try {
    run(process.execPath, ["scripts/install.js"], { cwd: tfjsNode.dir, env: withPackageBins(tfjsNode), timeout: minutes(15) });
    return { tensorflow: probeNativeEngine(tfjsNode), how: "libtensorflow downloaded by @tensorflow/tfjs-node's installer" };
  } catch (error) {
    clearNativeBuild(tfjsNode);
    throw new StepFailed(`libtensorflow download: ${messageOf(error)}`);
  }
}

/** Unpacks the two shared libraries and only the headers the addon's sources include (a few
 * dozen of the wheel's 13 000), following #include lines from those sources. */
const extractFromWheel = String.raw`
import json, os, re, shutil, sys, zipfile
wheel, dest, libraries, roots = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
archive = zipfile.ZipFile(wheel)
names = set(archive.namelist())
def extract(member, target):
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with archive.open(member) as source, open(target, "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
for library in libraries:
    member = "tensorflow/" + library
    if member not in names:
        sys.exit("the wheel has no " + member)
    extract(member, os.path.join(dest, "lib", library))
pending, headers = list(roots), set()
while pending:
    header = pending.pop()
    member = "tensorflow/include/" + header
    if header in headers or member not in names:
        continue
    headers.add(header)
    pending += re.findall(r'#\s*include\s*"([^"]+)"', archive.read(member).decode("utf8", "replace"))
if not roots or not all(root in headers for root in roots):
    sys.exit("the wheel lacks C API headers: " + ", ".join(r for r in roots if r not in headers))
for header in headers:
    extract("tensorflow/include/" + header, os.path.join(dest, "include", header))
print(len(headers))
`;

/** @param {TfjsNode} tfjsNode */
function bindingIncludes(tfjsNode) {
  const sources = readdirSync(join(tfjsNode.dir, "binding")).map((file) => readFileSync(join(tfjsNode.dir, "binding", file), "utf8"));
  return [...new Set(sources.flatMap((text) => [...text.matchAll(/#include "(tensorflow\/[^"]+)"/g)].map((m) => m[1])))];
}

/**
 * `pip download`s the wheel into a scratch folder, keeps only what the addon needs.
 * @param {TfjsNode} tfjsNode
 * @returns {WheelLibrary}
 */
function fetchWheelLibrary(tfjsNode) {
  mkdirSync(cacheRoot, { recursive: true });
  const scratch = mkdtempSync(join(cacheRoot, "download-"));
  try {
    say(`downloading ${wheelRequirement} with pip into ${cacheRoot} (about 270 MB, once per machine)…`);
    run("python3", ["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--progress-bar=off",
      "--disable-pip-version-check", "--quiet", "--dest", scratch, wheelRequirement], { timeout: minutes(20) });
    const wheel = readdirSync(scratch).find((file) => file.endsWith(".whl"));
    if (!wheel) throw new StepFailed("pip downloaded no wheel");
    const [distribution, version] = wheel.split("-");
    if (!distribution || !version) throw new StepFailed(`pip downloaded a wheel named out of the standard: ${wheel}`);
    const staged = join(scratch, "extracted");
    run("python3", ["-c", extractFromWheel, join(scratch, wheel), staged, JSON.stringify(wheelLibraries),
      JSON.stringify(bindingIncludes(tfjsNode))], { timeout: minutes(10) });
    const library = { wheel, version, dir: join(cacheRoot, `${distribution}-${version}`) };
    writeFileSync(join(staged, "ready.json"), `${JSON.stringify({ wheel, version }, null, 2)}\n`);
    rmSync(library.dir, { recursive: true, force: true });
    renameSync(staged, library.dir);
    return library;
  } catch (error) {
    throw new StepFailed(`pip wheel: ${messageOf(error)}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** node-gyp needs Node's headers; use the ones installed beside this node rather than download. */
function nodeHeadersArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, "include", "node", "node_api.h")) ? [`--nodedir=${prefix}`] : [];
}

/**
 * @param {TfjsNode} tfjsNode
 * @returns {Outcome}
 */
function buildAgainstWheel(tfjsNode) {
  if (process.platform !== "linux") throw new StepFailed(`pip wheel: only wired for Linux, not ${process.platform}`);
  const library = cachedLibraries()[0] ?? fetchWheelLibrary(tfjsNode);
  say(`building the tfjs-node addon against TensorFlow ${library.version} with node-gyp…`);
  try {
    placeLibrary(library, tfjsNode);
    run(process.execPath, [tfjsNode.nodePreGypBin, "install", "--build-from-source", ...nodeHeadersArgs()], {
      cwd: tfjsNode.dir, env: { ...withPackageBins(tfjsNode), JOBS: "max" }, timeout: minutes(10),
    });
    const tensorflow = probeNativeEngine(tfjsNode);
    const cached = cachedAddonPath(library, tfjsNode);
    mkdirSync(dirname(cached), { recursive: true });
    copyFileSync(tfjsNode.binding, `${cached}.partial`);
    renameSync(`${cached}.partial`, cached);
    return { tensorflow, how: `pip wheel ${library.wheel}, addon built with node-gyp and cached in ${library.dir}` };
  } catch (error) {
    clearNativeBuild(tfjsNode);
    throw new StepFailed(`addon build against ${library.wheel}: ${messageOf(error)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// the memory helper

/** Where the engine finds the addon (src/engine/memory-helper.ts looks in the same place). */
const memoryHelperPath = (/** @type {TfjsNode} */ tfjsNode) => join(tfjsNode.dir, "deps", "detc-memory-helper.node");

/** Node's own headers, which are all a Node-API addon compiles against. */
function nodeHeadersDir() {
  const prefixes = [process.env.npm_config_nodedir, dirname(dirname(process.execPath)),
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "node-gyp", process.versions.node)];
  for (const prefix of prefixes) {
    if (prefix && existsSync(join(prefix, "include", "node", "node_api.h"))) return join(prefix, "include", "node");
  }
  throw new StepFailed(`Node's headers (node_api.h) are in none of ${prefixes.filter(Boolean).join(", ")}`);
}

/**
 * Whether the addon at `target` has every function detc calls: one built from an earlier source is rebuilt.
 * @param {string} target
 */
function isCurrentMemoryHelper(target) {
  try {
    const helper = createRequire(import.meta.url)(target);
    return ["releaseFilePages", "startReleasingCode", "stopReleasingCode", "restartWithEnvironment"].every((name) => typeof helper[name] === "function");
  } catch {
    return false;
  }
}

/**
 * Builds src/engine/native/memory-helper.c, which lets the engine hand back the ~250 MB of
 * libtensorflow that only loading reads and the CLI restart itself with huge pages, and tries it
 * in a child process that loads tfjs-node as the engine does (releasing code pages while it loads,
 * all of them after), runs an op, and restarts as a shell that checks the environment it got.
 * Never fails the install: says what happened, for the install line.
 * @param {TfjsNode} tfjsNode
 */
function buildMemoryHelper(tfjsNode) {
  const target = memoryHelperPath(tfjsNode);
  const released = "memory helper: start-up pages released while and after loading, huge pages for the CLI";
  if (existsSync(target) && isCurrentMemoryHelper(target)) return released;
  const partial = target.replace(/\.node$/, ".partial.node");
  try {
    if (process.platform !== "linux") throw new StepFailed(`Linux only, not ${process.platform}`);
    const source = join(projectRoot, "src", "engine", "native", "memory-helper.c");
    // -pthread: the release thread (part of libc since glibc 2.34, libpthread before).
    run(process.env.CC ?? "cc", ["-O2", "-shared", "-fPIC", "-pthread", `-I${nodeHeadersDir()}`, source, "-o", partial], { timeout: minutes(1) });
    const check = `
      const helper = require(${JSON.stringify(partial)});
      helper.startReleasingCode("libtensorflow");
      let tf;
      try { tf = require(${JSON.stringify(tfjsNode.dir)}); } finally { helper.stopReleasingCode(); }
      if (!(helper.releaseFilePages("libtensorflow") > 0)) throw new Error("no libtensorflow mapping found");
      const sum = tf.tensor([1, 2, 3]).square().sum().dataSync()[0];
      if (sum !== 14) throw new Error("wrong result " + sum);
      helper.restartWithEnvironment("/bin/sh", ["sh", "-c", 'test "$DETC_RESTARTED" = yes'], ["DETC_RESTARTED=yes"]);`;
    run(process.execPath, ["-e", check], { env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2" }, timeout: minutes(2) });
    renameSync(partial, target);
    return released;
  } catch (error) {
    rmSync(partial, { force: true });
    if (!(error instanceof StepFailed)) throw error;
    return `start-up pages stay resident (about 250 MB more memory) and no huge pages: the memory helper did not build: ${error.message}`;
  }
}

// ---------------------------------------------------------------------------------------------

function main() {
  if (process.env.DETC_SKIP_NATIVE_ENGINE === "1") finish("wasm", { how: "DETC_SKIP_NATIVE_ENGINE=1: native engine not set up" });
  const tfjsNode = locateTfjsNode();
  if (!tfjsNode) finish("wasm", {
    how: "@tensorflow/tfjs-node is not installed (left out as optional, or dropped by an npm that ignores allowScripts, such as npm 10, after its own download failed)",
  });

  // A finished run, success or not, is not redone on every `npm install`; --retry starts over.
  if (process.argv.includes("--retry")) clearNativeBuild(tfjsNode);
  const previous = readStatus(tfjsNode);
  if (previous?.engine === "tensorflow" && existsSync(tfjsNode.binding)) finish("tensorflow", { ...previous, how: `already set up: ${previous.how}` }, tfjsNode, false);
  if (previous?.engine === "wasm") {
    finish("wasm", { how: `as decided at ${previous.at}: ${previous.how}; \`node ${fileURLToPath(import.meta.url)} --retry\` tries again` });
  }

  if (existsSync(tfjsNode.binding)) {
    try {
      const tensorflow = probeNativeEngine(tfjsNode);
      finish("tensorflow", { tensorflow, how: "installed by @tensorflow/tfjs-node's own install script" }, tfjsNode);
    } catch {
      clearNativeBuild(tfjsNode);
    }
  }
  const restored = restoreCachedBuild(tfjsNode);
  if (restored) finish("tensorflow", restored, tfjsNode);

  /** @type {string[]} */
  const failures = [];
  for (const step of [runTfjsNodeInstaller, buildAgainstWheel]) {
    try {
      finish("tensorflow", step(tfjsNode), tfjsNode);
    } catch (error) {
      if (!(error instanceof StepFailed)) throw error;
      failures.push(error.message);
      say(error.message);
    }
  }
  finish("wasm", { how: `no native engine: ${failures.join("; ")}` }, tfjsNode);
}

try {
  main();
} catch (error) {
  say(`wasm (engine set-up stopped: ${messageOf(error)})`);
  process.exit(0);
}
