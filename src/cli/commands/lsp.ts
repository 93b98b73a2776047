/** `detc lsp --stdio`: the language server editors start (diagnostics, hover, completion, formatting). */
import type { Command } from "commander";

export function registerLsp(program: Command): void {
  program
    .command("lsp")
    .summary("run the language server for editors (over stdin/stdout)")
    .description(
      "A Language Server Protocol server for .det files: the checker's diagnostics as you type, hover " +
        "on a backbone, tap or RoI level for its channels, stride and size, completion of backbone names " +
        "and tap nodes, and formatting (as `detc fmt`). Editors start it; it speaks JSON-RPC on " +
        "stdin/stdout, the only transport, so --stdio (which editors pass) changes nothing.",
    )
    .option("--stdio", "talk over stdin/stdout (the default)")
    .addHelpText("after", "\nExamples:\n  $ detc lsp --stdio   # what an editor's language client runs")
    .action(async () => {
      // Loaded on demand: the other commands need none of the protocol code.
      const { startLanguageServer } = await import("../../lsp/server.js");
      startLanguageServer(process.stdin, process.stdout);
    });
}
