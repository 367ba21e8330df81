#!/usr/bin/env python3
"""End to end: ptp_fewglue against its Python peer (bench/py_fewglue.py), interleaved in one
session. Every run is its own process (model load, data, training, evaluation, report split:
the whole program), timed by wall clock; peak RSS from os.wait4's rusage of that process;
accuracy from the run's results line. Variants per (task, method, seed, threads):
  cpp      build/examples/reproduce/ptp_fewglue --preset cpu/<Task> (batches padded to their
           longest row; evaluation in batches of similar length)
  py-max   py_fewglue.py --padding max      (PT-Fewshot: every batch padded to --max-length)
  py-dyn   py_fewglue.py --padding dynamic  (the fair peer: padded as ptp_fewglue pads)
The order of the three rotates from one job to the next, so each sees the same machine load
on average; /proc/loadavg is recorded before every run.

  bench/e2e_fewglue.py [--build build] [--tasks CB,RTE] [--methods vanilla,ptp-rn,ptp-adv]
                       [--seeds 1] [--threads 1,2] [--max-steps 4] [--max-eval 64] [--keep DIR]
  bench/e2e_fewglue.py --full ...        the presets' schedules (cpu/<Task>: 125 steps) and
                                         the whole held-out report split
  bench/e2e_fewglue.py --report-only --keep DIR   print the table of an earlier run
  bench/e2e_fewglue.py --compare CPP.jsonl PY.jsonl  accuracy parity over seeds: a ptp_fewglue
                       results file (e.g. a cpu/<Task> sweep) against py_fewglue.py's, paired
"""
import argparse
import json
import math
import os
import statistics as st
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VARIANTS = ["cpp", "py-max", "py-dyn"]


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def run_one(cmd, env, log):
    t0 = time.perf_counter()
    with open(log, "w") as lf:
        proc = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, env=env)
        _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status)
    return wall, ru.ru_maxrss, ru.ru_utime + ru.ru_stime, rc


def result_of(path, task, method, seed):
    if not os.path.exists(path):
        return None
    for line in open(path):
        if line.startswith("{"):
            r = json.loads(line)
            if r.get("task") == task and r.get("method") == method and int(r.get("seed", -1)) == seed:
                return r
    return None


def measure(args):
    work = args.keep
    os.makedirs(work, exist_ok=True)
    exe = os.path.join(args.build, "examples", "reproduce", "ptp_fewglue")
    if not os.access(exe, os.X_OK):
        raise SystemExit(f"build it first: cmake --build {args.build} --target ptp_fewglue")
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error", TOKENIZERS_PARALLELISM="false")
    raw = os.path.join(work, "runs.jsonl")
    done = set()
    if os.path.exists(raw):
        for line in open(raw):
            r = json.loads(line)
            done.add((r["task"], r["method"], r["seed"], r["threads"], r["variant"]))
    jobs = [(t, s, m, th) for th in args.threads for t in args.tasks for s in args.seeds for m in args.methods]
    print(f"# {len(jobs)} jobs x {len(VARIANTS)} variants; raw results in {work}", file=sys.stderr)
    for j, (task, seed, method, threads) in enumerate(jobs):
        order = VARIANTS[j % 3:] + VARIANTS[:j % 3]
        for v in order:
            key = (task, method, seed, threads, v)
            if key in done:
                continue
            tag = f"{task}-{method}-s{seed}-t{threads}-{v}"
            out = os.path.join(work, tag + ".jsonl")
            if os.path.exists(out):
                os.remove(out)
            common_steps = [] if args.full else ["--max-steps", str(args.max_steps)]
            common_eval = ["--max-eval", str(args.max_eval)] if args.max_eval else []
            e = dict(env, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
            if v == "cpp":
                cmd = [exe, "--preset", f"cpu/{task}", "--methods", method, "--seeds", str(seed), "--threads", str(threads),
                       "--quiet", "--out", out] + common_steps + common_eval
            else:
                cmd = [args.python, "-W", "ignore", os.path.join(HERE, "py_fewglue.py"), "--preset", f"cpu/{task}", "--methods", method,
                       "--seeds", str(seed), "--threads", str(threads), "--padding", {"py-max": "max", "py-dyn": "dynamic"}[v], "--quiet", "--out", out] \
                    + common_steps + common_eval
            la = loadavg()
            print(f"[{j + 1}/{len(jobs)}] {tag} (load {la[0]:.2f})", file=sys.stderr, flush=True)
            wall, rss, cpu, rc = run_one(cmd, e, os.path.join(work, tag + ".log"))
            r = result_of(out, task, method, seed)
            rec = {"task": task, "method": method, "seed": seed, "threads": threads, "variant": v, "wall_s": wall,
                   "cpu_s": cpu, "maxrss_kib": rss, "rc": rc, "load_before": la, "load_after": loadavg(),
                   "accuracy": r["metrics"]["accuracy"] if r else None,
                   "steps": r["metrics"].get("steps") if r else None, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            with open(raw, "a") as f:
                f.write(json.dumps(rec) + "\n")
            if rc != 0 or r is None:
                print(f"  failed (rc {rc}); see {os.path.join(work, tag + '.log')}", file=sys.stderr)


def report(args):
    raw = os.path.join(args.keep, "runs.jsonl")
    recs = [json.loads(line) for line in open(raw)]
    by = {}
    for r in recs:
        by[(r["task"], r["method"], r["seed"], r["threads"], r["variant"])] = r
    loads = [x for r in recs for x in (r["load_before"][0], r["load_after"][0])]
    times = sorted(r["time"] for r in recs)
    print(f"{len(recs)} runs, {times[0]} .. {times[-1]} (end times, UTC); 1-min load average over the runs: "
          f"min {min(loads):.2f}, median {st.median(loads):.2f}, max {max(loads):.2f} on {os.cpu_count()} CPUs\n")
    print("| task | method | threads | seeds | C++ wall s | Py max wall s | Py dyn wall s | wall C++/Py max | wall C++/Py dyn | "
          "C++ CPU s | Py max CPU s | Py dyn CPU s | CPU C++/Py max | CPU C++/Py dyn | "
          "C++ RSS MiB | Py max RSS MiB | Py dyn RSS MiB | RSS C++/Py max | RSS C++/Py dyn | acc C++ | acc Py max | acc Py dyn |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    keys = sorted({(r["task"], r["method"], r["threads"]) for r in recs},
                  key=lambda k: (k[2], k[0], ["vanilla", "ptp-rn", "ptp-adv"].index(k[1]) if k[1] in ("vanilla", "ptp-rn", "ptp-adv") else 9))
    first_threads = min(k[2] for k in keys)
    ratios = {"wall_max": [], "wall_dyn": [], "cpu_max": [], "cpu_dyn": [], "rss_max": [], "rss_dyn": []}
    diffs = {"py-max": [], "py-dyn": []}
    for task, method, th in keys:
        seeds = sorted({r["seed"] for r in recs if (r["task"], r["method"], r["threads"]) == (task, method, th)})
        trip = [(by.get((task, method, s, th, "cpp")), by.get((task, method, s, th, "py-max")), by.get((task, method, s, th, "py-dyn")))
                for s in seeds]
        trip = [t for t in trip if all(x and x["rc"] == 0 and x["accuracy"] is not None for x in t)]
        if not trip:
            continue
        med = lambda f: st.median(f(t) for t in trip)
        wc, wm, wd = med(lambda t: t[0]["wall_s"]), med(lambda t: t[1]["wall_s"]), med(lambda t: t[2]["wall_s"])
        rc_, rm, rd = (med(lambda t, i=i: t[i]["maxrss_kib"]) / 1024 for i in range(3))
        rw_m, rw_d = med(lambda t: t[0]["wall_s"] / t[1]["wall_s"]), med(lambda t: t[0]["wall_s"] / t[2]["wall_s"])
        rr_m, rr_d = med(lambda t: t[0]["maxrss_kib"] / t[1]["maxrss_kib"]), med(lambda t: t[0]["maxrss_kib"] / t[2]["maxrss_kib"])
        rc_m, rc_d = med(lambda t: t[0]["cpu_s"] / t[1]["cpu_s"]), med(lambda t: t[0]["cpu_s"] / t[2]["cpu_s"])
        cc, cm, cd = (med(lambda t, i=i: t[i]["cpu_s"]) for i in range(3))
        for t in trip:
            ratios["wall_max"].append(t[0]["wall_s"] / t[1]["wall_s"])
            ratios["wall_dyn"].append(t[0]["wall_s"] / t[2]["wall_s"])
            ratios["cpu_max"].append(t[0]["cpu_s"] / t[1]["cpu_s"])
            ratios["cpu_dyn"].append(t[0]["cpu_s"] / t[2]["cpu_s"])
            ratios["rss_max"].append(t[0]["maxrss_kib"] / t[1]["maxrss_kib"])
            ratios["rss_dyn"].append(t[0]["maxrss_kib"] / t[2]["maxrss_kib"])
            if th == first_threads:  # one pair per seed: see the note below
                diffs["py-max"].append(100 * (t[0]["accuracy"] - t[1]["accuracy"]))
                diffs["py-dyn"].append(100 * (t[0]["accuracy"] - t[2]["accuracy"]))
        acc = lambda i: ", ".join(f"{100 * t[i]['accuracy']:.1f}" for t in trip)
        print(f"| {task} | {method} | {th} | {len(trip)} | {wc:.1f} | {wm:.1f} | {wd:.1f} | **{rw_m:.2f}** | **{rw_d:.2f}** | "
              f"{cc:.1f} | {cm:.1f} | {cd:.1f} | {rc_m:.2f} | {rc_d:.2f} | "
              f"{rc_:.0f} | {rm:.0f} | {rd:.0f} | {rr_m:.2f} | {rr_d:.2f} | {acc(0)} | {acc(1)} | {acc(2)} |")
    if not ratios["wall_max"]:
        return

    def mm(xs):
        return f"median {st.median(xs):.2f}, range {min(xs):.2f}–{max(xs):.2f}"
    print(f"\nC++ wall / Python padded to max length: {mm(ratios['wall_max'])} (goal ≤ 0.6)")
    print(f"C++ wall / Python dynamic padding:     {mm(ratios['wall_dyn'])} (goal ≤ 1.0)")
    print(f"C++ CPU / Python padded (user+sys):    {mm(ratios['cpu_max'])}")
    print(f"C++ CPU / Python dynamic (user+sys):   {mm(ratios['cpu_dyn'])}")
    print(f"C++ peak RSS / Python padded:          {mm(ratios['rss_max'])} (goal ≤ 1.0)")
    print(f"C++ peak RSS / Python dynamic:         {mm(ratios['rss_dyn'])} (goal ≤ 1.0)")
    # Both programs give a seed the same accuracy at every thread count, so the pairs above take
    # the smallest thread count only (pairing each would count one run twice); say so if not.
    accs = {}
    for r in recs:
        accs.setdefault((r["task"], r["method"], r["seed"], r["variant"]), set()).add(r["accuracy"])
    varies = sorted(k for k, a in accs.items() if len(a) > 1)
    if varies:
        print(f"note: accuracy differs between thread counts for {varies[:3]}…; "
              f"the differences below use {first_threads} thread(s) only")
    for v, d in diffs.items():
        n = len(d)
        se = st.stdev(d) / math.sqrt(n) if n > 1 else float("nan")
        print(f"accuracy C++ − {v}, paired per (task, method, seed), points: mean {st.mean(d):+.2f} ± {se:.2f} (SE), "
              f"n = {n}, range {min(d):+.1f}..{max(d):+.1f}")
    # the seeds' own spread, for scale: per (task, method, threads, variant) std over seeds
    spreads = []
    for task, method, th in keys:
        for v in VARIANTS:
            a = [100 * r["accuracy"] for r in recs if (r["task"], r["method"], r["threads"], r["variant"]) == (task, method, th, v)
                 and r["accuracy"] is not None]
            if len(a) > 1:
                spreads.append(st.stdev(a))
    if spreads:
        print(f"seeds' spread (std over seeds per task/method/threads/variant), points: median {st.median(spreads):.2f}, "
              f"max {max(spreads):.2f}")
    else:
        print("seeds' spread: one seed per cell, not measured")


def compare(cpp_file, py_file):
    """Accuracy parity over seeds: ptp_fewglue's results (one line per task/method/seed, e.g. a
    cpu/<Task> sweep) against py_fewglue.py's, paired by (task, method, seed)."""
    def read(path):
        out = {}
        with open(path) as f:
            for n, line in enumerate(f, 1):
                try:
                    r = json.loads(line)
                    out[(r["task"], r["method"], int(r["seed"]))] = 100 * r["metrics"]["accuracy"]
                except (ValueError, KeyError, TypeError) as e:
                    raise SystemExit(f"{path}:{n}: not a results line with task, method, seed, metrics.accuracy ({e})")
        return out
    cpp, py = read(cpp_file), read(py_file)
    pairs = sorted(set(cpp) & set(py))
    if not pairs:
        raise SystemExit(f"no (task, method, seed) in both {cpp_file} and {py_file}")
    print("| task | method | seeds | C++ mean ± std | Python mean ± std | C++ − Python, paired: mean ± SE | per seed |")
    print("|---|---|---:|---:|---:|---:|---|")
    for task, method in sorted({k[:2] for k in pairs}):
        ks = [k for k in pairs if k[:2] == (task, method)]
        c, q = [cpp[k] for k in ks], [py[k] for k in ks]
        d = [a - b for a, b in zip(c, q)]
        sd = lambda xs: f"{st.stdev(xs):.2f}" if len(xs) > 1 else "—"
        se = f"{st.stdev(d) / math.sqrt(len(d)):.2f}" if len(d) > 1 else "—"
        print(f"| {task} | {method} | {len(ks)} | {st.mean(c):.2f} ± {sd(c)} | {st.mean(q):.2f} ± {sd(q)} | "
              f"{st.mean(d):+.2f} ± {se} | {', '.join(f'{k[2]}: {x:+.1f}' for k, x in zip(ks, d))} |")
    d = [cpp[k] - py[k] for k in pairs]
    se = st.stdev(d) / math.sqrt(len(d)) if len(d) > 1 else float("nan")
    print(f"\nall pairs: C++ − Python {st.mean(d):+.2f} ± {se:.2f} (SE) points, n = {len(d)}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--python", default=os.environ.get("PTP_PYTHON", os.path.expanduser("~/.cache/ptp/venv/bin/python")))
    p.add_argument("--tasks", default="CB,RTE")
    p.add_argument("--methods", default="vanilla,ptp-rn,ptp-adv")
    p.add_argument("--seeds", default="1")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--max-steps", type=int, default=4, help="short schedule (default 4 steps of 16); --full: the presets'")
    p.add_argument("--max-eval", type=int, default=64, help="cap on the report split (0: all)")
    p.add_argument("--full", action="store_true", help="the cpu/<Task> presets' schedules (125 steps) and the whole report split")
    p.add_argument("--keep", default="", help="raw results folder (re-running resumes; default: a new temporary folder)")
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--compare", nargs=2, metavar=("CPP_JSONL", "PY_JSONL"),
                   help="only compare accuracies: ptp_fewglue results against py_fewglue.py results, paired by seed")
    args = p.parse_args()
    if args.compare:
        return compare(*args.compare)
    args.tasks = args.tasks.split(",")
    args.methods = args.methods.split(",")
    seeds = []
    for part in args.seeds.split(","):
        a, _, b = part.partition("-")
        seeds += list(range(int(a), int(b or a) + 1))
    args.seeds = seeds
    args.threads = [int(x) for x in args.threads.split(",")]
    if args.full:
        args.max_eval = 0
    if not args.keep:
        if args.report_only:
            raise SystemExit("--report-only needs --keep DIR")
        args.keep = tempfile.mkdtemp(prefix="ptp-e2e-")
    if not args.report_only:
        measure(args)
    report(args)


if __name__ == "__main__":
    main()
