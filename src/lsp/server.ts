/**
 * The language server's connection: keeps the open documents, publishes diagnostics when one
 * opens or changes, and answers hover, completion and formatting with the pure handlers.
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { CodeActionKind, createConnection, ProposedFeatures, TextDocuments, TextDocumentSyncKind } from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { filesBeside } from "../util/files-beside.js";
import { DataDiagnostics } from "./data-diagnostics.js";
import { codeActions, completions, diagnostics, formattingEdits, hover, toLspDiagnostic } from "./handlers.js";

/** Quiet time after an edit before the data check runs (it reads a dataset and scans its boxes). */
const DATA_CHECK_DELAY_MS = 400;

/** Serves one editor over the given streams until it sends `exit`. */
export function startLanguageServer(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): void {
  const connection = createConnection(ProposedFeatures.all, input, output);
  const documents = new TextDocuments(TextDocument);

  connection.onInitialize(() => ({
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      // Dots and commas start a new name or continue a dotted one (`features.`).
      completionProvider: { triggerCharacters: [" ", ".", ","] },
      documentFormattingProvider: true,
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
    },
    serverInfo: { name: "detc" },
  }));

  const data = new DataDiagnostics();
  const pending = new Map<string, NodeJS.Timeout>();
  documents.onDidChangeContent(({ document }) => {
    const onDisk = document.uri.startsWith("file:") ? filesBeside(dirname(fileURLToPath(document.uri))) : undefined;
    const checked = diagnostics(document, onDisk);
    void connection.sendDiagnostics({ uri: document.uri, version: document.version, diagnostics: checked });
    clearTimeout(pending.get(document.uri));
    pending.set(
      document.uri,
      setTimeout(() => {
        pending.delete(document.uri);
        void data.of(document).then((found) => {
          // Published only if the text is still the one checked: spans of an older text would point amiss.
          if (found.length === 0 || documents.get(document.uri)?.version !== document.version) return;
          const all = [...checked, ...found.map((d) => toLspDiagnostic(d, document.uri))];
          void connection.sendDiagnostics({ uri: document.uri, version: document.version, diagnostics: all });
        }, () => undefined);
      }, DATA_CHECK_DELAY_MS),
    );
  });
  // A closed document's problems leave the editor's problem list with it.
  documents.onDidClose(({ document }) => {
    clearTimeout(pending.get(document.uri));
    pending.delete(document.uri);
    void connection.sendDiagnostics({ uri: document.uri, diagnostics: [] });
  });

  connection.onHover(({ textDocument, position }) => {
    const document = documents.get(textDocument.uri);
    return document ? hover(document, document.offsetAt(position)) : null;
  });
  connection.onCompletion(({ textDocument, position }) => {
    const document = documents.get(textDocument.uri);
    return document ? completions(document, document.offsetAt(position)) : [];
  });
  connection.onCodeAction(({ textDocument, context }) => {
    const document = documents.get(textDocument.uri);
    return document ? codeActions(document, context.diagnostics) : [];
  });
  connection.onDocumentFormatting(({ textDocument }) => {
    const document = documents.get(textDocument.uri);
    return document ? formattingEdits(document) : [];
  });

  documents.listen(connection);
  connection.listen();
}
