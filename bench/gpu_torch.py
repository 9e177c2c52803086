#!/usr/bin/env python3
"""PyTorch side of bench/gpu.sh: the bench's workloads in PyTorch, for comparison.

The same convolutions as `npm run bench -- loops` / `peers` (the lab's simpleCnn 3x3 layers
and the dilated layer), the same square matrix products, and one training step (Adam,
cross-entropy, batch 64, 3x32x32) of the lab's models as `npm run bench -- train` builds them.
float32 with TF32 off, so the numbers compare with WGSL's f32 kernels; CUDA when there is one,
else the CPU. Medians of timed runs after warm-up, each waiting for the device.

    python3 bench/gpu_torch.py [--json out.json] [--webgrad results.json] [--budget seconds]

--webgrad takes the JSON that bench/gpu-main.ts wrote and prints webgrad/PyTorch ratios for
the rows both measured. Never needed by the project; only the GPU bench runs it.
"""
import argparse
import json
import re
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONVS = [  # name, cin, cout, size, pad, dilation (3x3)
    ("3→32 @32×32", 3, 32, 32, 1, 1),
    ("32→64 @16×16", 32, 64, 16, 1, 1),
    ("64→128 @8×8", 64, 128, 8, 1, 1),
    ("32→64 @30×30 dilation 2", 32, 64, 30, 0, 2),
]
MATMULS = [256, 512, 1024, 2048, 4096]
BATCH = 64


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def median_ms(fn, dev, warmup=3, repeats=20, budget_s=2.0):
    for _ in range(warmup):
        fn()
    sync(dev)
    times = []
    start = time.perf_counter()
    while len(times) < repeats and (len(times) < 3 or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        fn()
        sync(dev)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2))


def simple_cnn():
    return nn.Sequential(block(3, 32), block(32, 64), block(64, 128), nn.Flatten(), nn.Linear(128 * 4 * 4, 10))


def dilated_cnn():
    layers, cin = [], 3
    for d, c in zip([1, 2, 5], [32, 64, 128]):
        layers += [nn.Conv2d(cin, c, 3, dilation=d), nn.BatchNorm2d(c), nn.ReLU()]
        cin = c
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        return F.relu(y + (x if self.short is None else self.short(x)))


def resnet18():
    layers, cin = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()], 64
    for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
        cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10))


# Names as bench/train.ts prints them, so the rows can be joined.
MODELS = [
    ("simpleCnn 3 blocks 32/64/128", simple_cnn),
    ("dilatedCnn [1,2,5]", dilated_cnn),
    ("resnet18", resnet18),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--webgrad", help="results JSON of bench/gpu-main.ts, for ratios")
    ap.add_argument("--budget", type=float, default=2.0, help="seconds per measurement at most")
    args = ap.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name(0) if dev.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    print(f"PyTorch {torch.__version__} on {name}, float32, TF32 off", flush=True)
    torch.manual_seed(0)
    out = {"torch": torch.__version__, "device": name, "conv": [], "matmul": [], "train": []}

    wgr = load_webgrad(args.webgrad) if args.webgrad else {}
    convs, matmuls = list(CONVS), list(MATMULS)
    # The kernels group's own shapes, so that its rows can be compared one to one.
    for name in kernels_rows(wgr):
        shape = parse_kernels_conv(name)
        if shape and all(c[1:] != shape[1:] for c in convs):
            convs.append(shape)
        m = re.match(r"matmul (\d+)\^3", name)
        if m and int(m.group(1)) not in matmuls:
            matmuls.append(int(m.group(1)))

    for cname, cin, cout, size, pad, dil in convs:
        o = size + 2 * pad - dil * 2
        x = torch.randn(BATCH, cin, size, size, device=dev, requires_grad=True)
        w = torch.randn(cout, cin, 3, 3, device=dev, requires_grad=True)
        gy = torch.randn(BATCH, cout, o, o, device=dev)
        flops = 2 * BATCH * cout * o * o * cin * 9

        def fwd():
            with torch.no_grad():
                F.conv2d(x, w, padding=pad, dilation=dil)

        def both():
            y = F.conv2d(x, w, padding=pad, dilation=dil)
            gx, gw = torch.autograd.grad(y, (x, w), gy)

        f = median_ms(fwd, dev, budget_s=args.budget)
        b = median_ms(both, dev, budget_s=args.budget)
        row = {"conv": cname, "key": [cin, cout, size, pad, dil], "batch": BATCH, "forward ms": f, "fwd+bwd ms": b, "forward GFLOP/s": flops / f / 1e6, "fwd+bwd GFLOP/s": 3 * flops / b / 1e6}
        out["conv"].append(row)
        print(f"  conv {cname}: forward {row['forward GFLOP/s']:.1f} GFLOP/s, fwd+bwd {row['fwd+bwd GFLOP/s']:.1f} GFLOP/s", flush=True)

    for n in sorted(matmuls):
        if dev.type == "cpu" and n > 1024:
            continue
        a = torch.randn(n, n, device=dev)
        b_ = torch.randn(n, n, device=dev)
        ms = median_ms(lambda: a @ b_, dev, budget_s=args.budget)
        out["matmul"].append({"n": n, "ms": ms, "GFLOP/s": 2 * n**3 / ms / 1e6})
        print(f"  matmul {n}³: {2 * n**3 / ms / 1e6:.1f} GFLOP/s", flush=True)

    for mname, make in MODELS:
        model = make().to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x = torch.randn(BATCH, 3, 32, 32, device=dev)
        y = torch.randint(0, 10, (BATCH,), device=dev)

        def step():
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            loss.item()

        ms = median_ms(step, dev, warmup=3, repeats=20, budget_s=args.budget * 2)
        out["train"].append({"model": mname, "images/s": BATCH * 1000 / ms, "ms/step": ms})
        print(f"  train {mname}: {BATCH * 1000 / ms:.0f} images/s", flush=True)

    print_tables(out)
    if args.webgrad:
        compare(out, wgr)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)


def table(title, rows):
    if not rows:
        return
    cols = list(rows[0].keys())
    cell = lambda v: (f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}") if isinstance(v, float) else str(v)
    widths = [max(len(c), *(len(cell(r.get(c, ""))) for r in rows)) for c in cols]
    print(f"\n{title}")
    print("  ".join(c.rjust(w) for c, w in zip(cols, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(cell(r.get(c, "")).rjust(w) for c, w in zip(cols, widths)))


def print_tables(out):
    dev = out["device"]
    table(f"PyTorch {out['torch']} on {dev}: convolutions, batch {BATCH}", [{k: v for k, v in r.items() if k != "key"} for r in out["conv"]])
    table(f"PyTorch {out['torch']} on {dev}: matmul", out["matmul"])
    table(f"PyTorch {out['torch']} on {dev}: one training step, batch {BATCH}, Adam", out["train"])


def load_webgrad(path):
    try:
        with open(path) as fh:
            return json.load(fh)["results"]
    except (OSError, KeyError, ValueError) as err:
        print(f"(no webgrad results to compare: {err})")
        return {}


def kernels_rows(wgr):
    """{name: GFLOP/s} of the kernels group's webgpu column."""
    for dev, rows in (wgr.get("kernels") or {}).items():
        if dev.startswith("webgpu") and isinstance(rows, dict):
            return rows
    return {}


def parse_kernels_conv(name):
    """'conv2d (64,32,16,16)->64 k3 [d2] p1 forward' -> a CONVS entry (batch 64, square, 3x3 only)."""
    m = re.match(r"conv2d \((\d+),(\d+),(\d+),(\d+)\)->(\d+) k(\d+)(?: d(\d+))? p(\d+)", name)
    if not m or int(m.group(1)) != BATCH or m.group(3) != m.group(4) or m.group(6) != "3":
        return None
    cin, size, cout, dil, pad = int(m.group(2)), int(m.group(3)), int(m.group(5)), int(m.group(7) or 1), int(m.group(8))
    return (f"{cin}→{cout} @{size}×{size}" + (f" dilation {dil}" if dil > 1 else "") + (f" padding {pad}" if pad != 1 else ""), cin, cout, size, pad, dil)


def compare(out, wgr):
    """webgrad (webgpu rows of the gpu-main JSON) against PyTorch, where both measured a workload."""
    if not wgr:
        return
    rows = []
    for name, mine in kernels_rows(wgr).items():
        if not isinstance(mine, (int, float)):
            continue
        peer, pk = None, None
        shape = parse_kernels_conv(name)
        if shape:
            peer = next((t for t in out["conv"] if t["key"] == list(shape[1:])), None)
            pk = "fwd+bwd GFLOP/s" if name.endswith("fwd+bwd") else "forward GFLOP/s"
        m = re.match(r"matmul (\d+)\^3", name)
        if m:
            peer = next((t for t in out["matmul"] if t["n"] == int(m.group(1))), None)
            pk = "GFLOP/s"
        if peer:
            rows.append({"workload": f"kernels: {name}", "unit": "GFLOP/s", "webgrad webgpu": float(mine), "PyTorch": peer[pk], "webgrad/PyTorch": f"{mine / peer[pk]:.3g}×"})
    for r in (wgr.get("train") or {}).get("rows", []):
        mine = r.get("images/s")
        if not isinstance(mine, (int, float)) or str(r.get("device", "")).startswith("cpu"):
            continue
        peer = next((t for t in out["train"] if t["model"] == r.get("model")), None)
        if peer:
            rows.append({"workload": f"train {r['model']}", "unit": "images/s", "webgrad webgpu": float(mine), "PyTorch": peer["images/s"], "webgrad/PyTorch": f"{mine / peer['images/s']:.3g}×"})
    for c in (wgr.get("loops") or {}).get("cells", []):
        if c.get("row") not in (4, 5, 6) or c.get("bothGflops") is None:
            continue
        peer = next((t for t in out["conv"] if t["conv"] == c.get("conv")), None)
        if peer:
            for key, pk, label in (("forwardGflops", "forward GFLOP/s", "forward"), ("bothGflops", "fwd+bwd GFLOP/s", "fwd+bwd")):
                rows.append({"workload": f"conv {c['conv']} {label}, loops row {c['row']}", "unit": "GFLOP/s", "webgrad webgpu": float(c[key]), "PyTorch": peer[pk], "webgrad/PyTorch": f"{c[key] / peer[pk]:.3g}×"})
    if rows:
        table(f"webgrad (WebGPU through Dawn) against PyTorch {out['torch']} ({out['device']})", rows)
    else:
        print("\n(no webgrad webgpu rows to compare with PyTorch)")


if __name__ == "__main__":
    sys.exit(main())
