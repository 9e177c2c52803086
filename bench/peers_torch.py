#!/usr/bin/env python3
"""PyTorch column of `npm run bench -- peers`, run by bench/peers.ts as a child process.

Reads the workloads as JSON on stdin, times them on the CPU with the thread count it is
given (torch.set_num_threads, so PyTorch gets the cores webgrad's cpu backend uses), and
prints one JSON object on stdout; progress goes to stderr. Times only: bench/peers.ts turns
them into GFLOP/s and images/s with the same formulas as its other columns.

    {"threads": 1, "budgetS": 1.5,
     "convs": [{"name": "3→32 @32×32", "cin": 3, "cout": 32, "size": 32, "k": 3, "pad": 1, "dilation": 1, "batch": 64}],
     "matmuls": [512], "models": [{"name": "resnet18", "batch": 64}]}

The models are bench/gpu_torch.py's, which mirror packages/nn/src/models (simpleCnn,
dilatedCnn [1,2,5], resnet18) layer for layer; each train entry lists its parameter shapes,
which bench/peers.ts compares with webgrad's model before it reports a ratio. A model name
it does not know is an error in that model's entry, not a failed run.
"""
import json
import re
import sys

import torch
import torch.nn.functional as F

from gpu_torch import MODELS, median_ms

CPU = torch.device("cpu")


def log(msg):
    print(f"  pytorch: {msg}", file=sys.stderr, flush=True)


def conv_times(c, budget):
    o = c["size"] + 2 * c["pad"] - c["dilation"] * (c["k"] - 1)
    b = c["batch"]
    x = torch.randn(b, c["cin"], c["size"], c["size"], requires_grad=True)
    w = torch.randn(c["cout"], c["cin"], c["k"], c["k"], requires_grad=True)
    gy = torch.randn(b, c["cout"], o, o)
    opts = dict(padding=c["pad"], dilation=c["dilation"])

    def forward():
        with torch.no_grad():
            F.conv2d(x, w, **opts)

    def both():
        torch.autograd.grad(F.conv2d(x, w, **opts), (x, w), gy)

    return {"name": c["name"], "batch": b, "forwardMs": median_ms(forward, CPU, budget_s=budget), "bothMs": median_ms(both, CPU, budget_s=budget)}


def matmul_ms(n, budget):
    a, b = torch.randn(n, n), torch.randn(n, n)
    return {"n": n, "ms": median_ms(lambda: a @ b, CPU, budget_s=budget)}


def train_ms(m, budget):
    makers = dict(MODELS)
    if m["name"] not in makers:
        return {"name": m["name"], "error": f"no PyTorch definition of {m['name']!r} (known: {', '.join(makers)})"}
    torch.manual_seed(0)
    model = makers[m["name"]]()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(m["batch"], 3, 32, 32)
    y = torch.randint(0, 10, (m["batch"],))

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    shapes = [list(p.shape) for p in model.parameters()]
    return {"name": m["name"], "batch": m["batch"], "paramShapes": shapes, "msPerStep": median_ms(step, CPU, warmup=2, repeats=10, budget_s=2 * budget)}


def main():
    spec = json.load(sys.stdin)
    torch.set_num_threads(int(spec["threads"]))
    budget = float(spec.get("budgetS", 1.5))
    blas = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas.group(1) if blas else "unknown", "conv": [], "matmul": [], "train": []}
    log(f"PyTorch {torch.__version__}, {out['threads']} thread(s), BLAS {out['blas']}")
    for c in spec.get("convs", []):
        out["conv"].append(conv_times(c, budget))
        log(f"conv {c['name']}")
    for n in spec.get("matmuls", []):
        out["matmul"].append(matmul_ms(n, budget))
        log(f"matmul {n}")
    for m in spec.get("models", []):
        out["train"].append(train_ms(m, budget))
        log(f"train {m['name']}")
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
