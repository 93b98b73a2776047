/**
 * What the parser expected, in the words of someone writing a `.det` file ("a number", "'ratios'")
 * rather than Chevrotain's token-type names. Each parser error's message is only this description:
 * index.ts adds the token before and the token found, from the token list, because after
 * skipping input Chevrotain's own "previous token" can be one it skipped.
 */
import { EOF, type IParserErrorMessageProvider, type TokenType } from "chevrotain";
import { Dimensions, Identifier, NumberLiteral, StringLiteral } from "./tokens.js";

/** What a name is for, by the rule that asks for it. */
const nameByRule: Readonly<Record<string, string>> = {
  detector: "a detector name",
  backboneStatement: "a backbone name such as resnet50",
  tapStatement: "a node name such as features.6",
  roiStatement: "a level name",
  settingsStatement: "a setting name",
  setting: "a setting name",
};

function describe(tokenType: TokenType, ruleName?: string): string {
  switch (tokenType) {
    case Identifier:
      return (ruleName !== undefined ? nameByRule[ruleName] : undefined) ?? "a name";
    case NumberLiteral:
      return "a number";
    case StringLiteral:
      return "a string in double quotes";
    case Dimensions:
      return "a size such as 512x384";
    case EOF:
      // Only the file rule asks for the end of the file: whatever is here does not start a statement.
      return "a statement such as 'backbone', 'tap' or 'fpn', or a new 'detector'";
    default:
      // Keywords and punctuation are labelled with their text in quotes.
      return tokenType.LABEL ?? tokenType.name;
  }
}

/** The first token of each path, described once: "a number or '('". */
function describeFirsts(paths: readonly TokenType[][], ruleName?: string): string {
  const firsts = [...new Set(paths.flatMap((path) => path.slice(0, 1)).map((tokenType) => describe(tokenType, ruleName)))];
  return firsts.length <= 1 ? (firsts[0] ?? "") : `${firsts.slice(0, -1).join(", ")} or ${firsts.at(-1)}`;
}

export const expectedInUserWords: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, ruleName }) => describe(expected, ruleName),
  buildNotAllInputParsedMessage: () => describe(EOF),
  // Alternatives are told apart by their first token, so a name there is just "a name".
  buildNoViableAltMessage: ({ expectedPathsPerAlt }) => describeFirsts(expectedPathsPerAlt.flat()),
  buildEarlyExitMessage: ({ expectedIterationPaths, ruleName }) => describeFirsts(expectedIterationPaths, ruleName),
};
