/**
 * The typed syntax tree of a `.det` file. Every node carries the span of source text it came from,
 * so any later stage can point at it. Nodes built from input the parser had to recover from may
 * be partial: optional fields are absent rather than invented.
 */

export interface Position {
  /** 0-based character offset. */
  readonly offset: number;
  /** 1-based line and column, as editors and terminals show them. */
  readonly line: number;
  readonly column: number;
}

export interface Span {
  readonly start: Position;
  /** Exclusive end. */
  readonly end: Position;
}

export interface Node {
  readonly span: Span;
}

export interface Identifier extends Node {
  readonly kind: "Identifier";
  /** Dotted names keep their dots: `features.42`, `layer3.5.relu_2`. */
  readonly value: string;
}

export interface NumberLiteral extends Node {
  readonly kind: "Number";
  readonly value: number;
  /** The text as written (`1.0`, `1e-4`), for messages and formatting. */
  readonly raw: string;
}

export interface StringLiteral extends Node {
  readonly kind: "String";
  readonly value: string;
}

export interface SpecFile extends Node {
  readonly kind: "File";
  readonly detectors: readonly Detector[];
  /** `# …` comments, kept for the formatter. */
  readonly comments: readonly Comment[];
}

export interface Comment extends Node {
  readonly kind: "Comment";
  readonly text: string;
}

export interface Detector extends Node {
  readonly kind: "Detector";
  readonly name?: Identifier;
  /** In source order; statements may come in any order and the checker reports repeats. */
  readonly statements: readonly Statement[];
}

export type Statement =
  | BackboneStatement
  | TapStatement
  | FpnStatement
  | AnchorsStatement
  | RoiStatement
  | ClassesStatement
  | OutChannelsStatement
  | InChannelsStatement
  | InputStatement
  | DatasetStatement
  | SettingsStatement;

/** `backbone NAME [weights "PATH"] [trainable N] [batch_norm_eps E]` */
export interface BackboneStatement extends Node {
  readonly kind: "Backbone";
  readonly name?: Identifier;
  readonly weights?: StringLiteral;
  readonly trainable?: NumberLiteral;
  readonly batchNormEps?: NumberLiteral;
}

/** `tap NODE[, NODE…]` */
export interface TapStatement extends Node {
  readonly kind: "Tap";
  readonly nodes: readonly Identifier[];
}

/** `fpn N [extra maxpool]` */
export interface FpnStatement extends Node {
  readonly kind: "Fpn";
  readonly channels?: NumberLiteral;
  /** The `extra maxpool` clause, when written (its span covers both words). */
  readonly extra?: Identifier;
}

/** One level's sizes: `(32, 64, 128)` or, in a flat list, a single size. */
export interface AnchorSizeGroup extends Node {
  readonly kind: "AnchorSizeGroup";
  readonly sizes: readonly NumberLiteral[];
  /** True when written in parentheses. */
  readonly grouped: boolean;
}

/** `anchors sizes … ratios …` */
export interface AnchorsStatement extends Node {
  readonly kind: "Anchors";
  /** One entry per feature level. */
  readonly sizes: readonly AnchorSizeGroup[];
  readonly ratios: readonly NumberLiteral[];
}

/** `roi align N sampling N [on LEVEL, …]` */
export interface RoiStatement extends Node {
  readonly kind: "Roi";
  readonly outputSize?: NumberLiteral;
  readonly samplingRatio?: NumberLiteral;
  /** Level names (tap nodes, or `pool` for the extra level); absent means every tapped level. */
  readonly levels?: readonly Identifier[];
}

/** `classes N` (background included, like torchvision's num_classes) or `classes "a", "b", …` */
export interface ClassesStatement extends Node {
  readonly kind: "Classes";
  readonly count?: NumberLiteral;
  /** Object class names; the background class is added. */
  readonly names?: readonly StringLiteral[];
}

/** `out_channels N`: a number the user wrote down, checked against inference. */
export interface OutChannelsStatement extends Node {
  readonly kind: "OutChannels";
  readonly value?: NumberLiteral;
}

/** `in_channels N, N, …`: the FPN's input channels as written, checked against inference. */
export interface InChannelsStatement extends Node {
  readonly kind: "InChannels";
  readonly values: readonly NumberLiteral[];
}

/** `input N` (square), `input HxW`, or `input min N max N` (torchvision's resize rule). */
export type InputStatement =
  | (Node & { readonly kind: "Input"; readonly form: "square"; readonly size: NumberLiteral })
  | (Node & { readonly kind: "Input"; readonly form: "exact"; readonly height: NumberLiteral; readonly width: NumberLiteral })
  | (Node & { readonly kind: "Input"; readonly form: "range"; readonly min: NumberLiteral; readonly max: NumberLiteral });

/**
 * `dataset synthetic`, `dataset coco train "ANN.json" images "DIR" val "ANN.json" images "DIR"`,
 * `dataset voc "ROOT" [train "SPLIT"] [val "SPLIT"]`.
 */
export interface DatasetStatement extends Node {
  readonly kind: "Dataset";
  readonly format?: Identifier;
  /** For `voc`: the VOCdevkit year folder. */
  readonly root?: StringLiteral;
  readonly splits: readonly DatasetSplit[];
}

export interface DatasetSplit extends Node {
  readonly kind: "DatasetSplit";
  /** `train` or `val`. */
  readonly split: Identifier;
  /** COCO: the annotations JSON; VOC: the ImageSets/Main split name. */
  readonly source?: StringLiteral;
  /** COCO: the images folder. */
  readonly images?: StringLiteral;
}

/**
 * `train KEY VALUE …`, `rpn KEY VALUE …`, `box KEY VALUE …`: settings that default to
 * torchvision's values (`rpn nms 0.7`, `train epochs 12 lr 0.02 steps 8, 11`).
 */
export interface SettingsStatement extends Node {
  readonly kind: "Settings";
  readonly section: Identifier;
  readonly settings: readonly Setting[];
}

export interface Setting extends Node {
  readonly kind: "Setting";
  readonly key: Identifier;
  /** Usually one value; lists such as `steps 8, 11` have several. */
  readonly values: readonly (NumberLiteral | Identifier | StringLiteral)[];
}

/** A syntax error found while lexing or parsing; the parser recovers and reports them all. */
export interface SyntaxProblem {
  readonly message: string;
  readonly span: Span;
  /** What the parser expected there, in the user's words (`a number`, `'ratios'`). */
  readonly expected?: string;
}

export interface ParseResult {
  readonly file: SpecFile;
  readonly problems: readonly SyntaxProblem[];
  /** Where reading stopped when a file had too many syntax errors; the tree covers what came before. */
  readonly stoppedAt?: Position;
}
