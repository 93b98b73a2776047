// Starts `detc lsp --stdio` for .det files; everything else is the server's.
const { workspace } = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

exports.activate = function activate(context) {
  const command = workspace.getConfiguration("detc").get("path", "detc");
  // TransportKind.stdio makes the client add `--stdio` to the arguments.
  const server = { command, args: ["lsp"], transport: TransportKind.stdio };
  client = new LanguageClient("detc", "detc", server, { documentSelector: [{ language: "det" }] });
  context.subscriptions.push(client);
  return client.start();
};

exports.deactivate = function deactivate() {
  return client?.stop();
};
