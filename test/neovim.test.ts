/**
 * The Neovim snippet of docs/editors.md for the installed Neovim, run as written (with `detc` on the PATH):
 * it must start the language server, show a spec's diagnostics and format it. Skipped, and reported
 * as skipped, on machines without `nvim`.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const cli = inject("cli");
const nvim = spawnSync("nvim", ["--version"], { encoding: "utf8" });
const version = nvim.status === 0 ? nvim.stdout.match(/NVIM v(\d+)\.(\d+)/)!.slice(1).map(Number) : undefined;

/** The lua block docs/editors.md gives for this Neovim version. */
function snippet(major: number, minor: number): string {
  const page = readFileSync(join(root, "docs/editors.md"), "utf8");
  const heading = major === 0 && minor < 11 ? "For Neovim 0.7 to 0.10" : "for Neovim 0.11 and later";
  const after = page.slice(page.indexOf(heading));
  return after.match(/```lua\n([\s\S]*?)```/)![1]!;
}

const PROBE = `
local deadline = vim.loop.now() + 30000
local function wait(done, next)
  if done() or vim.loop.now() > deadline then next() else vim.defer_fn(function() wait(done, next) end, 100) end
end
wait(function() return #vim.diagnostic.get(0) > 0 end, function()
  for _, d in ipairs(vim.diagnostic.get(0)) do io.stdout:write(string.format("diagnostic %d:%d %s\\n", d.lnum + 1, d.col + 1, tostring(d.code))) end
  local format = vim.lsp.buf.format or function(options) vim.lsp.buf.formatting_sync(nil, options.timeout_ms) end
  format({ timeout_ms = 10000 })
  io.stdout:write("buffer " .. table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "|") .. "\\n")
  vim.cmd("qa!")
end)
`;

describe.skipIf(version === undefined)(`docs/editors.md's Neovim set-up (nvim ${version?.join(".")})`, () => {
  it("shows the checker's diagnostics and formats the buffer", () => {
    const dir = mkdtempSync(join(tmpdir(), "detc-nvim-"));
    mkdirSync(join(dir, "bin"));
    writeFileSync(join(dir, "bin", "detc"), `#!/bin/sh\nexec "${process.execPath}" "${cli}" "$@"\n`);
    chmodSync(join(dir, "bin", "detc"), 0o755);
    writeFileSync(join(dir, "init.lua"), snippet(version![0]!, version![1]!));
    writeFileSync(join(dir, "probe.lua"), PROBE);
    writeFileSync(join(dir, "broken.det"), "detector   broken\nbackbone resnet50\ntap layer2, layer9\nclasses 21\n");
    const result = spawnSync("nvim", ["--headless", "-u", join(dir, "init.lua"), join(dir, "broken.det"), "-c", `luafile ${join(dir, "probe.lua")}`], {
      cwd: dir,
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, PATH: `${join(dir, "bin")}:${process.env.PATH}`, XDG_STATE_HOME: dir, XDG_CACHE_HOME: dir },
    });
    expect(result.stdout + result.stderr).toContain("diagnostic 3:13 E011");
    expect(result.stdout).toContain("buffer detector broken|backbone resnet50|tap layer2, layer9|classes 21");
  }, 90_000);
});
