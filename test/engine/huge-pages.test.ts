import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, inject, it } from "vitest";
import { ENGINE_COMMANDS } from "../../src/cli/engine.js";
import { readNativeSetup } from "../../src/engine/doctor.js";
import { describeHugePages, hugePages, hugePagesFactsHere, poolsCpuMemory, type HugePagesFacts } from "../../src/engine/huge-pages.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = inject("cli");
const linux: HugePagesFacts = { platform: "linux", glibc: "2.36", transparentHugePages: "madvise" };

describe("huge pages for the C heap", () => {
  it("are turned on by adding glibc.malloc.hugetlb=1 to GLIBC_TUNABLES, keeping what is there", () => {
    expect(hugePages(linux)).toEqual({ state: "available", tunables: "glibc.malloc.hugetlb=1" });
    expect(hugePages({ ...linux, tunables: "glibc.malloc.arena_max=2" })).toEqual({
      state: "available",
      tunables: "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1",
    });
  });

  it("are on once the tunable is set, or when the kernel gives huge pages to everything", () => {
    expect(hugePages({ ...linux, tunables: "glibc.malloc.hugetlb=1" }).state).toBe("on");
    expect(hugePages({ ...linux, tunables: "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2" }).state).toBe("on");
    expect(hugePages({ ...linux, transparentHugePages: "always" }).state).toBe("on");
  });

  it("stay off, with the reason, where they cannot be had or the user said no", () => {
    const reasonOf = (facts: HugePagesFacts) => {
      const pages = hugePages(facts);
      return pages.state === "off" ? pages.reason : pages.state;
    };
    expect(reasonOf({ ...linux, tunables: "glibc.malloc.hugetlb=0" })).toBe("GLIBC_TUNABLES sets glibc.malloc.hugetlb=0");
    expect(reasonOf({ ...linux, glibc: "2.31" })).toBe("glibc 2.31 predates glibc.malloc.hugetlb (2.35)");
    expect(reasonOf({ ...linux, glibc: "3.0" })).toBe("available");
    expect(reasonOf({ ...linux, glibc: undefined })).toBe("the C library is not glibc");
    expect(reasonOf({ ...linux, transparentHugePages: "never" })).toContain('transparent huge pages are "never"');
    expect(reasonOf({ ...linux, transparentHugePages: undefined })).toContain("transparent huge pages are unknown");
    expect(reasonOf({ platform: "darwin" })).toBe("glibc's huge pages are for Linux, not darwin");
  });

  it("let TensorFlow give memory back: its pool only on 4 KiB pages", () => {
    expect(poolsCpuMemory({ state: "on", how: "GLIBC_TUNABLES=glibc.malloc.hugetlb=1" })).toBe(false);
    expect(poolsCpuMemory({ state: "available", tunables: "glibc.malloc.hugetlb=1" })).toBe(true);
    expect(poolsCpuMemory({ state: "off", reason: "the C library is not glibc" })).toBe(true);
  });

  it("are named in the engine line only when the heap runs without them", () => {
    expect(describeHugePages({ state: "on", how: "GLIBC_TUNABLES=glibc.malloc.hugetlb=1" })).toBeUndefined();
    expect(describeHugePages({ state: "off", reason: "the C library is not glibc" })).toBe("C heap on 4 KiB pages: the C library is not glibc");
    expect(describeHugePages({ state: "available", tunables: "glibc.malloc.hugetlb=1" })).toContain("start with GLIBC_TUNABLES=glibc.malloc.hugetlb=1");
  });

  it("are asked for by every command that starts an engine", () => {
    const commands = join(root, "src/cli/commands");
    const starting = readdirSync(commands)
      .map((file) => readFileSync(join(commands, file), "utf8"))
      .filter((source) => source.includes("startEngine(") || source.includes("collectEngineFacts("))
      .map((source) => /\.command\("([a-z]+)/.exec(source)?.[1]);
    expect(starting.length).toBeGreaterThan(5);
    for (const command of starting) expect(ENGINE_COMMANDS, `${command} starts an engine`).toContain(command);
  });

  it("are on in the native engine the CLI runs: it restarts itself with them, keeping its output", (context) => {
    if (readNativeSetup()?.engine !== "tensorflow") return context.skip("no native engine on this machine");
    const here = hugePages({ ...hugePagesFactsHere(), tunables: undefined });
    if (here.state !== "available") return context.skip(`huge pages are not to be had here: ${JSON.stringify(here)}`);
    const activeDetail = (env: NodeJS.ProcessEnv) => {
      const { GLIBC_TUNABLES: _, ...rest } = process.env;
      const child = spawnSync(process.execPath, [cli, "doctor", "--json"], { cwd: root, encoding: "utf8", env: { ...rest, ...env } });
      expect(child.status, child.stderr).toBe(0);
      const report = JSON.parse(child.stdout) as { engines: { active: boolean; detail: string }[] };
      return report.engines.find((engine) => engine.active)!.detail;
    };
    expect(activeDetail({})).not.toContain("4 KiB pages");
    expect(activeDetail({ GLIBC_TUNABLES: "glibc.malloc.hugetlb=0" })).toContain("C heap on 4 KiB pages: GLIBC_TUNABLES sets glibc.malloc.hugetlb=0");
  });
});
