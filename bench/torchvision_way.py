"""The way users learn a detector's feature-map numbers today: build each torchvision model and
run a dummy forward through create_feature_extractor at the seed tutorial's taps, printing
channels and strides. Random weights; nothing is downloaded. Used by bench/check.ts as the baseline."""
import torch
import torchvision
from torchvision.models.feature_extraction import create_feature_extractor

SEEDS = [
    ("vgg16_bn", ["features.42"]),
    ("resnet50", ["layer3"]),
    ("efficientnet_b0", ["features.5"]),
    ("mobilenet_v3_large", ["features.6", "features.12", "features.16"]),
    ("efficientnet_b0", ["features.3", "features.4", "features.8"]),
]

with torch.no_grad():
    for name, taps in SEEDS:
        model = getattr(torchvision.models, name)(weights=None).eval()
        body = create_feature_extractor(model, return_nodes={t: t for t in taps})
        for tap, out in body(torch.zeros(1, 3, 800, 800)).items():
            print(name, tap, out.shape[1], 800 // out.shape[-1])
