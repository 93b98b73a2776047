/**
 * The CST visitor: turns the parser's concrete tree into the AST of ast.ts. A tree the parser
 * recovered may lack any child and may hold tokens it invented (`isInsertedInRecovery`); both are
 * read as "not written", so every field is either what the user wrote or absent.
 */
import type { CstElement, CstNode, IToken } from "chevrotain";
import type {
  AnchorSizeGroup, AnchorsStatement, BackboneStatement, ClassesStatement, Comment, DatasetSplit,
  DatasetStatement, Detector, FpnStatement, Identifier, InChannelsStatement, InputStatement,
  NumberLiteral, OutChannelsStatement, Position, RoiStatement, Setting, SettingsStatement, Span,
  SpecFile, Statement, StringLiteral, SyntaxProblem, TapStatement,
} from "./ast.js";
import { detParser } from "./parser.js";
import { endOfText, FILE_START, joinSpans, nodeSpan, tokenSpan } from "./spans.js";
import { readString } from "./strings.js";

type Children = Readonly<Record<string, CstElement[] | undefined>>;

const isNode = (element: CstElement): element is CstNode => "children" in element;
const isWritten = (token: IToken): boolean => !token.isInsertedInRecovery;

/** The tokens the user wrote under `key`, in source order. */
function tokens(ctx: Children, key: string): IToken[] {
  return (ctx[key] ?? []).filter((element): element is IToken => !isNode(element) && isWritten(element));
}

/** The first token under `key`, when it was written. */
function token(ctx: Children, key: string): IToken | undefined {
  const element = ctx[key]?.[0];
  return element !== undefined && !isNode(element) && isWritten(element) ? element : undefined;
}

function nodes(ctx: Children, key: string): CstNode[] {
  return (ctx[key] ?? []).filter(isNode);
}

const byOffset = (a: { span: Span }, b: { span: Span }) => a.span.start.offset - b.span.start.offset;

export interface BuiltAst {
  readonly file: SpecFile;
  /** Statements written before any `detector NAME` line, which the grammar accepts only to report them. */
  readonly problems: readonly SyntaxProblem[];
}

function identifier(token: IToken): Identifier;
function identifier(token: IToken | undefined): Identifier | undefined;
function identifier(token: IToken | undefined): Identifier | undefined {
  return token && { kind: "Identifier", value: token.image, span: tokenSpan(token) };
}

function numberLiteral(token: IToken): NumberLiteral;
function numberLiteral(token: IToken | undefined): NumberLiteral | undefined;
function numberLiteral(token: IToken | undefined): NumberLiteral | undefined {
  return token && { kind: "Number", value: Number(token.image), raw: token.image, span: tokenSpan(token) };
}

function stringLiteral(token: IToken): StringLiteral;
function stringLiteral(token: IToken | undefined): StringLiteral | undefined;
function stringLiteral(token: IToken | undefined): StringLiteral | undefined {
  return token && { kind: "String", value: readString(token.image).value, span: tokenSpan(token) };
}

/**
 * From the first to the last token written under a rule. Every rule the parser enters starts
 * with the token that chose it, so the fallback only keeps the type honest.
 */
function ruleSpan(ctx: Children): Span {
  // Compared by offset first: a statement may have 100 000 children, and only two spans are kept.
  let first: CstElement | undefined;
  let last: CstElement | undefined;
  let [firstOffset, lastOffset] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (const key in ctx) {
    for (const element of ctx[key] ?? []) {
      const [start, end] = isNode(element)
        ? [element.location?.startOffset ?? Number.NaN, element.location?.endOffset ?? Number.NaN]
        : isWritten(element)
          ? [element.startOffset, element.endOffset ?? element.startOffset]
          : [Number.NaN, Number.NaN];
      if (Number.isNaN(start)) continue;
      if (start < firstOffset) [first, firstOffset] = [element, start];
      if (end > lastOffset) [last, lastOffset] = [element, end];
    }
  }
  const spanOf = (element: CstElement | undefined) => (element === undefined ? undefined : isNode(element) ? nodeSpan(element) : tokenSpan(element));
  const [from, to] = [spanOf(first), spanOf(last)];
  return from && to ? joinSpans(from, to) : { start: FILE_START, end: FILE_START };
}

const BaseVisitor = detParser.getBaseCstVisitorConstructor<undefined, unknown>();

/** One builder per parse: it collects the problems it finds along the way. */
class AstBuilder extends BaseVisitor {
  readonly problems: SyntaxProblem[] = [];

  constructor(
    private readonly text: string,
    private readonly comments: readonly IToken[],
  ) {
    super();
    this.validateVisitor();
  }

  file(ctx: Children): SpecFile {
    // Statements at file level come before the first detector, or after input the parser skipped
    // inside a detector: the latter still belong to the detector above them.
    const parts = [
      ...nodes(ctx, "detector").map((node) => this.visit(node) as Detector),
      ...nodes(ctx, "statement").flatMap((node) => (this.visit(node) as Statement | undefined) ?? []),
    ].sort(byOffset);
    // Gathered in place: a file of many statements is joined in one pass, not copied per statement.
    const blocks: { detector: Detector; statements: Statement[]; span: Span }[] = [];
    for (const part of parts) {
      const current = blocks.at(-1);
      if (part.kind === "Detector") {
        blocks.push({ detector: part, statements: [...part.statements], span: part.span });
      } else if (current) {
        current.statements.push(part);
        current.span = joinSpans(current.span, part.span);
      } else {
        // Reported once, at the first of the statements that lack their `detector NAME` line.
        const word = /\w+/y;
        word.lastIndex = part.span.start.offset;
        const keyword = word.exec(this.text)?.[0] ?? "";
        this.problems.push({
          message: `'${keyword}' is outside any detector: add a 'detector NAME' line above it`,
          span: part.span,
          expected: "'detector'",
        });
        blocks.push({ detector: { kind: "Detector", statements: [], span: part.span }, statements: [part], span: part.span });
      }
    }
    const detectors = blocks.map(({ detector, statements, span }): Detector => ({ ...detector, statements, span }));
    return {
      kind: "File",
      detectors,
      comments: this.comments.map((token): Comment => ({ kind: "Comment", text: token.image.slice(1), span: tokenSpan(token) })),
      span: { start: FILE_START, end: endOfText(this.text) },
    };
  }

  detector(ctx: Children): Detector {
    const name = identifier(token(ctx, "Identifier"));
    const statements = nodes(ctx, "statement").flatMap((node) => (this.visit(node) as Statement | undefined) ?? []);
    return { kind: "Detector", ...(name && { name }), statements, span: ruleSpan(ctx) };
  }

  statement(ctx: Children): Statement | undefined {
    const [chosen] = Object.values(ctx).flatMap((children) => (children ?? []).filter(isNode));
    return chosen && (this.visit(chosen) as Statement | undefined);
  }

  backboneStatement(ctx: Children): BackboneStatement {
    const name = identifier(token(ctx, "Identifier"));
    const weights = stringLiteral(token(ctx, "StringLiteral"));
    const trainable = numberLiteral(token(ctx, "NumberLiteral"));
    const batchNormEps = numberLiteral(token(ctx, "eps"));
    return {
      kind: "Backbone",
      ...(name && { name }),
      ...(weights && { weights }),
      ...(trainable && { trainable }),
      ...(batchNormEps && { batchNormEps }),
      span: ruleSpan(ctx),
    };
  }

  tapStatement(ctx: Children): TapStatement {
    return { kind: "Tap", nodes: tokens(ctx, "Identifier").map((t) => identifier(t)), span: ruleSpan(ctx) };
  }

  fpnStatement(ctx: Children): FpnStatement {
    const channels = numberLiteral(token(ctx, "NumberLiteral"));
    const [extraWord, kindWord] = [token(ctx, "Extra"), token(ctx, "Maxpool")];
    // The clause's value is the kind of extra level; its span covers both words.
    const extra: Identifier | undefined =
      extraWord && kindWord && { kind: "Identifier", value: kindWord.image, span: joinSpans(tokenSpan(extraWord), tokenSpan(kindWord)) };
    return { kind: "Fpn", ...(channels && { channels }), ...(extra && { extra }), span: ruleSpan(ctx) };
  }

  anchorsStatement(ctx: Children): AnchorsStatement {
    const [sizes] = nodes(ctx, "anchorSizes");
    return {
      kind: "Anchors",
      sizes: sizes ? (this.visit(sizes) as AnchorSizeGroup[]) : [],
      ratios: tokens(ctx, "NumberLiteral").map((t) => numberLiteral(t)),
      span: ruleSpan(ctx),
    };
  }

  /** A flat list is one size per level: each number becomes its own ungrouped group. */
  anchorSizes(ctx: Children): AnchorSizeGroup[] {
    const groups = nodes(ctx, "anchorSizeGroup").flatMap((node) => (this.visit(node) as AnchorSizeGroup | undefined) ?? []);
    const flat = tokens(ctx, "NumberLiteral").map((t): AnchorSizeGroup => {
      const size = numberLiteral(t);
      return { kind: "AnchorSizeGroup", sizes: [size], grouped: false, span: size.span };
    });
    return [...groups, ...flat];
  }

  /** A group the parser made up in recovery, without a written `(`, was never written. */
  anchorSizeGroup(ctx: Children): AnchorSizeGroup | undefined {
    if (!token(ctx, "LParen")) return undefined;
    return { kind: "AnchorSizeGroup", sizes: tokens(ctx, "NumberLiteral").map((t) => numberLiteral(t)), grouped: true, span: ruleSpan(ctx) };
  }

  roiStatement(ctx: Children): RoiStatement {
    const outputSize = numberLiteral(token(ctx, "outputSize"));
    const samplingRatio = numberLiteral(token(ctx, "samplingRatio"));
    const levels = token(ctx, "On") && tokens(ctx, "Identifier").map((t) => identifier(t));
    return {
      kind: "Roi",
      ...(outputSize && { outputSize }),
      ...(samplingRatio && { samplingRatio }),
      ...(levels && { levels }),
      span: ruleSpan(ctx),
    };
  }

  classesStatement(ctx: Children): ClassesStatement {
    const count = numberLiteral(token(ctx, "NumberLiteral"));
    const names = ctx["StringLiteral"] && tokens(ctx, "StringLiteral").map((t) => stringLiteral(t));
    return { kind: "Classes", ...(count && { count }), ...(names && { names }), span: ruleSpan(ctx) };
  }

  outChannelsStatement(ctx: Children): OutChannelsStatement {
    const value = numberLiteral(token(ctx, "NumberLiteral"));
    return { kind: "OutChannels", ...(value && { value }), span: ruleSpan(ctx) };
  }

  inChannelsStatement(ctx: Children): InChannelsStatement {
    return { kind: "InChannels", values: tokens(ctx, "NumberLiteral").map((t) => numberLiteral(t)), span: ruleSpan(ctx) };
  }

  /** Every input form needs all of its numbers, so an incomplete one is left out (its syntax error stays). */
  inputStatement(ctx: Children): InputStatement | undefined {
    const span = ruleSpan(ctx);
    const size = numberLiteral(token(ctx, "size"));
    if (size) return { kind: "Input", form: "square", size, span };
    const dimensions = token(ctx, "Dimensions");
    if (dimensions) {
      const [height = "", width = ""] = dimensions.image.split("x");
      const whole = tokenSpan(dimensions);
      const at = (offset: number): Position => ({ offset: whole.start.offset + offset, line: whole.start.line, column: whole.start.column + offset });
      const part = (raw: string, from: number): NumberLiteral => ({
        kind: "Number",
        value: Number(raw),
        raw,
        span: { start: at(from), end: at(from + raw.length) },
      });
      return { kind: "Input", form: "exact", height: part(height, 0), width: part(width, height.length + 1), span };
    }
    const [min, max] = [numberLiteral(token(ctx, "minSize")), numberLiteral(token(ctx, "maxSize"))];
    return min && max ? { kind: "Input", form: "range", min, max, span } : undefined;
  }

  datasetStatement(ctx: Children): DatasetStatement {
    const format = identifier(token(ctx, "Synthetic") ?? token(ctx, "Coco") ?? token(ctx, "Voc"));
    const root = stringLiteral(token(ctx, "root"));
    const [trainImagesWord, valImagesWord] = ctx["Images"] ?? [];
    const splits = [
      this.datasetSplit(token(ctx, "Train"), token(ctx, "trainSource"), trainImagesWord, token(ctx, "trainImages")),
      this.datasetSplit(token(ctx, "Val"), token(ctx, "valSource"), valImagesWord, token(ctx, "valImages")),
    ].flatMap((split) => split ?? []);
    return { kind: "Dataset", ...(format && { format }), ...(root && { root }), splits, span: ruleSpan(ctx) };
  }

  private datasetSplit(
    splitWord: IToken | undefined,
    source: IToken | undefined,
    imagesWord: CstElement | undefined,
    images: IToken | undefined,
  ): DatasetSplit | undefined {
    if (!splitWord) return undefined;
    const written = [splitWord, source, imagesWord, images].filter(
      (t): t is IToken => t !== undefined && !isNode(t) && isWritten(t),
    );
    const sourceLiteral = stringLiteral(source);
    const imagesLiteral = stringLiteral(images);
    return {
      kind: "DatasetSplit",
      split: identifier(splitWord),
      ...(sourceLiteral && { source: sourceLiteral }),
      ...(imagesLiteral && { images: imagesLiteral }),
      span: joinSpans(tokenSpan(splitWord), tokenSpan(written.at(-1) ?? splitWord)),
    };
  }

  settingsStatement(ctx: Children): SettingsStatement | undefined {
    const section = identifier(token(ctx, "Train") ?? token(ctx, "Rpn") ?? token(ctx, "Box"));
    const settings = nodes(ctx, "setting").flatMap((node) => (this.visit(node) as Setting | undefined) ?? []);
    return section && { kind: "Settings", section, settings, span: ruleSpan(ctx) };
  }

  setting(ctx: Children): Setting | undefined {
    const key = identifier(token(ctx, "key"));
    const values = [
      ...tokens(ctx, "NumberLiteral").map((t) => numberLiteral(t)),
      ...tokens(ctx, "StringLiteral").map((t) => stringLiteral(t)),
      ...tokens(ctx, "Identifier").map((t) => identifier(t)),
    ];
    return key && { kind: "Setting", key, values, span: ruleSpan(ctx) };
  }
}

/** Builds the AST of a parsed file; `comments` are the lexer's comment tokens. */
export function buildAst(cst: CstNode, comments: readonly IToken[], text: string): BuiltAst {
  const builder = new AstBuilder(text, comments);
  const file = builder.file(cst.children);
  return { file, problems: builder.problems };
}
