"""torch.randn throughput on the CPU generator, float32 (BENCHMARKS.md, "Random numbers");
the C++ side is bench/bench_random.cpp.

Usage: ~/.cache/ptp/venv/bin/python bench/py_randn_bench.py [--n 1048576] [--repeat 5] [--threads 1]
Prints normals/s (best of `repeat` rounds of >= 1 s each, CPU and wall time) for
torch.randn(n) (a new tensor per call) and torch.randn(n, out=buf) (reused buffer).
"""
import argparse
import time

import torch


def rate(fn, n, min_time=1.0, repeat=5):
    fn()  # warm-up
    best_cpu = best_wall = 0.0
    for _ in range(repeat):
        calls = 0
        c0, w0 = time.process_time(), time.perf_counter()
        while True:
            fn()
            calls += 1
            w = time.perf_counter() - w0
            if w >= min_time:
                break
        c = time.process_time() - c0
        best_cpu = max(best_cpu, calls * n / c)
        best_wall = max(best_wall, calls * n / w)
    return best_cpu, best_wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1 << 20)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (intra-op)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    buf = torch.empty(a.n, dtype=torch.float32)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, n {a.n}")
    for name, fn in [("torch.randn(n)", lambda: torch.randn(a.n, dtype=torch.float32)),
                     ("torch.randn(n, out=buf)", lambda: torch.randn(a.n, out=buf))]:
        cpu, wall = rate(fn, a.n, repeat=a.repeat)
        print(f"{name:26s} {cpu / 1e6:8.1f} M normals/s (CPU)  {wall / 1e6:8.1f} M/s (wall)")


if __name__ == "__main__":
    main()
