#!/usr/bin/env python3
"""make bench: the ports, std against dstd, and the micro-benchmarks, in one run.

For every port: pairs of long runs of the plain std build and dstd on 1 node
(single-node overhead, the median of the pairs' ratios), with a third run of the
std build on dstd's allocator (see STD_ON_DSTD_ALLOCATOR), and dstd on 1, 2 and 4
nodes with bench-sized arguments (scaling, medians of --reps runs); every run's
`result:` line must equal the other runs' of the same size. Then dstd_bench on 2 nodes,
each dstd figure as a ratio to its raw reference from the same run. And, where
valgrind is installed, the single-node overhead once more in instructions: callgrind
counts every thread's instructions in each port's timed phase (port::timed_phase),
std against dstd on 1 node, which this machine's noise cannot move. Writes
bench/results/<date>.json, <date>.md and PNG plots (gnuplot), and prints the tables.
"""
import argparse
import datetime
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys

# Per port: arguments for a bench-sized run (between --small and the full default,
# so that 4 dstd nodes on 2 cores finish each run in seconds) and what its
# throughput counts.
PORTS = {
    "kvstore": ["--ops", "20000"],
    "lock_races": ["--ops", "5000"],
    "matmul": ["--n", "512"],
    "wordcount": ["--words", "2097152"],
    "gemm": ["--n", "512", "--per-node", "8"],
    "dataframe": ["--rows", "4000000"],
    "socialnet": ["--requests", "400"],
}

# Micro-benchmark ratios: (dstd benchmark, its raw or std reference).
MICRO_PAIRS = [
    ("BM_unique_ptr_read_cold/64", "BM_fabric_read/64"),
    ("BM_unique_ptr_move/1048576", "BM_fabric_read/1048576"),
    ("BM_vector_read_remote/67108864", "BM_fabric_read/67108864"),
    ("BM_vector_fetch_remote/67108864", "BM_fabric_read/67108864"),
    # What a plain libfabric program gets from one fi_read on one endpoint, against
    # which the two lines above were first set; and what striping buys (shm).
    ("BM_vector_read_remote/67108864", "BM_fabric_read_one_lane/67108864"),
    ("BM_fabric_read/67108864", "BM_fabric_read_one_lane/67108864"),
    ("BM_mutex_lock_unlock_remote", "BM_am_roundtrip"),
    ("BM_channel_pingpong_remote", "BM_am_roundtrip"),
    ("BM_spawn_join_remote", "BM_am_roundtrip"),
    ("BM_am_roundtrip_bytes/40000", "BM_am_roundtrip_bytes/4096"),
    ("BM_unique_ptr_deref_local", "BM_std_unique_ptr_deref"),
    ("BM_mutex_lock_unlock_local", "BM_std_mutex_lock_unlock"),
    ("BM_vector_sum_local", "BM_std_vector_sum"),
    ("BM_vector_push_back/4096", "BM_std_vector_push_back/4096"),
]

# Per port: a longer run for the single-node overhead (std against dstd on 1 node),
# whose timed phase lasts about a second on 2 cores. The bench-sized runs above
# time 3 to 100 ms for some ports (lock_races: 30,000 operations at 10 M/s), which
# this machine's scheduling noise moves by +-40%.
OVERHEAD_ARGS = {
    "kvstore": ["--ops", "300000"],
    "lock_races": ["--ops", "1500000"],
    "matmul": ["--n", "1280"],
    "wordcount": ["--words", "8388608"],
    "gemm": ["--n", "1024", "--per-node", "8"],
    "dataframe": ["--rows", "10000000"],
    "socialnet": ["--requests", "1200"],
}

NODE_COUNTS = [1, 2, 4]

# Per port: arguments for the instruction count (callgrind runs ~50x slower), and
# runs per build (median): dstd's count moves by up to ~0.5% of a port's total with
# how many pool threads the runtime starts (each makes its mimalloc heap, ~50,000
# instructions); std's by ~0.02%.
INSTRUCTION_ARGS = ["--small"]
INSTRUCTION_RUNS = 3

# Repetitions of each micro-benchmark per dstd_bench run, interleaved at random.
MICRO_REPETITIONS = 6

# The std build a second time, on the allocator under dstd's heap: mimalloc, which
# in dstd manages a committed partition and never hands memory back to the OS.
# glibc's malloc maps and unmaps every block over its mmap threshold, so a port
# that allocates large buffers per request (socialnet's frames: 320,000 page faults
# against dstd's 25,000) runs faster on dstd for its allocator alone. Against this
# baseline the overhead is what dstd's own mechanisms cost.
def std_on_dstd_allocator_env():
    for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"):
        lib = os.path.join(d, "libmimalloc.so.2")
        if os.path.exists(lib):
            return {"LD_PRELOAD": lib, "MIMALLOC_ALLOW_DECOMMIT": "0"}
    return None


def run(cmd, timeout, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                       env=None if env is None else {**os.environ, **env})
    if p.returncode != 0:
        sys.exit(f"bench: `{' '.join(cmd)}` failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p.stdout


def parse_port_output(out, cmd):
    result = re.search(r"^result: (\S+)$", out, re.M)
    tp = re.search(r"^throughput: (\S+) (.+)$", out, re.M)
    if not result or not tp:
        sys.exit(f"bench: `{' '.join(cmd)}` printed no result/throughput line:\n{out}")
    return result.group(1), float(tp.group(1)), tp.group(2).strip()


def bench_port(name, bindir, dstdrun, reps, timeout, mi_env):
    args, long_args = PORTS[name], OVERHEAD_ARGS[name]
    runs, pairs = {}, {"std": [], "dstd": [], "std_mimalloc": []}
    expect, expect_long, unit = None, None, None

    def checked(cmd, want, env=None):
        result, tp, u = parse_port_output(run(cmd, timeout + 30, env), cmd)
        if want is not None and result != want:
            sys.exit(f"bench: `{' '.join(cmd)}`: result {result} differs from {want}")
        return result, tp, u

    # Interleave everything, so that machine noise hits std and dstd alike; the
    # overhead runs go in pairs (std, dstd on 1 node), alternating which goes first.
    for rep in range(reps):
        std_cmd = [os.path.join(bindir, name + "-std")] + long_args
        one_cmd = [dstdrun, "-n", "1", "--timeout", str(timeout), os.path.join(bindir, name)] + long_args
        order = [("std", std_cmd, None), ("dstd", one_cmd, None)]
        if mi_env:
            order.append(("std_mimalloc", std_cmd, mi_env))
        if rep % 2:
            order.reverse()
        for which, cmd, env in order:
            result, tp, unit = checked(cmd, expect_long, env)
            expect_long = result
            pairs[which].append(tp)
        for n in NODE_COUNTS:
            cmd = [dstdrun, "-n", str(n), "--timeout", str(timeout), os.path.join(bindir, name)] + args
            result, tp, _ = checked(cmd, expect)
            expect = result
            runs.setdefault(n, []).append(tp)
        print(f"  {name}: std={pairs['std'][-1]:.4g} dstd={pairs['dstd'][-1]:.4g} (long); "
              + ", ".join(f"{k} node(s)={v[-1]:.4g}" for k, v in runs.items()), flush=True)
    med = {str(k): statistics.median(v) for k, v in runs.items()}
    # Throughput: higher is better, so the overhead is std / dstd - 1, per pair, median.
    ratios = [s_ / d_ for s_, d_ in zip(pairs["std"], pairs["dstd"])]
    mi_ratios = [s_ / d_ for s_, d_ in zip(pairs["std_mimalloc"], pairs["dstd"])]
    return {"args": args, "overhead_args": long_args, "unit": unit, "result": expect, "result_long": expect_long,
            "runs": {str(k): v for k, v in runs.items()}, "overhead_runs": pairs,
            "overhead_median": {k: statistics.median(v) for k, v in pairs.items() if v},
            "median": med, "overhead": statistics.median(ratios) - 1.0,
            "overhead_vs_std_mimalloc": statistics.median(mi_ratios) - 1.0 if mi_ratios else None,
            "speedup": {str(n): med[str(n)] / med["1"] for n in NODE_COUNTS}}


def callgrind_instructions(cmd):
    """Instructions callgrind counted while the port's timed phase ran (all threads)."""
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800).stdout
    m = re.search(r"Collected : (\d+)", out)
    if not m:
        sys.exit(f"bench: `{' '.join(cmd)}` reported no instruction count:\n{out[-2000:]}")
    return int(m.group(1))


def bench_instructions(name, bindir, dstdrun):
    # Instrumentation starts and stops at the timed phase's two ends, so start-up,
    # data generation and result checks are left out of both counts.
    cg = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null"]
    std_cmd = cg + [os.path.join(bindir, name + "-std")] + INSTRUCTION_ARGS
    dstd_cmd = [dstdrun, "-n", "1", "--timeout", "1800"] + cg + [os.path.join(bindir, name)] + INSTRUCTION_ARGS
    std = [callgrind_instructions(std_cmd) for _ in range(INSTRUCTION_RUNS)]
    dstd = [callgrind_instructions(dstd_cmd) for _ in range(INSTRUCTION_RUNS)]
    s_, d_ = statistics.median(std), statistics.median(dstd)
    return {"args": INSTRUCTION_ARGS, "std": s_, "dstd": d_, "std_runs": std, "dstd_runs": dstd,
            "overhead": d_ / s_ - 1.0}


def bench_micro(bindir, dstdrun, reps, provider):
    # Each run measures every benchmark, its reference included, so a ratio is taken
    # within one run; the figure is the median of the runs' ratios. Within a run,
    # Google Benchmark interleaves MICRO_REPETITIONS repetitions of all benchmarks at
    # random and each time is their median: this machine's neighbours move whole
    # seconds by 2x, and one back-to-back measurement per benchmark put the channel
    # ping-pong at 0.65x to 2.5x of the round trip within the same run.
    names = sorted({n for pair in MICRO_PAIRS for n in pair})
    pattern = "^(" + "|".join(re.escape(n) for n in names) + ")$"
    cmd = [dstdrun, "-n", "2", "--timeout", "900", "--provider", provider, os.path.join(bindir, "dstd_bench"),
           f"--benchmark_filter={pattern}", "--benchmark_format=json", "--benchmark_min_time=0.1",
           f"--benchmark_repetitions={MICRO_REPETITIONS}", "--benchmark_enable_random_interleaving=true",
           "--benchmark_report_aggregates_only=true"]
    times = {}
    # A 64 MiB transfer over tcp on an overloaded 2-core machine has starved a node's
    # heartbeats for over 5 s (the default DSTD_NODE_TIMEOUT_MS): allow more here.
    for _ in range(reps):
        out = run(cmd, 960, {"DSTD_NODE_TIMEOUT_MS": "60000"})
        data = json.loads(out[out.index("{"):])
        for b in data["benchmarks"]:
            if b.get("aggregate_name") != "median":
                continue
            ns = b["real_time"] * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
            times.setdefault(b["run_name"], []).append(ns)
    pairs = []
    for a, ref in MICRO_PAIRS:
        if a in times and ref in times and len(times[a]) == len(times[ref]):
            ratios = [x / y for x, y in zip(times[a], times[ref])]
            pairs.append({"benchmark": a, "reference": ref, "ns": statistics.median(times[a]),
                          "reference_ns": statistics.median(times[ref]), "ratio": statistics.median(ratios),
                          "ratios": ratios})
    return {"provider": provider, "runs_ns": times, "pairs": pairs}


def markdown(res):
    lines = [f"# dstd benchmarks, {res['date']}", "", f"Machine: {res['machine']}", "",
             f"Single-node overhead: {res['reps']} interleaved sets of long runs (std, dstd on 1 node, std on "
             "mimalloc; the order reversed every other set). Overhead = median over the sets of std throughput / "
             "dstd throughput - 1; the throughput columns are medians. 'std on mimalloc' is the std build on the "
             "allocator under dstd's heap (LD_PRELOAD, memory never handed back to the OS, as dstd's partition): "
             "against it the overhead is what dstd's own mechanisms cost, without glibc malloc's page faults.", "",
             "| port | args | std | dstd, 1 node | overhead | per-set range | std on mimalloc | overhead vs it |",
             "|---|---|---|---|---|---|---|---|"]
    for name, p in res["ports"].items():
        r = [s_ / d_ - 1 for s_, d_ in zip(p["overhead_runs"]["std"], p["overhead_runs"]["dstd"])]
        mi = p.get("overhead_vs_std_mimalloc")
        mi_cols = (f"{p['overhead_median']['std_mimalloc']:.4g} {p['unit']} | {100 * mi:+.1f}%" if mi is not None
                   else "- | -")
        lines.append(f"| {name} | `{' '.join(p['overhead_args'])}` | {p['overhead_median']['std']:.4g} {p['unit']} | "
                     f"{p['overhead_median']['dstd']:.4g} {p['unit']} | {100 * p['overhead']:+.1f}% | "
                     f"{100 * min(r):+.0f}% .. {100 * max(r):+.0f}% | {mi_cols} |")
    mi_geo = res.get("overhead_geomean_vs_std_mimalloc")
    lines.append(f"| geometric mean | | | | {100 * res['overhead_geomean']:+.1f}% | | | "
                 f"{'-' if mi_geo is None else f'{100 * mi_geo:+.1f}%'} |")
    if res.get("instructions"):
        lines += ["", "Single-node overhead in instructions: callgrind's count of every thread's instructions in the "
                  "port's timed phase (`valgrind --tool=callgrind --instr-atstart=no`; the port starts and stops "
                  "instrumentation at the phase's ends), std build against dstd on 1 node, medians of "
                  f"{INSTRUCTION_RUNS} runs each. The runs of one build differ by at most ~0.5% (dstd: how many pool "
                  "threads the runtime starts), where the wall-clock sets above vary by tens of percent.", "",
                  "| port | args | std instructions | dstd instructions | overhead | dstd runs' range |",
                  "|---|---|---|---|---|---|"]
        for name, q in res["instructions"].items():
            spread = (max(q["dstd_runs"]) - min(q["dstd_runs"])) / q["std"]
            lines.append(f"| {name} | `{' '.join(q['args'])}` | {q['std']:,} | {q['dstd']:,} | "
                         f"{100 * q['overhead']:+.2f}% | {100 * spread:.2f}% |")
        lines.append(f"| geometric mean | | | | {100 * res['instructions_geomean']:+.2f}% |")
    lines += ["", f"Scaling: dstd on 1, 2 and 4 nodes with the bench-sized arguments, median of {res['reps']} runs.", "",
              "| port | args | dstd 1 node | 2 nodes | 4 nodes | speedup 2 / 4 |", "|---|---|---|---|---|---|"]
    for name, p in res["ports"].items():
        m = p["median"]
        lines.append(f"| {name} | `{' '.join(p['args'])}` | {m['1']:.4g} | {m['2']:.4g} | {m['4']:.4g} | "
                     f"{p['speedup']['2']:.2f} / {p['speedup']['4']:.2f} |")
    for micro in res["micro"]:
        lines += ["", f"Micro-benchmarks (`dstdrun -n 2 --provider '{micro['provider']}' build/bin/dstd_bench`): "
                  f"{res['reps']} runs of {MICRO_REPETITIONS} randomly interleaved repetitions; time = median over the "
                  "runs of each run's median; ratio = median of the per-run ratios", "",
                  "| benchmark | time | reference | time | ratio |", "|---|---|---|---|---|"]
        for q in micro["pairs"]:
            lines.append(f"| {q['benchmark']} | {fmt_ns(q['ns'])} | {q['reference']} | {fmt_ns(q['reference_ns'])} | {q['ratio']:.2f} |")
    return "\n".join(lines) + "\n"


def geomean(overheads):
    """The geometric mean of overheads given as ratio - 1."""
    if not overheads:
        return 0.0
    return math.exp(sum(math.log(max(1.0 + x, 1e-9)) for x in overheads) / len(overheads)) - 1.0


def fmt_ns(ns):
    for unit, div in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= div:
            return f"{ns / div:.3g} {unit}"
    return f"{ns:.3g} ns"


def plots(res, stem):
    if not shutil.which("gnuplot"):
        print("bench: gnuplot not found: no plots", file=sys.stderr)
        return []
    names = list(res["ports"])
    micro = res["micro"][0]["pairs"] if res["micro"] else []
    script = ["set terminal pngcairo size 900,500 noenhanced", "set style fill solid 0.6", "set boxwidth 0.6",
              "set grid ytics"]
    made = []
    if names:
        with open(stem + "-overhead.dat", "w") as f:
            for i, n in enumerate(names):
                mi = res["ports"][n].get("overhead_vs_std_mimalloc")
                ins = res.get("instructions", {}).get(n, {}).get("overhead")
                f.write(f"{i} {n} {100 * res['ports'][n]['overhead']:.3f} {'NaN' if mi is None else f'{100 * mi:.3f}'} "
                        f"{'NaN' if ins is None else f'{100 * ins:.3f}'}\n")
        with open(stem + "-scaling.dat", "w") as f:
            for n in NODE_COUNTS:
                f.write(f"{n} " + " ".join(f"{res['ports'][p]['speedup'][str(n)]:.4f}" for p in names) + "\n")
        lines = ", ".join(f"'{stem}-scaling.dat' using 1:{i + 2} with linespoints title '{n}'" for i, n in enumerate(names))
        script += [f"set output '{stem}-overhead.png'",
                   "set title 'single-node overhead of dstd on 1 node (lower is better)'",
                   "set ylabel 'overhead %'", "set xtics rotate by -30",
                   "set boxwidth 0.25", "set key left top",
                   f"plot '{stem}-overhead.dat' using ($1-0.27):3:xtic(2) with boxes title 'wall clock vs plain std', "
                   f"'' using ($1):4 with boxes title 'wall clock vs std on mimalloc', "
                   f"'' using ($1+0.27):5 with boxes title 'instructions (callgrind) vs plain std'",
                   "set boxwidth 0.6",
                   f"set output '{stem}-scaling.png'", "set title 'dstd throughput vs nodes (relative to 1 node)'",
                   "set ylabel 'speedup'", "set xlabel 'nodes'", "set xtics 1", "set key left top", f"plot {lines}"]
        made += [f"{stem}-overhead.png", f"{stem}-scaling.png"]
    if micro:
        with open(stem + "-micro.dat", "w") as f:
            for i, q in enumerate(micro):
                f.write(f"{i} {q['benchmark'].replace('BM_', '').replace('_', '-')} {q['ratio']:.4f}\n")
        script += [f"set output '{stem}-micro.png'", "set title 'micro-benchmarks: dstd / reference (raw libfabric or std)'",
                   "set ylabel 'ratio'", "set xlabel ''", "set xtics rotate by -30", "set logscale y",
                   f"plot '{stem}-micro.dat' using 1:3:xtic(2) with boxes notitle"]
        made.append(f"{stem}-micro.png")
    if made:
        subprocess.run(["gnuplot"], input="\n".join(script) + "\n", text=True, check=True)
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bindir", default="build/bin")
    ap.add_argument("--reps", type=int, default=5, help="runs per figure (median)")
    ap.add_argument("--ports", default=",".join(PORTS), help="comma-separated ports to run ('' for none)")
    ap.add_argument("--no-micro", action="store_true", help="skip dstd_bench")
    ap.add_argument("--no-instructions", action="store_true", help="skip the callgrind instruction counts")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per port run")
    ap.add_argument("--out", default="bench/results")
    a = ap.parse_args()
    if a.reps < 1:
        sys.exit("bench: --reps must be at least 1")
    dstdrun = os.path.join(a.bindir, "dstdrun")
    ports = [p for p in a.ports.split(",") if p]
    for name in ports:
        if name not in PORTS:
            sys.exit(f"bench: unknown port {name!r} (known: {', '.join(PORTS)})")
    date = datetime.date.today().isoformat()
    res = {"date": date, "reps": a.reps,
           "machine": f"{os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}", "ports": {}, "micro": []}
    mi_env = std_on_dstd_allocator_env()
    if not mi_env:
        print("bench: libmimalloc.so.2 not found: no 'std on mimalloc' baseline", file=sys.stderr)
    for name in ports:
        print(f"bench: {name} {' '.join(OVERHEAD_ARGS[name])} (overhead), {' '.join(PORTS[name])} (scaling)", flush=True)
        res["ports"][name] = bench_port(name, a.bindir, dstdrun, a.reps, a.timeout, mi_env)
    res["overhead_geomean"] = geomean([p["overhead"] for p in res["ports"].values()])
    mi = [p["overhead_vs_std_mimalloc"] for p in res["ports"].values()]
    res["overhead_geomean_vs_std_mimalloc"] = geomean(mi) if mi and None not in mi else None
    if not a.no_instructions and ports:
        if shutil.which("valgrind"):
            res["instructions"] = {}
            for name in ports:
                print(f"bench: {name} under callgrind (instructions of the timed phase)", flush=True)
                res["instructions"][name] = bench_instructions(name, a.bindir, dstdrun)
            res["instructions_geomean"] = geomean([q["overhead"] for q in res["instructions"].values()])
        else:
            print("bench: valgrind not found: no instruction counts", file=sys.stderr)
    if not a.no_micro:
        for provider in ("shm", "tcp;ofi_rxm"):
            print(f"bench: dstd_bench over {provider}", flush=True)
            res["micro"].append(bench_micro(a.bindir, dstdrun, a.reps, provider))
    os.makedirs(a.out, exist_ok=True)
    stem = os.path.join(a.out, date)
    with open(stem + ".json", "w") as f:
        json.dump(res, f, indent=1)
    md = markdown(res)
    with open(stem + ".md", "w") as f:
        f.write(md)
    made = plots(res, stem)
    print(md)
    print("bench: wrote " + ", ".join([stem + ".json", stem + ".md"] + made))


if __name__ == "__main__":
    main()
