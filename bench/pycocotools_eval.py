"""pycocotools' box evaluation of a results file, as its users run it (bench/eval.ts times this process).

    python pycocotools_eval.py GROUND_TRUTH.json DETECTIONS.json

Prints pycocotools' own summary on stderr and, as its last line of stdout, the 12 stats by name.
"""
import contextlib
import json
import sys

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

STAT_NAMES = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]

ground_truth_file, detections_file = sys.argv[1:]
with contextlib.redirect_stdout(sys.stderr):
    coco_gt = COCO(ground_truth_file)
    coco_dt = coco_gt.loadRes(detections_file)
    coco_eval = COCOeval(coco_gt, coco_dt, "bbox")
    coco_eval.evaluate()
    coco_eval.accumulate()
    coco_eval.summarize()
print(json.dumps(dict(zip(STAT_NAMES, (float(value) for value in coco_eval.stats)))))
