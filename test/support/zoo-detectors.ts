/** Specs that exercise the whole zoo: one FPN detector per network, over the coarsest strides it reaches. */
import { backbones } from "../../src/zoo/index.js";
import { tapPoints } from "../../src/zoo/tap-points.js";

/** [network, family, source]: an FPN detector over the three coarsest strides of every zoo network (tapped by module path where there is one). */
export function zooDetectors(): [string, string, string][] {
  return backbones.map((b): [string, string, string] => {
    const points = tapPoints(b.graph(), [800, 800]);
    // The three coarsest strides the network reaches (8, 16 and 32 for most; AlexNet and SqueezeNet stop earlier).
    const strides = [...new Set(points.map((p) => p.stride))].sort((x, y) => x - y).slice(-3);
    const taps = strides.map((stride) => points.filter((p) => p.stride === stride).sort((x, y) => x.node.split(".").length - y.node.split(".").length)[0]!.node);
    const sizes = [32, 64, 128, 256].slice(0, taps.length + 1);
    return [b.name, b.family, `detector d\nbackbone ${b.name}\ntap ${taps.join(", ")}\nfpn 256 extra maxpool\nanchors sizes ${sizes.join(", ")} ratios 0.5, 1.0, 2.0\nclasses 21\n`];
  });
}
