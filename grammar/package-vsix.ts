/**
 * Packages the VS Code extension (`grammar/vscode/`) as a `.vsix`, what `vsce package` makes, without
 * vsce: a zip of `[Content_Types].xml`, `extension.vsixmanifest` and `extension/` — the manifest with the grammar
 * path made local, `extension.js` bundled with its one dependency (vscode-languageclient) by esbuild,
 * the language configuration and the TextMate grammar. Installs that dependency with npm first when
 * `grammar/vscode/node_modules` lacks it.
 *
 *   npm run vsix [-- -o detc.vsix]      # then: code --install-extension detc.vsix
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { writeZip } from "../src/weights/zip.js";

const extensionDir = join(dirname(fileURLToPath(import.meta.url)), "vscode");
const GRAMMAR_FILE = "detc.tmLanguage.json";

interface ExtensionManifest {
  name: string;
  displayName: string;
  description: string;
  version: string;
  publisher: string;
  license: string;
  engines: { vscode: string };
  categories: string[];
  main: string;
  contributes: { grammars: { path: string }[] };
  dependencies?: Record<string, string>;
}

const escapeXml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function vsixManifest(m: ExtensionManifest): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<PackageManifest Version="2.0.0" xmlns="http://schemas.microsoft.com/developer/vsx-schema/2011" xmlns:d="http://schemas.microsoft.com/developer/vsx-schema-design/2011">
  <Metadata>
    <Identity Language="en-US" Id="${escapeXml(m.name)}" Version="${escapeXml(m.version)}" Publisher="${escapeXml(m.publisher)}" />
    <DisplayName>${escapeXml(m.displayName)}</DisplayName>
    <Description xml:space="preserve">${escapeXml(m.description)}</Description>
    <Tags>det,detc</Tags>
    <Categories>${escapeXml(m.categories.join(","))}</Categories>
    <GalleryFlags>Public</GalleryFlags>
    <Properties>
      <Property Id="Microsoft.VisualStudio.Code.Engine" Value="${escapeXml(m.engines.vscode)}" />
      <Property Id="Microsoft.VisualStudio.Code.ExtensionDependencies" Value="" />
      <Property Id="Microsoft.VisualStudio.Code.ExtensionPack" Value="" />
      <Property Id="Microsoft.VisualStudio.Code.ExtensionKind" Value="workspace" />
    </Properties>
  </Metadata>
  <Installation>
    <InstallationTarget Id="Microsoft.VisualStudio.Code" />
  </Installation>
  <Dependencies />
  <Assets>
    <Asset Type="Microsoft.VisualStudio.Code.Manifest" Path="extension/package.json" Addressable="true" />
  </Assets>
</PackageManifest>
`;
}

const CONTENT_TYPES = `<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
  <Default Extension=".json" ContentType="application/json" />
  <Default Extension=".js" ContentType="application/javascript" />
  <Default Extension=".vsixmanifest" ContentType="text/xml" />
</Types>
`;

/** extension.js with vscode-languageclient inlined; `vscode` is the editor's own module. */
async function bundledExtension(): Promise<Uint8Array> {
  if (!existsSync(join(extensionDir, "node_modules", "vscode-languageclient"))) {
    execFileSync("npm", ["install", "--omit=dev", "--no-audit", "--no-fund", "--no-package-lock"], { cwd: extensionDir, stdio: "inherit" });
  }
  const result = await build({
    entryPoints: [join(extensionDir, "extension.js")],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node18",
    external: ["vscode"],
    write: false,
    logLevel: "warning",
  });
  return result.outputFiles[0]!.contents;
}

/** The `.vsix` file's bytes. */
export async function packageVsix(): Promise<Buffer> {
  const manifest = JSON.parse(readFileSync(join(extensionDir, "package.json"), "utf8")) as ExtensionManifest;
  // In the checkout the grammar is shared from grammar/; in the package it sits beside the manifest.
  const packaged: ExtensionManifest = {
    ...manifest,
    contributes: { ...manifest.contributes, grammars: manifest.contributes.grammars.map((g) => ({ ...g, path: `./${GRAMMAR_FILE}` })) },
  };
  delete packaged.dependencies; // bundled into extension.js
  const text = (s: string) => Buffer.from(s, "utf8");
  return writeZip([
    ["[Content_Types].xml", text(CONTENT_TYPES)],
    ["extension.vsixmanifest", text(vsixManifest(manifest))],
    ["extension/package.json", text(`${JSON.stringify(packaged, null, 2)}\n`)],
    [`extension/${manifest.main.replace(/^\.\//, "")}`, await bundledExtension()],
    ["extension/language-configuration.json", readFileSync(join(extensionDir, "language-configuration.json"))],
    [`extension/${GRAMMAR_FILE}`, readFileSync(join(extensionDir, "..", GRAMMAR_FILE))],
  ]);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const flag = process.argv.indexOf("-o");
  const manifest = JSON.parse(readFileSync(join(extensionDir, "package.json"), "utf8")) as ExtensionManifest;
  const out = flag >= 0 && process.argv[flag + 1] ? process.argv[flag + 1]! : `${manifest.name}-${manifest.version}.vsix`;
  writeFileSync(out, await packageVsix());
  console.log(`wrote ${out}`);
}
