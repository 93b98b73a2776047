/** `npm run vsix`: the VS Code extension as a `.vsix` that VS Code's installer reads. */
import { builtinModules } from "node:module";
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { packageVsix } from "../grammar/package-vsix.js";
import { bytesSource } from "../src/weights/byte-source.js";
import { readZip } from "../src/weights/zip.js";

const source = JSON.parse(readFileSync(new URL("../grammar/vscode/package.json", import.meta.url), "utf8")) as {
  name: string;
  version: string;
  publisher: string;
  engines: { vscode: string };
};

it("packs the manifest, the extension's files and a self-contained extension.js", async () => {
  const files = readZip(bytesSource(await packageVsix(), "detc.vsix"));
  const text = (name: string) => Buffer.from(files.get(name)?.read() ?? new Uint8Array()).toString("utf8");
  expect([...files.keys()].sort()).toEqual([
    "[Content_Types].xml",
    "extension.vsixmanifest",
    "extension/detc.tmLanguage.json",
    "extension/extension.js",
    "extension/language-configuration.json",
    "extension/package.json",
  ]);

  const manifest = text("extension.vsixmanifest");
  expect(manifest).toContain(`<Identity Language="en-US" Id="${source.name}" Version="${source.version}" Publisher="${source.publisher}" />`);
  expect(manifest).toContain(`<Property Id="Microsoft.VisualStudio.Code.Engine" Value="${source.engines.vscode}" />`);
  for (const [, path] of manifest.matchAll(/<Asset [^>]*Path="([^"]+)"/g)) expect(files.has(path!), path).toBe(true);

  // Every file's extension but the table's own has a content type.
  const types = [...text("[Content_Types].xml").matchAll(/Extension="([^"]+)"/g)].map(([, ext]) => ext);
  for (const name of files.keys()) if (name !== "[Content_Types].xml") expect(types, name).toContain(name.slice(name.lastIndexOf(".")));

  // The packaged manifest points at files inside the package, and needs no node_modules.
  const packaged = JSON.parse(text("extension/package.json")) as {
    main: string;
    dependencies?: unknown;
    contributes: { grammars: { path: string }[]; languages: { configuration: string }[] };
  };
  expect(packaged.dependencies).toBeUndefined();
  const inside = (path: string) => `extension/${path.replace(/^\.\//, "")}`;
  for (const path of [packaged.main, ...packaged.contributes.grammars.map((g) => g.path), ...packaged.contributes.languages.map((l) => l.configuration)]) {
    expect(files.has(inside(path)), path).toBe(true);
  }
  const required = new Set([...text(inside(packaged.main)).matchAll(/\brequire\("([^"]+)"\)/g)].map(([, name]) => name!));
  const external = [...required].filter((name) => name !== "vscode" && !builtinModules.includes(name.replace(/^node:/, "")));
  expect(external).toEqual([]);
  expect(required).toContain("vscode");
  expect(JSON.parse(text("extension/detc.tmLanguage.json"))).toEqual(JSON.parse(readFileSync(new URL("../grammar/detc.tmLanguage.json", import.meta.url), "utf8")));
});
