/** `detc lsp --stdio` driven over JSON-RPC as an editor drives it. */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  CodeActionRequest, CompletionRequest, createProtocolConnection, DiagnosticSeverity, DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification, DocumentFormattingRequest, ExitNotification, HoverRequest, InitializeRequest,
  PublishDiagnosticsNotification, ShutdownRequest, StreamMessageReader, StreamMessageWriter,
  type CodeAction, type CompletionItem, type MarkupContent, type ProtocolConnection, type PublishDiagnosticsParams, type TextEdit,
} from "vscode-languageserver/node";

const cli = inject("cli");
const uri = "file:///work/spec.det";
const SPEC = [
  "detector mbv3",
  "backbone mobilenet_v3_large",
  "tap features.6, features.12, features.16",
  "fpn 256 extra maxpool",
  "roi align 7 sampling 2 on features.12",
  "classes 21",
  "",
].join("\n");

let server: ChildProcessWithoutNullStreams;
let connection: ProtocolConnection;
const published: PublishDiagnosticsParams[] = [];
let onPublish = () => {};

/** The diagnostics the server publishes for a document version. */
function diagnosticsOf(version: number): Promise<PublishDiagnosticsParams> {
  return new Promise((resolve) => {
    const look = () => {
      const found = published.find((p) => p.version === version);
      if (found) resolve(found);
      return found !== undefined;
    };
    if (!look()) onPublish = () => void look();
  });
}

let version = 1;
async function change(text: string): Promise<PublishDiagnosticsParams> {
  version++;
  await connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ text }] });
  return diagnosticsOf(version);
}

/** Where `marker` ends in `text` (or starts, with `at: "start"`), as an LSP position. */
function positionOf(text: string, marker: string, at: "start" | "end" = "end") {
  const offset = text.indexOf(marker) + (at === "end" ? marker.length : 0);
  const before = text.slice(0, offset).split("\n");
  return { line: before.length - 1, character: before.at(-1)!.length };
}

beforeAll(async () => {
  server = spawn(process.execPath, [cli, "lsp", "--stdio"]);
  connection = createProtocolConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
  connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
    published.push(params);
    onPublish();
  });
  connection.listen();
  const { capabilities } = await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    capabilities: {},
  });
  expect(capabilities).toMatchObject({ hoverProvider: true, documentFormattingProvider: true, completionProvider: {} });
  await connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: "det", version, text: SPEC } });
});

afterAll(async () => {
  await connection.sendRequest(ShutdownRequest.type);
  await connection.sendNotification(ExitNotification.type);
  await new Promise((resolve) => server.once("exit", resolve));
  connection.dispose();
});

describe("detc lsp", () => {
  it("publishes no diagnostics for a correct spec on open", async () => {
    expect((await diagnosticsOf(1)).diagnostics).toEqual([]);
  });

  it("publishes the checker's diagnostics with codes, ranges and severities on change", async () => {
    const text = "detector d\nbackbone vgg16_bn\ntap features.44\nclasses 21\ndetector w\nbackbone resnet50\ntap layer4\nclasses 21\n";
    const { diagnostics, uri: published } = await change(text);
    expect(published).toBe(uri);
    expect(diagnostics[0]).toMatchObject({
      code: "E011",
      source: "detc",
      severity: DiagnosticSeverity.Error,
      range: { start: { line: 2, character: 4 }, end: { line: 2, character: 15 } },
    });
    expect(diagnostics[0]!.message).toMatch(/^`features\.44` is not a node of vgg16_bn\n.*\nfound: features\.44\nhelp: nearest valid taps: features\.43 /);
    expect(diagnostics.find((d) => d.code === "W050")?.severity).toBe(DiagnosticSeverity.Warning);
  });

  it("hovers a tap with its node, channels (after the FPN), stride and size", async () => {
    await change(SPEC);
    const hover = await connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: positionOf(SPEC, "tap features.") });
    const value = (hover!.contents as MarkupContent).value;
    expect(value).toContain("**features.6** → `features.6.add`");
    expect(value).toContain("40 → 256 channels · stride 8 · 100×100 at input 800×800");
    expect(hover!.range).toEqual({ start: { line: 2, character: 4 }, end: { line: 2, character: 14 } });
  });

  it("hovers a backbone with its levels, and a RoI level", async () => {
    await change(SPEC);
    const backbone = await connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: positionOf(SPEC, "mobilenet_v3", "start") });
    const value = (backbone!.contents as MarkupContent).value;
    expect(value).toContain("**mobilenet_v3_large** · torchvision mobilenetv3");
    expect(value).toContain("| features.16 | features.16 | 960 → 256 | 32 | 25×25 |");
    expect(value).toContain("| pool | pool | 256 | 64 | 13×13 |");
    const level = await connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: positionOf(SPEC, "on features.1") });
    expect((level!.contents as MarkupContent).value).toContain("**features.12** (`features.12.add`)\n\n112 → 256 channels · stride 16 · 50×50");
    expect(await connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 5, character: 2 } })).toBeNull();
  });

  it("completes backbone names", async () => {
    const text = "detector d\nbackbone res\n";
    await change(text);
    const items = (await connection.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: positionOf(text, "res") })) as CompletionItem[];
    expect(items.map((i) => i.label)).toContain("resnet50");
    expect(items.find((i) => i.label === "resnet50")).toMatchObject({
      detail: "torchvision resnet",
      textEdit: { range: { start: { line: 1, character: 9 }, end: { line: 1, character: 12 } }, newText: "resnet50" },
    });
  });

  it("completes every zoo network's name and taps (densenet121)", async () => {
    const text = "detector d\nbackbone dense\n";
    await change(text);
    const names = (await connection.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: positionOf(text, "dense") })) as CompletionItem[];
    expect(names.map((i) => i.label)).toEqual(expect.arrayContaining(["densenet121", "densenet201", "squeezenet1_1", "regnet_y_128gf"]));
    const spec = "detector d\nbackbone densenet121\ninput 512\ntap features.\nclasses 21\n";
    await change(spec);
    const taps = (await connection.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: positionOf(spec, "features.") })) as CompletionItem[];
    expect(taps.find((i) => i.label === "features.denseblock3")?.detail).toBe("stride 16 · 1024 channels · 32×32 → features.denseblock3.cat");
  });

  it("completes the chosen backbone's tap nodes with stride and channels, after a comma too", async () => {
    const text = "detector d\nbackbone resnet50\ninput 512\ntap layer2, layer3.\nclasses 21\n";
    await change(text);
    const items = (await connection.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: positionOf(text, "layer3.") })) as CompletionItem[];
    const layer3 = items.find((i) => i.label === "layer3");
    expect(layer3?.detail).toBe("stride 16 · 1024 channels · 32×32 → layer3.5.relu_2");
    expect(items.find((i) => i.label === "layer2.3.relu_2")?.detail).toBe("stride 8 · 512 channels · 64×64");
    expect(layer3?.textEdit).toMatchObject({ range: { start: { line: 3, character: 12 }, end: { line: 3, character: 19 } } });
    // Listed in graph order, shallow to deep, as `detc taps` lists them.
    const ordered = items.sort((a, b) => a.sortText!.localeCompare(b.sortText!)).map((i) => i.label);
    expect(ordered.indexOf("layer1")).toBeLessThan(ordered.indexOf("layer2.0.conv1"));
    expect(ordered.indexOf("layer3.5.relu_2")).toBeLessThan(ordered.indexOf("layer4"));
  });

  it("completes statement keywords at the start of a line, and nothing inside a number", async () => {
    const text = "detector d\nbackbone resnet50\nan\nfpn 25";
    await change(text);
    const keywords = (await connection.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: positionOf(text, "an") })) as CompletionItem[];
    expect(keywords.map((i) => i.label)).toEqual(expect.arrayContaining(["anchors", "tap", "fpn", "classes", "detector"]));
    expect(keywords.map((i) => i.label)).not.toContain("sizes");
    expect(await connection.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: positionOf(text, "fpn 25") })).toEqual([]);
  });

  it("checks a spec against its data after the edits settle, and a code action writes the fitted anchors line", async () => {
    const quick = "file:///work/quick.det";
    const text = "detector q\nbackbone resnet18\ntap layer2\nanchors sizes (16, 32, 64) ratios 0.5, 1.0, 2.0\nclasses 5\ninput 128\n";
    const withData = new Promise<PublishDiagnosticsParams>((resolve) => {
      const previous = onPublish;
      onPublish = () => {
        previous();
        const found = published.find((p) => p.uri === quick && p.diagnostics.some((d) => d.code === "I093"));
        if (found) resolve(found);
      };
    });
    await connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: quick, languageId: "det", version: 1, text } });
    const { diagnostics } = await withData;
    expect(diagnostics.map((d) => d.code)).toEqual(["W090", "I093"]);
    const fitted = diagnostics[1]!;
    expect(fitted.range).toEqual({ start: { line: 3, character: 0 }, end: { line: 3, character: 47 } });
    const actions = (await connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri: quick },
      range: fitted.range,
      context: { diagnostics },
    })) as CodeAction[];
    expect(actions).toHaveLength(1);
    const edit = actions[0]!.edit!.changes![quick]![0]!;
    expect(edit.range).toEqual(fitted.range);
    expect(edit.newText).toMatch(/^anchors sizes \([\d, ]+\) ratios [\d., ]+$/);
    expect(fitted.message).toContain(`expected: ${edit.newText}`);
  });

  it("formats a document as detc fmt does, and leaves one with syntax errors alone", async () => {
    await change("detector d classes 21 # twenty\nbackbone resnet50 tap layer3\n");
    const edits = (await connection.sendRequest(DocumentFormattingRequest.type, {
      textDocument: { uri },
      options: { tabSize: 2, insertSpaces: true },
    })) as TextEdit[];
    expect(edits).toEqual([
      {
        range: { start: { line: 0, character: 0 }, end: { line: 2, character: 0 } },
        newText: "detector d\nbackbone resnet50\ntap layer3\nclasses 21  # twenty\n",
      },
    ]);
    await change("detector d\ntap ,\n");
    expect(await connection.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } })).toEqual([]);
  });
});
