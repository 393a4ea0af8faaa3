#!/usr/bin/python3
"""Golden tensors for shared/preprocess, computed with torchvision's own eval transforms on PIL images.

Run with Debian's interpreter (it has torch, torchvision, PIL and numpy):
    /usr/bin/python3 infra/golden/make_preprocess_fixture.py [out_dir]
Writes two synthetic PNGs, one little-endian float32 [3, crop, crop] tensor per case, and cases.json.
"""
import json
import os
import sys

import numpy as np
from PIL import Image
import torchvision
from torchvision import transforms

IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
HALF = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}

# Each case exercises something different: down/upscaling, both kernels, odd crop margins (Python's
# round-half-even), a portrait image, and a crop larger than the resized image (zero padding).
CASES = [
    ("bicubic-down", "landscape", 96, 64, "bicubic", IMAGENET),
    ("bilinear-down", "landscape", 72, 56, "bilinear", IMAGENET),
    ("bicubic-up", "landscape", 240, 48, "bicubic", HALF),
    ("bilinear-up", "portrait", 300, 64, "bilinear", IMAGENET),
    ("bicubic-odd-margins", "landscape", 97, 64, "bicubic", IMAGENET),
    ("bicubic-portrait-down", "portrait", 81, 48, "bicubic", IMAGENET),
    ("bilinear-pad", "landscape", 60, 64, "bilinear", IMAGENET),
]


def synthetic(width, height, seed):
    """Gradients, hard edges, a thin grid and some noise: every resampling detail shows up."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 255 * x / (width - 1)
    g = 255 * y / (height - 1)
    b = 127.5 + 127.5 * np.sin(x / 7.0) * np.cos(y / 11.0)
    img = np.stack([r, g, b], axis=-1)
    img[(x // 23 + y // 17) % 2 == 0] *= 0.6  # checkerboard of hard edges
    img[(x.astype(int) % 31 == 0) | (y.astype(int) % 29 == 0)] = [255, 255, 255]
    cx, cy = width * 0.6, height * 0.4
    disc = (x - cx) ** 2 + (y - cy) ** 2 < (min(width, height) / 5) ** 2
    img[disc] = [20, 200, 60]
    img += rng.normal(0, 4, img.shape)
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), "RGB")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/preprocess"
    os.makedirs(out, exist_ok=True)
    images = {"landscape": synthetic(300, 200, 1), "portrait": synthetic(151, 233, 2)}
    for name, img in images.items():
        img.save(os.path.join(out, f"{name}.png"), optimize=True)
    modes = {"bilinear": transforms.InterpolationMode.BILINEAR, "bicubic": transforms.InterpolationMode.BICUBIC}
    cases = []
    for name, image, resize, crop, interp, norm in CASES:
        pipeline = transforms.Compose([
            transforms.Resize(resize, interpolation=modes[interp]),
            transforms.CenterCrop(crop),
            transforms.ToTensor(),
            transforms.Normalize(norm["mean"], norm["std"]),
        ])
        # Reload from disk so the reference sees exactly the PNG the tests read.
        with Image.open(os.path.join(out, f"{image}.png")) as src:
            tensor = pipeline(src.convert("RGB")).numpy().astype("<f4")
        assert tensor.shape == (3, crop, crop), tensor.shape
        tensor.tofile(os.path.join(out, f"{name}.f32"))
        cases.append({
            "name": name,
            "image": f"{image}.png",
            "tensor": f"{name}.f32",
            "spec": {"cropSize": crop, "resizeShorterSide": resize, "interpolation": interp, **norm},
        })
    meta = {"generator": "infra/golden/make_preprocess_fixture.py", "torchvision": torchvision.__version__,
            "pillow": Image.__version__, "cases": cases}
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
