"""Generate the torchvision golden fixture used by test/unit/parity-torchvision.test.ts.

Run by hand with Debian's interpreter, which has python3-torch 1.13 and python3-torchvision 0.14:

    /usr/bin/python3 infra/golden/make_torchvision_fixture.py [--out test/fixtures/torchvision-golden]

It builds a reduced torchvision EfficientNet (the B0 stage table with width 0.25 and depth 0.5, 10 classes,
BatchNorm eps 1e-5 as torchvision uses for B0-B7). Depth 0.5 leaves three stages with two repeats, so
residual connections are exercised; width 0.25 even gives the first block a residual (8 -> 8, stride 1),
which full-size B0 does not have. Every BatchNorm gets random running statistics and affine parameters
(fixed seed) so that a factory which folds BatchNorm into convolutions is really tested, and the model is
evaluated in eval mode on fixed random inputs at 64 x 64.

Files written:
  config.json         width, depth, resolution, num_classes, bn_eps, versions, seed, input shape
  weights.safetensors torchvision state_dict names, F32 little-endian (num_batches_tracked is left out:
                      it is a training counter with no effect in eval mode)
  input.bin           float32 LE, NCHW, shape config.input_shape
  logits.bin          float32 LE, shape [batch, num_classes], computed in float64

A full-size B0 would be the most direct check, but its weights are 21 MB, beyond the 5 MB budget for
fixtures kept in the repository, so the reduced configuration stands in for it: the architecture code is
the same, only the channel and repeat counts differ.

The safetensors file is written by hand (the safetensors package is not installed): an unsigned 64-bit
little-endian header length, a JSON header mapping each tensor name to dtype, shape and byte offsets, then
the raw tensor bytes.
"""

import argparse
import json
import os
import struct

import torch
import torchvision
from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf

WIDTH = 0.25
DEPTH = 0.5
RESOLUTION = 64
NUM_CLASSES = 10
BATCH = 2
SEED = 20261125
BN_EPS = 1e-5  # torchvision's B0-B7 use BatchNorm2d's default


def build_model() -> EfficientNet:
    settings, last_channel = _efficientnet_conf("efficientnet_b0", width_mult=WIDTH, depth_mult=DEPTH)
    return EfficientNet(settings, dropout=0.2, num_classes=NUM_CLASSES, last_channel=last_channel)


def randomise_batchnorm(model: torch.nn.Module, gen: torch.Generator, resolution: int = RESOLUTION) -> None:
    # Identity-like statistics (mean 0, var 1, weight 1, bias 0) would let a factory that ignores BN pass,
    # while arbitrary statistics make an untrained network collapse to input-independent logits. So the
    # running statistics are first measured on random calibration images (keeping activations at a sane
    # scale), then perturbed so that they are not exactly the batch statistics either.
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        # torchvision's fan_out init makes depthwise outputs ~1e-3 in variance, where eps 1e-5 is no longer
        # negligible; fan_in init keeps every stage near unit variance, like a trained network.
        for conv in model.modules():
            if isinstance(conv, torch.nn.Conv2d):
                fan_in = conv.weight[0].numel()
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
        for bn in bns:
            n = bn.num_features
            bn.weight.copy_(0.5 + torch.rand(n, generator=gen))
            bn.bias.copy_(0.2 * torch.randn(n, generator=gen))
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the calibration passes
        model.eval()
        for bn in bns:
            bn.train()  # only BN in training mode: stochastic depth and dropout stay off
        for _ in range(4):
            model(torch.randn(8, 3, resolution, resolution, generator=gen))
        model.eval()
        for bn in bns:
            n = bn.num_features
            std = bn.running_var.sqrt()
            bn.running_mean.add_(0.2 * std * torch.randn(n, generator=gen))
            bn.running_var.mul_(0.7 + 0.6 * torch.rand(n, generator=gen))


def shrink_classifier(model: EfficientNet, gen: torch.Generator) -> None:
    # With calibrated features the default classifier gives logits of ~50; at that magnitude float32
    # rounding alone approaches the test's 1e-4 absolute tolerance. Scale them to O(1) and give the
    # bias non-zero values so that a dropped bias is detected.
    linear = model.classifier[1]
    assert isinstance(linear, torch.nn.Linear)
    with torch.no_grad():
        linear.weight.mul_(0.02)
        linear.bias.copy_(0.5 * torch.randn(linear.out_features, generator=gen))


def write_safetensors(path: str, tensors: dict) -> None:
    header = {}
    blobs = []
    offset = 0
    for name, tensor in tensors.items():
        data = tensor.detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    # Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
    header_bytes += b" " * ((8 - len(header_bytes) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for blob in blobs:
            f.write(blob)


def write_f32(path: str, tensor: torch.Tensor) -> None:
    with open(path, "wb") as f:
        f.write(tensor.detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="test/fixtures/torchvision-golden")
    args = parser.parse_args()

    torch.manual_seed(SEED)  # the constructor's kaiming/uniform initialisation draws from the global RNG
    gen = torch.Generator().manual_seed(SEED)
    model = build_model()
    randomise_batchnorm(model, gen)
    shrink_classifier(model, gen)
    model.eval()

    inputs = torch.randn(BATCH, 3, RESOLUTION, RESOLUTION, generator=gen)
    with torch.no_grad():
        logits32 = model(inputs)
        # The reference is computed in float64 so that it is the network's exact output; float32 engines
        # (torch, ONNX Runtime) then each sit about 1e-5 from it, well inside the test's 1e-4.
        logits = model.double()(inputs.double()).float()
        model.float()
    float32_error = (logits32 - logits).abs().max().item()

    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    os.makedirs(args.out, exist_ok=True)
    write_safetensors(os.path.join(args.out, "weights.safetensors"), state)
    write_f32(os.path.join(args.out, "input.bin"), inputs)
    write_f32(os.path.join(args.out, "logits.bin"), logits)
    config = {
        "arch": "efficientnet_b0 stage table (torchvision)",
        "width": WIDTH,
        "depth": DEPTH,
        "resolution": RESOLUTION,
        "num_classes": NUM_CLASSES,
        "bn_eps": BN_EPS,
        "seed": SEED,
        "input_shape": list(inputs.shape),
        "logits_shape": list(logits.shape),
        "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__,
        "parameter_count": sum(int(v.numel()) for v in state.values()),
        "logits_dtype": "computed in float64, stored as float32",
        "torch_float32_max_abs_error": float32_error,
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")

    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out))
    print(f"tensors: {len(state)}, parameters: {config['parameter_count']}, fixture bytes: {total}")
    print(f"max |logit|: {logits.abs().max().item():.4f}, logit std: {logits.std().item():.4f}")
    print(f"torch float32 vs float64 max |diff|: {float32_error:.2e}")
    spread = (logits[0] - logits[1]).abs().max().item()
    print(f"max |logits[0] - logits[1]|: {spread:.4f} (must not be ~0, or the output ignores the input)")
    print("logits:", [[round(x, 4) for x in row] for row in logits.tolist()])


if __name__ == "__main__":
    main()
