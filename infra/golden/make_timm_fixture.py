"""Generate the timm golden fixture used by test/unit/parity-timm.test.ts.

timm is not a Debian package and is not vendored here: point the script at an extracted copy of its source
(the folder that contains the `timm` package), then run it with Debian's interpreter (python3-torch 1.13):

    mkdir -p /tmp/timm-src
    git --git-dir=<pytorch-image-models git dir> archive <commit> timm | tar -x -C /tmp/timm-src
    /usr/bin/python3 infra/golden/make_timm_fixture.py --timm /tmp/timm-src --timm-commit <commit> \
        [--out test/fixtures/timm-golden]

(`TIMM_SRC=/tmp/timm-src` works instead of --timm.) The committed fixture was made from commit aa4b5850
(timm 1.0.29.dev0) and torch 1.13; both versions are recorded in config.json. Another timm commit gives the
same files unless it changes how EfficientNet is built or initialised, and a fixture regenerated from any
commit is self-consistent (weights and logits come from the same run).

Two cases, both built by timm's own `_gen_efficientnet` from its B0 stage table with width 0.15, depth 0.5,
10 classes, and the keyword arguments timm's registered entry points add:
  tf_efficientnet  as tf_efficientnet_b0: TF "SAME" padding (pad_type='same'; every stride-2 conv becomes a
                   Conv2dSame that pads from the input size) and BatchNorm eps 1e-3
  efficientnet     as efficientnet_b0: PyTorch's symmetric padding and BatchNorm eps 1e-5
The resolution, 72, makes the feature maps 36, 18, 9, 5 and 3 pixels wide, so SAME padding is asymmetric
for some stride-2 convolutions (even inputs) and symmetric for others (odd inputs); both branches of the
factory's padding rule are checked. Depth 0.5 keeps residual blocks in three stages. Width 0.15 keeps each
checkpoint at 385 KB (0.9 MB for the whole fixture, about the size of the torchvision one) while the channel
counts still differ from stage to stage (8 to 48, head 192).

Weights are randomised the way make_torchvision_fixture.py does it (fan-in conv init, BatchNorm statistics
calibrated on random images and then perturbed, so that folding BatchNorm is really tested) and the
classifier is scaled to O(1) logits with a non-zero bias. Each case has its own seed.

Files written:
  config.json                      shared shape settings, versions, seed, and per case: the --source value
                                   of `npm run models -- build`, timm's pad_type and bn_eps, file names
  input.bin                        float32 LE, NCHW, shape input_shape (shared by both cases)
  <case>.safetensors               timm state_dict names, F32 LE (num_batches_tracked left out)
  <case>.logits.bin                float32 LE, shape logits_shape, computed in float64
"""

import argparse
import json
import os
import sys

import torch

from make_torchvision_fixture import randomise_batchnorm, write_f32, write_safetensors

WIDTH = 0.15
DEPTH = 0.5
RESOLUTION = 72
NUM_CLASSES = 10
BATCH = 2
SEED = 20261130


def import_timm(path: str | None):
    if not path:
        sys.exit("timm source not given: pass --timm DIR or set TIMM_SRC (DIR holds the timm package)")
    if not os.path.isfile(os.path.join(path, "timm", "__init__.py")):
        sys.exit(f"{path} has no timm/__init__.py")
    sys.path.insert(0, os.path.abspath(path))
    import timm

    return timm


def case_settings() -> dict:
    from timm.models._efficientnet_builder import BN_EPS_TF_DEFAULT

    # The keyword arguments of timm's registered tf_efficientnet_b0 and efficientnet_b0 entry points; the
    # entry points themselves fix the multipliers, so the reduced models go through the generator they call.
    return {
        "tf_efficientnet": {"source": "tf", "timm_variant": "tf_efficientnet_b0",
                            "kwargs": {"bn_eps": BN_EPS_TF_DEFAULT, "pad_type": "same"}},
        "efficientnet": {"source": "timm", "timm_variant": "efficientnet_b0", "kwargs": {}},
    }


def build_model(variant: str, kwargs: dict) -> torch.nn.Module:
    from timm.models.efficientnet import _gen_efficientnet

    return _gen_efficientnet(variant, channel_multiplier=WIDTH, depth_multiplier=DEPTH,
                             num_classes=NUM_CLASSES, **kwargs)


def shrink_classifier(model: torch.nn.Module, gen: torch.Generator) -> None:
    # As in the torchvision fixture: O(1) logits keep float32 rounding far below 1e-4, and a non-zero bias
    # catches a dropped one. The narrower head (192 features) takes a larger factor than torchvision's 0.02
    # to keep the logits clearly input-dependent (they differ by ~1 between the two images).
    linear = model.classifier
    assert isinstance(linear, torch.nn.Linear)
    with torch.no_grad():
        linear.weight.mul_(0.05)
        linear.bias.copy_(0.5 * torch.randn(linear.out_features, generator=gen))


def make_case(name: str, settings: dict, seed: int, inputs: torch.Tensor, out_dir: str) -> dict:
    from timm.layers import Conv2dSame

    torch.manual_seed(seed)  # timm's constructor initialises from the global RNG
    gen = torch.Generator().manual_seed(seed)
    model = build_model(settings["timm_variant"], settings["kwargs"])
    randomise_batchnorm(model, gen, RESOLUTION)
    shrink_classifier(model, gen)
    model.eval()

    bn_eps = {m.eps for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)}
    assert len(bn_eps) == 1, bn_eps
    same_convs = sum(1 for m in model.modules() if isinstance(m, Conv2dSame))

    with torch.no_grad():
        logits32 = model(inputs)
        logits = model.double()(inputs.double()).float()
        model.float()
    float32_error = (logits32 - logits).abs().max().item()

    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    weights_file, logits_file = f"{name}.safetensors", f"{name}.logits.bin"
    write_safetensors(os.path.join(out_dir, weights_file), state)
    write_f32(os.path.join(out_dir, logits_file), logits)

    spread = (logits[0] - logits[1]).abs().max().item()
    print(f"{name}: tensors {len(state)}, parameters {sum(int(v.numel()) for v in state.values())}, "
          f"Conv2dSame {same_convs}, max |logit| {logits.abs().max().item():.4f}, "
          f"float32 vs float64 {float32_error:.2e}, max |logits[0] - logits[1]| {spread:.4f}")
    return {
        "source": settings["source"],
        "timm_variant": settings["timm_variant"],
        "pad_type": settings["kwargs"].get("pad_type", ""),
        "bn_eps": bn_eps.pop(),
        "same_padding_convs": same_convs,
        "seed": seed,
        "weights": weights_file,
        "logits": logits_file,
        "parameter_count": sum(int(v.numel()) for v in state.values()),
        "torch_float32_max_abs_error": float32_error,
        "argmax": logits.argmax(dim=1).tolist(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timm", default=os.environ.get("TIMM_SRC"), help="folder holding the timm package")
    parser.add_argument("--timm-commit", default=None, help="recorded in config.json")
    parser.add_argument("--out", default="test/fixtures/timm-golden")
    args = parser.parse_args()
    timm = import_timm(args.timm)

    gen = torch.Generator().manual_seed(SEED)
    inputs = torch.randn(BATCH, 3, RESOLUTION, RESOLUTION, generator=gen)
    os.makedirs(args.out, exist_ok=True)
    write_f32(os.path.join(args.out, "input.bin"), inputs)

    cases = {}
    for i, (name, settings) in enumerate(case_settings().items()):
        cases[name] = make_case(name, settings, SEED + 1 + i, inputs, args.out)

    config = {
        "arch": "efficientnet_b0 stage table (timm _gen_efficientnet)",
        "width": WIDTH,
        "depth": DEPTH,
        "resolution": RESOLUTION,
        "num_classes": NUM_CLASSES,
        "seed": SEED,
        "input_shape": list(inputs.shape),
        "logits_shape": [BATCH, NUM_CLASSES],
        "torch_version": torch.__version__,
        "timm_version": timm.__version__,
        "timm_commit": args.timm_commit,
        "logits_dtype": "computed in float64, stored as float32",
        "cases": cases,
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")

    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out))
    print(f"fixture bytes: {total}")


if __name__ == "__main__":
    main()
