/**
 * The tokens of a `.det` file. Labels are what syntax diagrams show: literal text in quotes
 * (`'fpn'`, `','`), classes of text in capitals (`NAME`, `NUMBER`).
 */
import { createToken, Lexer, type TokenType } from "chevrotain";

/** Includes the byte-order mark some editors put at the start of a file. */
export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n\uFEFF]+/, group: Lexer.SKIPPED });

/** Kept in their own group rather than skipped, so a formatter can put them back. */
export const Comment = createToken({ name: "Comment", pattern: /#[^\r\n]*/, group: "comments" });

/**
 * A double-quoted string on one line. The closing quote and the escapes are deliberately not
 * enforced here: a broken string still lexes as one token, so the parser carries on and the
 * problem is reported once, on the string itself.
 */
export const StringLiteral = createToken({ name: "StringLiteral", pattern: /"(?:[^"\\\r\n]|\\.)*"?/, label: "STRING" });

/** `512x384`: height × width. Listed before numbers so `512` is not taken on its own. */
export const Dimensions = createToken({ name: "Dimensions", pattern: /\d+x\d+/, label: "HxW" });

/** Signed so that `-1` reaches the checker, which explains why sizes must be positive. */
export const NumberLiteral = createToken({
  name: "NumberLiteral",
  pattern: /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/,
  label: "NUMBER",
});

export const Comma = createToken({ name: "Comma", pattern: ",", label: "','" });
export const LParen = createToken({ name: "LParen", pattern: "(", label: "'('" });
export const RParen = createToken({ name: "RParen", pattern: ")", label: "')'" });

/** Names as torchvision spells them: `features.42`, `layer3.5.relu_2`, `block1-0`. */
export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][\w.-]*/, label: "NAME" });

/**
 * Statement keywords are reserved: a settings list (`train epochs 12 …`) runs until the next one.
 * Clause keywords are only keywords where the grammar asks for them and names everywhere else,
 * so a detector may be called `coco` or a setting `max`.
 */
function keyword(word: string, reserved: boolean): TokenType {
  return createToken({
    name: word.replace(/(?:^|_)(\w)/g, (_, letter: string) => letter.toUpperCase()),
    pattern: word,
    label: `'${word}'`,
    longer_alt: Identifier,
    categories: reserved ? [] : [Identifier],
  });
}

export const Detector = keyword("detector", true);
export const Backbone = keyword("backbone", true);
export const Tap = keyword("tap", true);
export const Fpn = keyword("fpn", true);
export const Anchors = keyword("anchors", true);
export const Roi = keyword("roi", true);
export const Classes = keyword("classes", true);
export const OutChannels = keyword("out_channels", true);
export const InChannels = keyword("in_channels", true);
export const Input = keyword("input", true);
export const Dataset = keyword("dataset", true);
export const Train = keyword("train", true);
export const Rpn = keyword("rpn", true);
export const Box = keyword("box", true);

export const Weights = keyword("weights", false);
export const Trainable = keyword("trainable", false);
export const BatchNormEps = keyword("batch_norm_eps", false);
export const Extra = keyword("extra", false);
export const Maxpool = keyword("maxpool", false);
export const Sizes = keyword("sizes", false);
export const Ratios = keyword("ratios", false);
export const Align = keyword("align", false);
export const Sampling = keyword("sampling", false);
export const On = keyword("on", false);
export const Min = keyword("min", false);
export const Max = keyword("max", false);
export const Synthetic = keyword("synthetic", false);
export const Coco = keyword("coco", false);
export const Voc = keyword("voc", false);
export const Images = keyword("images", false);
export const Val = keyword("val", false);

export const keywords: readonly TokenType[] = [
  Detector, Backbone, Tap, Fpn, Anchors, Roi, Classes, OutChannels, InChannels, Input, Dataset, Train, Rpn, Box,
  Weights, Trainable, BatchNormEps, Extra, Maxpool, Sizes, Ratios, Align, Sampling, On, Min, Max, Synthetic, Coco, Voc, Images, Val,
];

/**
 * Lexing order. The lexer takes the first pattern that matches, so longer keywords go first:
 * otherwise `max` would claim the start of `maxpool` and `train` the start of `trainable`.
 */
export const allTokens: readonly TokenType[] = [
  WhiteSpace,
  Comment,
  StringLiteral,
  Dimensions,
  NumberLiteral,
  Comma,
  LParen,
  RParen,
  ...[...keywords].sort((a, b) => String(b.PATTERN).length - String(a.PATTERN).length),
  Identifier,
];

export const detLexer = new Lexer([...allTokens], { positionTracking: "full" });
