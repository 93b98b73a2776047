/**
 * `backbone NAME weights "PATH"` names a file that must be there when the model is built: checked
 * when the spec is, so a typo or a missing download shows in `detc check` and the editor, not
 * minutes into `detc run`. The path is relative to the spec's folder.
 */
import type { FileKind, Rule } from "../rule.js";

const PROBLEM: Record<Exclude<FileKind, "file">, { readonly message: (path: string) => string; readonly found: string }> = {
  missing: { message: (path) => `cannot find the backbone's weights file ${path}`, found: "no such file" },
  directory: { message: (path) => `the backbone's weights ${path} is a directory, not a file`, found: "a directory" },
  unreadable: { message: (path) => `cannot read the backbone's weights file ${path}`, found: "a file that cannot be read" },
};

export const weightsFileExists: Rule = {
  code: "E007",
  name: "weights-file-exists",
  severity: "error",
  check({ detector, files, report }) {
    const weights = detector.statements.backbone?.weights;
    if (!weights || !files) return;
    const { kind, resolved } = files(weights.value);
    if (kind === "file") return;
    const problem = PROBLEM[kind];
    report({
      message: problem.message(JSON.stringify(weights.value)),
      primary: { span: weights.span, message: problem.found },
      expected: "a torchvision .pth or .safetensors file",
      found: `${problem.found} at ${resolved}`,
      hint: "a path in a spec is relative to the spec's folder; leave `weights` out to start from random weights",
    });
  },
};
