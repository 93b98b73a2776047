/**
 * The grammar of `.det` files as a Chevrotain CST parser. It only recognises structure: counts,
 * ranges and cross-references are the checker's job. grammar/detc.ebnf is the same grammar for
 * people to read.
 */
import { CstParser, EOF, tokenMatcher, type IParserErrorMessageProvider, type IToken } from "chevrotain";
import { expectedInUserWords } from "./syntax-messages.js";
import {
  Align, Anchors, Backbone, BatchNormEps, Box, Classes, Coco, Comma, Dataset, Detector, Dimensions, Extra, Fpn,
  Identifier, Images, InChannels, Input, LParen, Max, Maxpool, Min, NumberLiteral, On, OutChannels,
  Ratios, Roi, RParen, Rpn, Sampling, Sizes, StringLiteral, Synthetic, Tap, Train, Trainable, Val,
  Voc, Weights, allTokens,
} from "./tokens.js";

/**
 * Raised when a parse has met as many syntax errors as it may: recovering from each one costs
 * far more than reading a token, so a file of junk would otherwise take minutes. `token` is
 * where the parser was.
 */
export class SyntaxErrorBudgetSpent extends Error {
  constructor(readonly token: IToken) {
    super("too many syntax errors");
  }
}

/** The user-worded messages, each one also spending one error of the current parse's budget. */
function budgeted(parser: () => DetParser): IParserErrorMessageProvider {
  const spend = (token: IToken | undefined) => {
    const current = parser();
    if (--current.errorBudget < 0 && token !== undefined) throw new SyntaxErrorBudgetSpent(token);
  };
  return {
    buildMismatchTokenMessage: (options) => (spend(options.actual), expectedInUserWords.buildMismatchTokenMessage(options)),
    buildNotAllInputParsedMessage: (options) => (spend(options.firstRedundant), expectedInUserWords.buildNotAllInputParsedMessage(options)),
    buildNoViableAltMessage: (options) => (spend(options.actual[0]), expectedInUserWords.buildNoViableAltMessage(options)),
    buildEarlyExitMessage: (options) => (spend(options.actual[0]), expectedInUserWords.buildEarlyExitMessage(options)),
  };
}

export class DetParser extends CstParser {
  /** Syntax errors this parse may still meet before it throws SyntaxErrorBudgetSpent; set before each parse. */
  errorBudget = Number.POSITIVE_INFINITY;

  constructor() {
    super([...allTokens], { recoveryEnabled: true, nodeLocationTracking: "full", errorMessageProvider: budgeted(() => detParser) });
    this.performSelfAnalysis();
  }

  /**
   * Statements are also accepted before the first detector, so that a missing `detector NAME`
   * line is reported as such instead of as unexpected input. The explicit end of file lets the
   * parser skip a stray token and resume at the next statement rather than at the next detector.
   */
  file = this.RULE("file", () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.detector) },
        { ALT: () => this.SUBRULE(this.statement) },
      ]);
    });
    this.CONSUME(EOF);
  });

  detector = this.RULE("detector", () => {
    this.CONSUME(Detector);
    this.CONSUME(Identifier);
    this.MANY(() => this.SUBRULE(this.statement));
  });

  statement = this.RULE("statement", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.backboneStatement) },
      { ALT: () => this.SUBRULE(this.tapStatement) },
      { ALT: () => this.SUBRULE(this.fpnStatement) },
      { ALT: () => this.SUBRULE(this.anchorsStatement) },
      { ALT: () => this.SUBRULE(this.roiStatement) },
      { ALT: () => this.SUBRULE(this.classesStatement) },
      { ALT: () => this.SUBRULE(this.outChannelsStatement) },
      { ALT: () => this.SUBRULE(this.inChannelsStatement) },
      { ALT: () => this.SUBRULE(this.inputStatement) },
      { ALT: () => this.SUBRULE(this.datasetStatement) },
      { ALT: () => this.SUBRULE(this.settingsStatement) },
    ]);
  });

  backboneStatement = this.RULE("backboneStatement", () => {
    this.CONSUME(Backbone);
    this.CONSUME(Identifier);
    this.OPTION(() => {
      this.CONSUME(Weights);
      this.CONSUME(StringLiteral);
    });
    this.OPTION2(() => {
      this.CONSUME(Trainable);
      this.CONSUME(NumberLiteral);
    });
    this.OPTION3(() => {
      this.CONSUME(BatchNormEps);
      this.CONSUME2(NumberLiteral, { LABEL: "eps" });
    });
  });

  tapStatement = this.RULE("tapStatement", () => {
    this.CONSUME(Tap);
    this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => this.CONSUME(Identifier) });
  });

  fpnStatement = this.RULE("fpnStatement", () => {
    this.CONSUME(Fpn);
    this.CONSUME(NumberLiteral);
    this.OPTION(() => {
      this.CONSUME(Extra);
      this.CONSUME(Maxpool);
    });
  });

  anchorsStatement = this.RULE("anchorsStatement", () => {
    this.CONSUME(Anchors);
    this.CONSUME(Sizes);
    this.SUBRULE(this.anchorSizes);
    this.CONSUME(Ratios);
    this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => this.CONSUME(NumberLiteral) });
  });

  /** A flat list (one size per level) or parenthesised groups (one group per level). */
  anchorSizes = this.RULE("anchorSizes", () => {
    this.OR([
      { ALT: () => this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => this.CONSUME(NumberLiteral) }) },
      {
        ALT: () => {
          this.SUBRULE(this.anchorSizeGroup);
          this.MANY(() => {
            this.OPTION(() => this.CONSUME(Comma));
            this.SUBRULE2(this.anchorSizeGroup);
          });
        },
      },
    ]);
  });

  anchorSizeGroup = this.RULE("anchorSizeGroup", () => {
    this.CONSUME(LParen);
    this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => this.CONSUME(NumberLiteral) });
    this.CONSUME(RParen);
  });

  roiStatement = this.RULE("roiStatement", () => {
    this.CONSUME(Roi);
    this.CONSUME(Align);
    this.CONSUME(NumberLiteral, { LABEL: "outputSize" });
    this.CONSUME(Sampling);
    this.CONSUME2(NumberLiteral, { LABEL: "samplingRatio" });
    this.OPTION(() => {
      this.CONSUME(On);
      this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => this.CONSUME(Identifier) });
    });
  });

  classesStatement = this.RULE("classesStatement", () => {
    this.CONSUME(Classes);
    this.OR([
      { ALT: () => this.CONSUME(NumberLiteral) },
      { ALT: () => this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => this.CONSUME(StringLiteral) }) },
    ]);
  });

  outChannelsStatement = this.RULE("outChannelsStatement", () => {
    this.CONSUME(OutChannels);
    this.CONSUME(NumberLiteral);
  });

  inChannelsStatement = this.RULE("inChannelsStatement", () => {
    this.CONSUME(InChannels);
    this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => this.CONSUME(NumberLiteral) });
  });

  inputStatement = this.RULE("inputStatement", () => {
    this.CONSUME(Input);
    this.OR([
      { ALT: () => this.CONSUME(NumberLiteral, { LABEL: "size" }) },
      { ALT: () => this.CONSUME(Dimensions) },
      {
        ALT: () => {
          this.CONSUME(Min);
          this.CONSUME2(NumberLiteral, { LABEL: "minSize" });
          this.CONSUME(Max);
          this.CONSUME3(NumberLiteral, { LABEL: "maxSize" });
        },
      },
    ]);
  });

  datasetStatement = this.RULE("datasetStatement", () => {
    this.CONSUME(Dataset);
    this.OR([
      { ALT: () => this.CONSUME(Synthetic) },
      {
        ALT: () => {
          this.CONSUME(Coco);
          this.CONSUME(Train);
          this.CONSUME(StringLiteral, { LABEL: "trainSource" });
          this.CONSUME(Images);
          this.CONSUME2(StringLiteral, { LABEL: "trainImages" });
          this.OPTION(() => {
            this.CONSUME(Val);
            this.CONSUME3(StringLiteral, { LABEL: "valSource" });
            this.CONSUME2(Images);
            this.CONSUME4(StringLiteral, { LABEL: "valImages" });
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(Voc);
          this.CONSUME5(StringLiteral, { LABEL: "root" });
          // Chevrotain looks ahead only inside the rule; without this gate a following
          // `train epochs 12` statement would be taken for the split.
          this.OPTION2({
            GATE: () => tokenMatcher(this.LA(2), StringLiteral),
            DEF: () => {
              this.CONSUME2(Train);
              this.CONSUME6(StringLiteral, { LABEL: "trainSource" });
            },
          });
          this.OPTION3(() => {
            this.CONSUME2(Val);
            this.CONSUME7(StringLiteral, { LABEL: "valSource" });
          });
        },
      },
    ]);
  });

  settingsStatement = this.RULE("settingsStatement", () => {
    this.OR([
      { ALT: () => this.CONSUME(Train) },
      { ALT: () => this.CONSUME(Rpn) },
      { ALT: () => this.CONSUME(Box) },
    ]);
    this.AT_LEAST_ONE(() => this.SUBRULE(this.setting));
  });

  setting = this.RULE("setting", () => {
    this.CONSUME(Identifier, { LABEL: "key" });
    this.OR([
      { ALT: () => this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => this.CONSUME(NumberLiteral) }) },
      { ALT: () => this.CONSUME(StringLiteral) },
      { ALT: () => this.CONSUME2(Identifier) },
    ]);
  });
}

/** One instance, as Chevrotain recommends: building a parser analyses the whole grammar. */
export const detParser = new DetParser();
