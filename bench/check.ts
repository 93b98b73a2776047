/**
 * Cold `detc check examples/*.det` (a fresh process each time, as a user runs it) against the way
 * users learn the same numbers today: build the torchvision models and run a dummy forward
 * (bench/torchvision_way.py with Debian's /usr/bin/python3). Prints medians and the ratio.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const examples = readdirSync(`${root}/examples`)
  .filter((f) => /^(vgg16_bn|resnet50|efficientnet_b0|mobilenet_v3_large_fpn|efficientnet_b0_fpn)\.det$/.test(f))
  .map((f) => `examples/${f}`);

function median(command: string, args: string[], runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const result = spawnSync(command, args, { cwd: root, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed:\n${result.stderr}`);
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

export function benchCheck(): string[] {
  const lines: string[] = [];
  const node = median(process.execPath, ["-e", "0"], 5);
  const detc = median(process.execPath, ["dist/detc.js", "check", ...examples], 7);
  lines.push(`node start-up (empty script)          ${node.toFixed(0).padStart(7)} ms`);
  lines.push(`detc check (5 seed examples, cold)    ${detc.toFixed(0).padStart(7)} ms`);
  const python = "/usr/bin/python3";
  const hasTorchvision = existsSync(python) && spawnSync(python, ["-c", "import torchvision"]).status === 0;
  if (!hasTorchvision) {
    lines.push("torchvision baseline skipped: `apt-get install -y python3-torchvision` to measure it");
    return lines;
  }
  const torch = median(python, ["bench/torchvision_way.py"], 3);
  lines.push(`torchvision: build + dummy forward    ${torch.toFixed(0).padStart(7)} ms`);
  lines.push(`ratio (torchvision / detc)            ${(torch / detc).toFixed(1).padStart(7)} ×`);
  return lines;
}
