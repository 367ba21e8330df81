"""Where a training step spends its CPU time, by kind of work, from a perf profile
(BENCHMARKS.md, "Batched clean + perturbed passes", where the time goes).

Usage:
  perf record -F 499 -o step.data build/bench/bench_train_step --benchmark_filter=batched/B16_L128/rn/
  perf report -i step.data --time 40%-100% --no-children --sort sym --stdio | python3 bench/perf_shares.py

Reads perf report's "  12.34%  [.] symbol" lines and sums them into the classes below, first
match wins; prints each class's share in % of the samples. `--time 40%-100%` drops the
model load and set-up at the start of the process, so the shares are the timed steps'.
ptp's own code (the noise fill, norms) is inlined into the bench binary: see its share with
`perf report --sort dso` (bench_train_step).
"""
import re
import sys
from collections import Counter

# Symbol patterns as LibTorch 2.15 / MKL / oneDNN name them on this machine.
CLASSES = {
    "GEMM (MKL sgemm kernels and packing)": r"mkl_blas|sgemm|gemm",
    "dropout masks (bernoulli_ and the CPU generator)": r"bernoulli|random64|CPUGeneratorImpl",
    "softmax, forward and backward": r"softmax",
    "GELU (oneDNN eltwise, JIT code)": r"eltwise|gelu|^\[\.\] 0x0000",
    "layer norm": r"[Ll]ayer[Nn]orm|RowwiseMoments",
    "kernel (page faults, zeroing)": r"^\[k\]",
    "malloc / free": r"_int_malloc|_int_free|\bmalloc\b|\bfree\b",
}


def main():
    shares, other = Counter(), 0.0
    for line in sys.stdin:
        m = re.match(r"\s*([\d.]+)%\s+(.*)", line)
        if not m:
            continue
        p, sym = float(m.group(1)), m.group(2)
        for name, rx in CLASSES.items():
            if re.search(rx, sym):
                shares[name] += p
                break
        else:
            other += p
    for name in CLASSES:
        print(f"{name}: {shares[name]:.1f}")
    print(f"other (elementwise loops, copies, reductions, autograd): {other:.1f}")


if __name__ == "__main__":
    main()
