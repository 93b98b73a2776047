/** The checks of a spec against its data (`detc check --data`, and `detc run` before training), in reporting order. */
import type { DataRule } from "../anchor-data.js";
import { anchorsFittedToData } from "./anchors-fitted-to-data.js";
import { anchorsReachBoxes } from "./anchors-reach-boxes.js";
import { boxesFitAnchorSizes } from "./boxes-fit-anchor-sizes.js";
import { ratiosFitBoxes } from "./ratios-fit-boxes.js";

export const dataRules: readonly DataRule[] = [anchorsReachBoxes, boxesFitAnchorSizes, ratiosFitBoxes, anchorsFittedToData];
