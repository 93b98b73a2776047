/**
 * The files and folders a `dataset` statement names must be there: a COCO split's annotations file
 * and images folder, a VOC year folder. Checked with the spec, so a wrong path shows in `detc
 * check` and the editor rather than when `detc run` starts reading. Paths are relative to the
 * spec's folder.
 */
import type { StringLiteral } from "../../language/ast.js";
import type { FileKind, Rule } from "../rule.js";

type Wanted = "file" | "directory";

const WANTED: Record<Wanted, string> = { file: "a file", directory: "a folder" };
const FOUND: Record<FileKind, string> = { file: "a file", directory: "a folder", missing: "nothing", unreadable: "something that cannot be read" };

export const datasetPathsExist: Rule = {
  code: "E008",
  name: "dataset-paths-exist",
  severity: "error",
  check({ detector, files, report }) {
    const dataset = detector.statements.dataset;
    if (!dataset || !files) return;
    const format = dataset.format?.value;
    const paths: [StringLiteral | undefined, Wanted, string][] =
      format === "voc"
        ? [[dataset.root, "directory", "the VOC year folder (holding Annotations/, JPEGImages/, ImageSets/Main/)"]]
        : format === "coco"
          ? dataset.splits.flatMap((split): [StringLiteral | undefined, Wanted, string][] => [
              [split.source, "file", `the ${split.split.value} split's COCO annotations file`],
              [split.images, "directory", `the ${split.split.value} split's images folder`],
            ])
          : [];
    for (const [path, wanted, what] of paths) {
      if (!path) continue;
      const { kind, resolved } = files(path.value);
      if (kind === wanted) continue;
      report({
        message: `${what} ${JSON.stringify(path.value)} is ${kind === "missing" ? "not there" : `${FOUND[kind]}, not ${WANTED[wanted]}`}`,
        primary: { span: path.span, message: kind === "missing" ? "not found" : FOUND[kind] },
        expected: `${WANTED[wanted]} at ${resolved}`,
        found: FOUND[kind],
        hint: "a path in a spec is relative to the spec's folder",
      });
    }
  },
};
