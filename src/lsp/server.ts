/**
 * The language server's connection: keeps the open documents, publishes diagnostics when one
 * opens or changes, and answers hover, completion and formatting with the pure handlers.
 */
import { createConnection, ProposedFeatures, TextDocuments, TextDocumentSyncKind } from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { completions, diagnostics, formattingEdits, hover } from "./handlers.js";

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
    },
    serverInfo: { name: "detc" },
  }));

  documents.onDidChangeContent(({ document }) => {
    void connection.sendDiagnostics({ uri: document.uri, version: document.version, diagnostics: diagnostics(document) });
  });
  // A closed document's problems leave the editor's problem list with it.
  documents.onDidClose(({ document }) => {
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
  connection.onDocumentFormatting(({ textDocument }) => {
    const document = documents.get(textDocument.uri);
    return document ? formattingEdits(document) : [];
  });

  documents.listen(connection);
  connection.listen();
}
