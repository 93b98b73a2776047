/**
 * No promise is left floating in src/: an async call whose result nobody awaits, returns or marks
 * with `void` can fail after the command has moved on (or keep it alive after a failure), which is
 * how a run once hung instead of exiting. TypeScript has no such check and the project has no
 * linter, so this test asks the compiler's type checker: every expression statement whose type
 * is a Promise must be awaited, returned, or explicitly `void`ed.
 */
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { expect, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith(".ts") ? [path] : [];
  });
}

it("every promise in src/ is awaited, returned or explicitly voided", () => {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
  const files = sourceFiles(join(root, "src"));
  const program = ts.createProgram(files, config.options);
  const checker = program.getTypeChecker();
  const isPromise = (type: ts.Type): boolean =>
    type.isUnion() ? type.types.some(isPromise) : ["Promise", "PromiseLike"].includes(type.getSymbol()?.getName() ?? "");
  const floating: string[] = [];
  for (const file of files) {
    const source = program.getSourceFile(file)!;
    const visit = (node: ts.Node): void => {
      if (ts.isExpressionStatement(node) && !ts.isVoidExpression(node.expression) && isPromise(checker.getTypeAtLocation(node.expression))) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart());
        floating.push(`${relative(root, file)}:${line + 1}: ${node.getText().slice(0, 80)}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  expect(floating).toEqual([]);
}, 300_000);
