/**
 * Transparent huge pages for the C heap of a process that runs the native engine.
 *
 * TensorFlow's oneDNN convolutions copy their weights into a blocked layout on every call, into a
 * buffer from glibc's malloc rather than TensorFlow's pooled allocator. A buffer past glibc's mmap
 * threshold is mapped afresh each time, and Linux faults it in 4 KiB at a time. Where a fault is
 * dear (in a VM: fresh memory filled at 0.5 GB/s against 46 GB/s once touched) that copy took 60 ms
 * of the 213 ms of ResNet-50's RPN-head convolution (1024 channels). glibc 2.35 and later ask the
 * kernel for 2 MiB pages on their mappings when GLIBC_TUNABLES holds `glibc.malloc.hugetlb=1`: the
 * copy then takes 12 ms (docs/memory.md). glibc reads its tunables only as a process starts, so the
 * CLI restarts itself with it before anything loads (src/cli/detc.ts).
 */
import { readFileSync } from "node:fs";
import { loadMemoryHelper } from "./memory-helper.js";

export const HUGE_PAGES_TUNABLE = "glibc.malloc.hugetlb";
const TRANSPARENT_HUGE_PAGES = "/sys/kernel/mm/transparent_hugepage/enabled";
/** The first glibc with the tunable. */
const FIRST_GLIBC = [2, 35] as const;

export interface HugePagesFacts {
  readonly platform: NodeJS.Platform;
  /** glibc's version at run time ("2.36"), absent off glibc (musl, macOS). */
  readonly glibc?: string;
  /** The kernel's transparent-huge-page mode (the bracketed word of TRANSPARENT_HUGE_PAGES), absent if unreadable. */
  readonly transparentHugePages?: string;
  /** The process's GLIBC_TUNABLES. */
  readonly tunables?: string;
}

export type HugePages =
  | { readonly state: "on"; readonly how: string }
  /** Starting with GLIBC_TUNABLES set to `tunables` turns them on. */
  | { readonly state: "available"; readonly tunables: string }
  | { readonly state: "off"; readonly reason: string };

/** Whether a process with these facts has its malloc on huge pages, could have, or cannot. */
export function hugePages(facts: HugePagesFacts): HugePages {
  if (facts.platform !== "linux") return { state: "off", reason: `glibc's huge pages are for Linux, not ${facts.platform}` };
  if (!facts.glibc) return { state: "off", reason: "the C library is not glibc" };
  const [major = 0, minor = 0] = facts.glibc.split(".").map(Number);
  if (major < FIRST_GLIBC[0] || (major === FIRST_GLIBC[0] && minor < FIRST_GLIBC[1])) {
    return { state: "off", reason: `glibc ${facts.glibc} predates ${HUGE_PAGES_TUNABLE} (${FIRST_GLIBC.join(".")})` };
  }
  const mode = facts.transparentHugePages;
  if (mode === "always") return { state: "on", how: "the kernel gives every large mapping huge pages (transparent_hugepage: always)" };
  if (mode !== "madvise") return { state: "off", reason: `the kernel's transparent huge pages are ${mode ? `"${mode}"` : "unknown"} (${TRANSPARENT_HUGE_PAGES})` };
  const tunables = facts.tunables ?? "";
  const setting = tunables.split(":").find((entry) => entry.startsWith(`${HUGE_PAGES_TUNABLE}=`));
  if (setting === undefined) return { state: "available", tunables: tunables ? `${tunables}:${HUGE_PAGES_TUNABLE}=1` : `${HUGE_PAGES_TUNABLE}=1` };
  if (setting === `${HUGE_PAGES_TUNABLE}=0`) return { state: "off", reason: `GLIBC_TUNABLES sets ${setting}` };
  return { state: "on", how: `GLIBC_TUNABLES=${setting}` };
}

/**
 * Whether TensorFlow should pool its CPU memory in its best-fit allocator (TF_CPU_ALLOCATOR_USE_BFC).
 * The pool keeps every buffer it ever touched, fragments, and never gives memory back; its default
 * allocator (malloc) maps large tensors afresh and frees them. On 4 KiB pages the faults made that
 * far slower (an SGD update of a 200 MB weight 2.7×), so the pool it is. On huge pages the faults
 * cost little and the default allocator's peak is lower: 0.05–0.2 GiB at 512 px on the training
 * bench's configurations (docs/memory.md#huge-pages), at the same speed.
 */
export function poolsCpuMemory(pages: HugePages): boolean {
  return pages.state !== "on";
}

let factsHere: HugePagesFacts | undefined;

/**
 * This process's facts, gathered once: glibc read GLIBC_TUNABLES when the process started, so a
 * later change to process.env would not change its pages anyway.
 */
export function hugePagesFactsHere(): HugePagesFacts {
  if (factsHere) return factsHere;
  let transparentHugePages: string | undefined;
  try {
    transparentHugePages = /\[(\w+)\]/.exec(readFileSync(TRANSPARENT_HUGE_PAGES, "utf8"))?.[1];
  } catch {
    // no such file: a kernel without transparent huge pages
  }
  const header = process.platform === "linux" ? (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header : undefined;
  factsHere = { platform: process.platform, glibc: header?.glibcVersionRuntime, transparentHugePages, tunables: process.env.GLIBC_TUNABLES };
  return factsHere;
}

/** The GLIBC_TUNABLES that would put this process's malloc on huge pages, if a restart can. */
export function hugePagesTunablesHere(): string | undefined {
  const pages = hugePages(hugePagesFactsHere());
  return pages.state === "available" ? pages.tunables : undefined;
}

/** How the engine line says it: nothing when on, else what the heap runs on and why. */
export function describeHugePages(pages: HugePages): string | undefined {
  if (pages.state === "on") return undefined;
  if (pages.state === "off") return `C heap on 4 KiB pages: ${pages.reason}`;
  return `C heap on 4 KiB pages: start with GLIBC_TUNABLES=${pages.tunables} for huge pages (faster convolutions; the detc command does)`;
}

/**
 * Runs this same command afresh in this process (same pid, same terminal) with huge pages on, if
 * they are available and not on yet; returns if not, or if the restart failed (why, then). Without
 * the memory helper it returns too: the engine line then says how to get them.
 * Nothing may have been printed or started before: the command starts over.
 */
export function restartWithHugePages(): string | undefined {
  const tunables = hugePagesTunablesHere();
  if (tunables === undefined) return undefined;
  const helper = loadMemoryHelper();
  if (typeof helper === "string") return undefined;
  const environment = Object.entries({ ...process.env, GLIBC_TUNABLES: tunables }).map(([name, value]) => `${name}=${value ?? ""}`);
  try {
    helper.restartWithEnvironment(process.execPath, [process.argv0, ...process.execArgv, ...process.argv.slice(1)], environment);
  } catch (error) {
    return `the restart with huge pages failed: ${(error as Error).message}`;
  }
}
