/** Every rule the checker runs, in reporting order. Adding a check is adding a file and a line. */
import type { Rule } from "../rule.js";
import { anchorGroupsMatchLevels } from "./anchor-groups-match-levels.js";
import { anchorSizesFitLevels } from "./anchor-sizes-fit-levels.js";
import { anchorsPerLocationUniform } from "./anchors-per-location-uniform.js";
import { batchNormEpsValid } from "./batch-norm-eps-valid.js";
import { classesValid } from "./classes-valid.js";
import { finiteNumbers } from "./finite-numbers.js";
import { fpnLevelsDouble } from "./fpn-levels-double.js";
import { fpnTapsIncreasingStride } from "./fpn-taps-increasing-stride.js";
import { inChannelsMatch } from "./in-channels-match.js";
import { inputDivisible } from "./input-divisible.js";
import { knownBackbone } from "./known-backbone.js";
import { knownSettings } from "./known-settings.js";
import { knownTapNodes } from "./known-tap-nodes.js";
import { outChannelsMatch } from "./out-channels-match.js";
import { positiveNumbers } from "./positive-numbers.js";
import { requiredStatements } from "./required-statements.js";
import { roiLevelsExist } from "./roi-levels-exist.js";
import { singleStatements } from "./single-statements.js";
import { smallObjectsCoarseTap } from "./small-objects-coarse-tap.js";
import { tapsAreFeatureMaps } from "./taps-are-feature-maps.js";
import { trainableStagesExist } from "./trainable-stages-exist.js";
import { tapsShareChannelsWithoutFpn } from "./taps-share-channels-without-fpn.js";
import { uniqueDetectorNames } from "./unique-detector-names.js";
import { uniqueTaps } from "./unique-taps.js";
import { weightsFileExists } from "./weights-file-exists.js";

export const specifiedRules: readonly Rule[] = [
  requiredStatements,
  singleStatements,
  uniqueDetectorNames,
  trainableStagesExist,
  batchNormEpsValid,
  weightsFileExists,
  knownBackbone,
  knownTapNodes,
  uniqueTaps,
  tapsAreFeatureMaps,
  tapsShareChannelsWithoutFpn,
  fpnTapsIncreasingStride,
  fpnLevelsDouble,
  inputDivisible,
  outChannelsMatch,
  inChannelsMatch,
  anchorGroupsMatchLevels,
  anchorsPerLocationUniform,
  finiteNumbers,
  positiveNumbers,
  anchorSizesFitLevels,
  roiLevelsExist,
  smallObjectsCoarseTap,
  classesValid,
  knownSettings,
];
