#!/usr/bin/env python3
"""Regenerates docs/measurements.md from the benchmark JSON in bench/results/.

Usage: python3 scripts/measurements.py [--results bench/results] [--out docs/measurements.md] [--check]

Inputs are the files written by
  securefedrec bench crypto --json bench/results/crypto-runN.json
  securefedrec bench secagg ... --json bench/results/secagg-<params>-runN.json
  securefedrec bench network ... --json bench/results/network-<params>-runN.json
  python3 scripts/bench_sqlite_rows.py --json bench/results/sqlite-rows-runN.json
  bench/flower/run_flower_secaggplus.py ... --json bench/results/flower-n200-d100000-k7-runN.json (bench/flower/run_pair.sh)
Runs of the same benchmark and parameters are grouped and shown as ranges (min–max over runs) with the load average
each run recorded. Nothing is typed in by hand: a figure not in the JSON is not in the page. --check exits 1 when the
page on disk differs from what the JSON gives (for CI).
"""
import argparse
import glob
import json
import os
import re
import sys
from collections import OrderedDict


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return str(v).lower()
    if abs(v) >= 100:
        s = f"{v:,.0f}"
    elif abs(v) >= 10:
        s = f"{v:.1f}"
    else:
        s = f"{v:.2f}"
    return s + unit


def rng(values, unit="", scale=1.0):
    vals = [v * scale for v in values if v is not None]
    if not vals:
        return "n/a"
    lo, hi = min(vals), max(vals)
    if fmt(lo) == fmt(hi):
        return fmt(lo, unit)
    return f"{fmt(lo)}–{fmt(hi, unit)}"


def run_key(path):
    name = os.path.basename(path)
    return re.sub(r"-run\d+\.json$", "", name)


def load(results):
    groups = OrderedDict()
    for path in sorted(glob.glob(os.path.join(results, "*.json"))):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        groups.setdefault(run_key(path), []).append((os.path.basename(path), data))
    return groups


def crypto_section(runs):
    out = []
    out.append(f"Runs: {', '.join(n for n, _ in runs)}. `{runs[0][1].get('openssl', 'openssl n/a')}`, AES backend "
               f"{runs[0][1].get('aesBackend')}, {runs[0][1].get('processorCount')} logical CPUs; one thread, rates per CPU "
               "second (as `openssl speed`).")
    out.append("")
    out.append("Load average per run: " + "; ".join(f"{n}: {d.get('loadAverage', 'not recorded')}" for n, d in runs) + ".")
    out.append("")
    out.append("| measurement | project | openssl (same run) | ratio | unit |")
    out.append("|---|---|---|---|---|")
    names = OrderedDict()
    for _, data in runs:
        for row in data["rows"]:
            names.setdefault(row["name"], []).append(row)
    for name, rows in names.items():
        unit = rows[0]["unit"]
        out.append(f"| {name} | {rng([r['value'] for r in rows])} | {rng([r.get('openssl') for r in rows])} | "
                   f"{rng([r.get('ratio') for r in rows], '×')} | {unit} |")
    return out


def secagg_section(runs):
    d0 = runs[0][1]
    out = []
    out.append(f"n = {d0['clients']}, d = {d0['dimension']}, b = {d0['bits']}, graph {d0['graph']} k = {d0['degree']}, "
               f"t = {d0['threshold']}, dropout {d0['dropout']}, {d0['threads']} threads, {d0['mode']}; parameters: "
               f"{d0['parameterSource']}. Runs: {', '.join(n for n, _ in runs)}.")
    out.append("")
    rows = [
        ("completed / sum verified", lambda d: None, lambda ds: ", ".join(f"{d['completed']}/{d['sumVerified']}" for d in ds)),
        ("wall time, whole round", "wallSeconds", " s"),
        ("wall time, median of the run's measured rounds (`--repeat R`, runs from session 5 on)", "wallSecondsMedian", " s"),
        ("process CPU, median of the run's measured rounds (`--repeat R`)", "processCpuSecondsMedian", " s"),
        ("client mean (wall)", "clientMeanSeconds", " ms", 1000),
        ("client floor (2k agreements + (k+1)·d·4 B keystream)", "clientFloorSeconds", " ms", 1000),
        ("client wall / floor", "clientRatio", "×"),
        ("client CPU per client / floor", "clientCpuRatio", "×"),
        ("coordinator unmasking CPU", "coordinatorUnmaskingCpuSeconds", " ms", 1000),
        ("coordinator unmasking CPU / floor·cores (keystream + agreements)", "coordinatorCpuRatio", "×"),
        ("… against the keystream-only floor of earlier sessions", "coordinatorCpuRatioKeystreamOnly", "×"),
        ("coordinator unmasking wall / floor", "coordinatorRatio", "×"),
        ("process CPU / summed floor", None, None),
        ("process CPU per round", "processCpuSeconds", " s"),
        ("allocations during the round", "allocatedMiB", " MiB"),
        ("allocations during the round, per run", lambda d: None, lambda ds, names: "; ".join(
            f"{n.replace('.json', '').split('-')[-1]}: {fmt(d.get('allocatedMiB'), ' MiB')}" for n, d in zip(names, ds))),
        ("… in d-word vectors per thread (masked-input buffers pooled)", "allocatedVectorsPerThread", ""),
        ("… in d-word vectors beyond the masked-input message buffers, per thread (runs before session 5 subtracted n vectors, though the buffers were already pooled)", "allocatedVectorsBeyondMessagesPerThread", ""),
        ("… per client (all allocations / n)", "allocatedBytesPerClient", " KiB", 1 / 1024),
        ("… by the clients' state machines", "clientAllocatedBytesPerPhase", " MiB", 1 / 1048576),
        ("… by the coordinator (handling + closing phases)", "coordinatorAllocatedBytesPerPhase", " MiB", 1 / 1048576),
        ("… by the in-process driver and the rest", "driverAllocatedBytes", " MiB", 1 / 1048576),
        ("masked-input message buffers allocated (pooled, per round)", "maskedInputBuffersAllocated", ""),
        ("bytes sent per client (mean)", "bytesSentMean", " B"),
        ("bytes received per client (mean)", "bytesReceivedMean", " B"),
        ("coordinator peak memory (estimate)", "coordinatorPeakMemoryBytes", " MiB", 1 / 1048576),
    ]
    out.append("| figure | range over runs |")
    out.append("|---|---|")
    datas = [d for _, d in runs]
    for row in rows:
        label = row[0]
        if label == "completed / sum verified":
            out.append(f"| {label} | {row[2](datas)} |")
            continue
        if label == "allocations during the round, per run":
            if len(datas) > 1 and len({round(d.get('allocatedMiB') or 0) for d in datas}) > 1:
                out.append(f"| {label} | {row[2](datas, [n for n, _ in runs])} |")
            continue
        if label == "process CPU / summed floor":
            ratios = [d["processCpuSeconds"] / d["summedFloorSeconds"] if d.get("summedFloorSeconds") else None for d in datas]
            out.append(f"| {label} | {rng(ratios, '×')} |")
            continue
        key, unit = row[1], row[2]
        scale = row[3] if len(row) > 3 else 1.0
        if not any(key in d for d in datas):
            continue
        # Per-phase dictionaries are summed over the phases.
        values = [sum(v.values()) if isinstance(v, dict) else v for v in (d.get(key) for d in datas)]
        out.append(f"| {label} | {rng(values, unit, scale)} |")
    cmp = [d.get("maliciousVsHonest") for d in datas]
    if all(cmp):
        out.append(f"| honest-but-curious round, same parameters and run: completed / sum verified | "
                   + ", ".join(f"{c['honestCompleted']}/{c['honestSumVerified']}" for c in cmp) + " |")
        out.append(f"| honest-but-curious round: wall time / process CPU | {rng([c['honestWallSeconds'] for c in cmp], ' s')} / "
                   f"{rng([c['honestProcessCpuSeconds'] for c in cmp], ' s')} |")
        out.append(f"| malicious round again, after it: wall time / process CPU | {rng([c['maliciousWallSeconds'] for c in cmp], ' s')} / "
                   f"{rng([c['maliciousProcessCpuSeconds'] for c in cmp], ' s')} |")
        out.append(f"| **malicious / honest-but-curious, process CPU** (goal ≤ 1.2×) | {rng([c['cpuRatio'] for c in cmp], '×')} |")
        out.append(f"| malicious / honest-but-curious, wall | {rng([c['wallRatio'] for c in cmp], '×')} |")
        for suite, key, ossl in (("Ed25519", "ed25519", "opensslEd25519"), ("ECDSA P-256", "p256", "opensslEcdsaP256")):
            for op in ("Sign", "Verify"):
                ours = [c[f"{key}{op}PerSecond"] for c in cmp]
                theirs = [c.get(f"{ossl}{op}PerSecond") for c in cmp]
                ratios = [o / t if t else None for o, t in zip(ours, theirs)]
                out.append(f"| {suite} {op.lower()} per CPU second (one thread) / openssl speed same run | "
                           f"{rng(ours, '/s')} / {rng(theirs, '/s')} = {rng(ratios, '×')} |")
    out.append("")
    out.append("Load average (1/5/15 min) per run, before → after: " + "; ".join(
        f"{n}: {d.get('loadAverageBefore')} → {d.get('loadAverageAfter')}" for n, d in runs) + ".")
    return out


def network_section(runs):
    d0 = runs[0][1]
    datas = [d for _, d in runs]
    mode = d0.get("mode", "HonestButCurious")
    deadline = d0.get("phaseDeadline") or f"{fmt(d0['phaseSeconds'])} s"
    admission = "SQLite, TLS, a signed roster of the n clients" if mode == "Malicious" else "SQLite, TLS, allow-list"
    out = []
    out.append(f"n = {d0['clients']}, d = {d0['dimension']}, {mode}, dropout {d0['dropout']} ({d0['dropped']} silent after ShareKeys), "
               f"phase deadline {deadline}, message cap {d0['maxMessageBytes']:,} B, {d0['cores']} cores. "
               f"Coordinator: a child `securefedrec coordinator` process ({admission}); clients: "
               f"`FederationClient` instances in the benchmark process through a byte-counting TCP relay. "
               f"Runs: {', '.join(n for n, _ in runs)}.")
    out.append("")
    out.append("| figure | range over runs |")
    out.append("|---|---|")
    out.append("| completed (networked / in process) | " + ", ".join(
        f"{d['network']['completed']}/{d['inProcess']['completed']} of {d['clients']}" for d in datas) + " |")
    if "graph" in d0["network"]:
        out.append("| graph (networked / in process) | " + ", ".join(
            f"{d['network'].get('graph')} k = {d['network'].get('degree')} t = {d['network'].get('threshold')} / "
            f"{d['inProcess'].get('graph')} k = {d['inProcess'].get('degree')}" for d in datas) + " |")
    if any("floor" in d for d in datas):
        out.append("| machine floor in the same run: openssl AES-256-CTR, one core | " + ", ".join(
            (f"{d['floor']['aes256CtrGBps']:.2f} GB/s" if d.get("floor", {}).get("aes256CtrGBps") else "not measured") for d in datas) + " |")
    out.append(f"| networked round (sum of phases, coordinator clock) | {rng([d['network']['roundSeconds'] for d in datas], ' s')} |")
    phases = OrderedDict()
    for d in datas:
        for p in d["network"]["phases"]:
            phases.setdefault(p["phase"], []).append(p["seconds"])
    for name, secs in phases.items():
        answered = ", ".join(f"{p['answered']}/{p['expected']}" for d in datas for p in d["network"]["phases"] if p["phase"] == name)
        out.append(f"| … phase {name} (answered) | {rng(secs, ' s')} ({answered}) |")
    out.append(f"| networked round, clients' view (join to result) | {rng([d['network']['clientSeconds'] for d in datas], ' s')} |")
    out.append(f"| in-process round (same parameters, same run) | {rng([d['inProcess']['seconds'] for d in datas], ' s')} |")
    out.append(f"| **networked / in process** | {rng([d['ratioNetworkToInProcess'] for d in datas], '×')} |")
    out.append(f"| wire bytes sent per client (TLS, mean) | {rng([d['network']['meanBytesSentPerClient'] for d in datas], ' B')} |")
    received = "wire bytes received per client (TLS, mean; includes the model download)" if "clientsCpuSeconds" not in d0["network"] \
        else "wire bytes received per client (TLS, mean; the model is fetched before the round)"
    out.append(f"| {received} | "
               f"{rng([d['network']['meanBytesReceivedPerClient'] for d in datas], ' B')} |")
    out.append(f"| in process: protocol bytes sent / received per client | "
               f"{rng([d['inProcess']['meanBytesSent'] for d in datas], ' B')} / {rng([d['inProcess']['meanBytesReceived'] for d in datas], ' B')} |")
    out.append(f"| coordinator process CPU over the round | {rng([d['network']['coordinatorCpuSeconds'] for d in datas], ' s')} |")
    if "clientsCpuSeconds" in d0["network"]:
        out.append(f"| clients' process CPU over the round (the n SDK clients and the relay) | "
                   f"{rng([d['network']['clientsCpuSeconds'] for d in datas], ' s')} |")
    out.append(f"| coordinator peak RSS (VmHWM) | {rng([d['network']['coordinatorPeakRssMiB'] for d in datas], ' MiB')} |")
    out.append("")
    out.append("Load average (1/5/15 min) per run, before → after: " + "; ".join(
        f"{n}: {d.get('loadAverageBefore')} → {d.get('loadAverageAfter')}" for n, d in runs) + ".")
    return out


def sqlite_rows_section(runs):
    d0 = runs[0][1]
    datas = [d for _, d in runs]
    out = []
    out.append(f"{d0['rows']} rows of {d0['rowBytes']:,} B (a d = 10^7 masked input padded to 2^24 words is one such row of the round "
               f"journal, protocol-spec/coordinator.md §6), one transaction each, WAL with synchronous=FULL as the coordinator's "
               f"SQLite store; SQLite {d0['sqliteVersion']} through Python {d0['python']}, {d0['cores']} cores. "
               f"Runs: {', '.join(n for n, _ in runs)}.")
    out.append("")
    out.append("| figure | range over runs |")
    out.append("|---|---|")
    out.append(f"| insert one row (commit included) | {rng([x for d in datas for x in d['insertSeconds']], ' s')} |")
    out.append(f"| read every row back (resume) | {rng([d['readAllSeconds'] for d in datas], ' s')} |")
    out.append(f"| delete every row (with the round's outcome) | {rng([d['deleteAllSeconds'] for d in datas], ' s')} |")
    out.append(f"| database file after the inserts | {rng([d['databaseBytes'] for d in datas], ' B')} |")
    out.append("")
    out.append("Load average (1/5/15 min) per run, before → after: " + "; ".join(
        f"{n}: {d.get('loadAverageBefore')} → {d.get('loadAverageAfter')}" for n, d in runs) + ".")
    return out
def flower_section(runs, results):
    d0 = runs[0][1]
    datas = [d for _, d in runs]
    out = []
    out.append(f"Flower's own SecAgg+ code, unmodified (`SecAggPlusWorkflow` + `secaggplus_mod`, adap/flower "
               f"{', '.join(sorted({(d.get('flwrCommit') or 'unknown')[:12] for d in datas}))}), driven for whole rounds "
               f"in one process by the harness over a direct Grid ("
               + ("every message round-tripped through Flower's protobuf serde both ways, no network, no polling"
                  if d0.get("wire") else "no serialization, no network, no polling")
               + f": a lower bound for a Flower round); n = {d0['clients']}, d = {d0['dim']}, num_shares = {d0['numShares']} "
               f"(counting the node itself), reconstruction_threshold = {d0['reconstructionThreshold']}, "
               f"{d0['dropped']} clients ({d0['dropout']}) dropping after share keys; one warm-up round, then "
               f"{d0['rounds']} measured. See bench/flower/README.md. Runs: {', '.join(n for n, _ in runs)}.")
    out.append("")
    out.append("Ours beside it is the `bench secagg --neighbors 6 --threshold 4` run measured right after it in the same "
               "exclusive slot (`bench/flower/run_pair.sh`): Harary k = 6 neighbours plus the node = Flower's 7.")
    out.append("")
    out.append("| Flower run | Flower round wall, median (min–max) | Flower process CPU, median | ours, same slot | "
               "ours wall, median (min–max) | ours process CPU, median | **wall ratio** | **CPU ratio** | load before Flower → after ours |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for name, d in runs:
        w, c = d["wallSeconds"], d["processCpuSeconds"]
        ours = None
        if d.get("pairedWith") and os.path.exists(os.path.join(results, d["pairedWith"])):
            with open(os.path.join(results, d["pairedWith"]), encoding="utf-8") as f:
                ours = json.load(f)
        if ours is None:
            out.append(f"| {name} | {fmt(w['median'], ' s')} ({fmt(w['min'])}–{fmt(w['max'], ' s')}) | "
                       f"{fmt(c['median'], ' s')} | not paired | | | | | {fmt(d['loadAverageBefore'][0])} |")
            continue
        ow = ours.get("wallSecondsPerRepeat") or [ours["wallSeconds"]]
        ow_med = ours.get("wallSecondsMedian", ours["wallSeconds"])
        oc_med = ours.get("processCpuSecondsMedian", ours["processCpuSeconds"])
        out.append(f"| {name} | {fmt(w['median'], ' s')} ({fmt(w['min'])}–{fmt(w['max'], ' s')}) | {fmt(c['median'], ' s')} | "
                   f"{d['pairedWith']} | {fmt(ow_med, ' s')} ({fmt(min(ow))}–{fmt(max(ow), ' s')}) | {fmt(oc_med, ' s')} | "
                   f"**{fmt(w['median'] / ow_med, '×')}** | **{fmt(c['median'] / oc_med, '×')}** | "
                   f"{fmt(d['loadAverageBefore'][0])} → {ours.get('loadAverageAfter', 'n/a').split()[0]} |")
    out.append("")
    out.append("Flower's stages (range over runs of the per-round figures; clients = the ClientApps' time inside the stage, "
               "server = the rest of the stage minus the transport stand-in):")
    out.append("")
    out.append("| stage | wall | clients | server | messages |")
    out.append("|---|---|---|---|---|")
    stages = OrderedDict()
    for d in datas:
        for r in d["perRound"]:
            if not r["measured"]:
                continue
            for k, v in r["stages"].items():
                stages.setdefault(k, []).append(v)
    for k, vs in stages.items():
        out.append(f"| {k} | {rng([v['wallSeconds'] for v in vs], ' s')} | {rng([v['clientsWallSeconds'] for v in vs], ' s')} | "
                   f"{rng([v['serverWallSeconds'] for v in vs], ' s')} | {rng([v['messages'] for v in vs])} |")
    rounds = [r for d in datas for r in d["perRound"] if r["measured"]]
    out.append(f"| FedAvg.aggregate_fit (inside unmask) | {rng([r['aggregateFitWallSeconds'] for r in rounds], ' s')} | | | |")
    out.append(f"| transport stand-in ({'protobuf serde both ways' if d0.get('wire') else 'deep copy of each delivered message'}) | {rng([r['transportWallSeconds'] for r in rounds], ' s')} | | | |")
    out.append("")
    out.append("Python / numpy / pycryptodome / cryptography / protobuf: " + "; ".join(
        f"{n}: {d['python']} / {d['numpy']} / {d['pycryptodome']} / {d['cryptography']} / {d['protobuf']}" for n, d in runs) + ".")
    out.append("")
    out.append("Load average (1/5/15 min) per Flower run, before → after: " + "; ".join(
        f"{n}: {' '.join(fmt(x) for x in d['loadAverageBefore'])} → {' '.join(fmt(x) for x in d['loadAverageAfter'])}"
        for n, d in runs) + ".")
    return out


def network_command(d0):
    cap = "" if d0['maxMessageBytes'] == 4 * 1024 * 1024 else f" --max-message-bytes {d0['maxMessageBytes']}"
    # Runs before the default deadlines existed gave --phase-seconds explicitly (no phaseSecondsOption key).
    explicit = d0.get("phaseSecondsOption", d0["phaseSeconds"]) if "phaseSecondsOption" in d0 or "mode" not in d0 else None
    deadline = "" if explicit is None else f" --phase-seconds {fmt(explicit)}"
    mode = " --honest-but-curious" if d0.get("mode") == "HonestButCurious" else ""
    return (f"securefedrec bench network --clients {d0['clients']} --dim {d0['dimension']} --dropout {d0['dropout']}"
            f"{deadline}{cap}{mode}")


def render(results):
    groups = load(results)
    lines = [
        "# Measured figures",
        "",
        "<!-- Generated by scripts/measurements.py from bench/results/*.json; do not edit by hand. -->",
        "",
        "Every measured figure of the project lives here; the README, the specs and the docs link to this page instead of",
        "copying numbers. Each figure is printed beside the floor measured in the same run (`openssl speed`, CPU time) as a",
        "ratio, and shown as a range over the runs listed. The machine is a shared 2-core VM; the load average of each run",
        "is given, and wall-clock figures are inflated when it exceeds the cores (CPU-time ratios are not).",
        "",
        "Regenerate: run the benchmarks with `--json bench/results/<name>-runN.json`, then `python3 scripts/measurements.py`.",
        "",
    ]
    for key, runs in groups.items():
        kind = runs[0][1].get("benchmark")
        if kind == "crypto":
            lines.append("## Crypto core (`securefedrec bench crypto`)")
            lines.append("")
            lines.extend(crypto_section(runs))
        elif kind == "secagg":
            d0 = runs[0][1]
            lines.append(f"## Secure aggregation round, n = {d0['clients']}, d = {d0['dimension']}, "
                         f"{d0['graph']} k = {d0['degree']} (`securefedrec bench secagg`)")
            lines.append("")
            lines.append(f"Command: `securefedrec bench secagg --clients {d0['clients']} --dim {d0['dimension']} --bits {d0['bits']} "
                         f"--dropout {d0['dropout']} --graph {d0['graph'].lower()}"
                         + ("" if d0['parameterSource'] != 'given' else f" --neighbors {d0['degree']} --threshold {d0['threshold']}")
                         + f" --threads {d0['threads']}"
                         + (" --malicious" if d0['mode'] == 'Malicious' else "")
                         + (f" --seed {d0['seed']}" if d0.get('seed', 4242) != 4242 else "") + "`")
            lines.append("")
            lines.extend(secagg_section(runs))
        elif kind == "network":
            d0 = runs[0][1]
            lines.append(f"## Networked round over TLS on loopback, n = {d0['clients']}, d = {d0['dimension']}"
                         + (f", {d0['mode']}" if "mode" in d0 else "") + " (`securefedrec bench network`)")
            lines.append("")
            lines.append(f"Command: `{network_command(d0)}`")
            lines.append("")
            lines.extend(network_section(runs))
        elif kind == "sqlite-rows":
            d0 = runs[0][1]
            lines.append(f"## Round journal rows of a chunked masked input in SQLite (`scripts/bench_sqlite_rows.py`)")
            lines.append("")
            lines.append(f"Command: `python3 scripts/bench_sqlite_rows.py --rows {d0['rows']} --mib {d0['rowBytes'] // (1024 * 1024)}`")
            lines.append("")
            lines.extend(sqlite_rows_section(runs))
        elif kind == "flower-secaggplus":
            d0 = runs[0][1]
            lines.append(f"## Flower SecAgg+ baseline, n = {d0['clients']}, d = {d0['dim']}, num_shares = {d0['numShares']}, "
                         f"t = {d0['reconstructionThreshold']}" + (", messages through Flower's protobuf serde" if d0.get("wire") else "")
                         + " (`bench/flower/run_flower_secaggplus.py`), beside ours")
            lines.append("")
            lines.append(f"Command: `{'WIRE=1 ' if d0.get('wire') else ''}SFR_SLOT_EXCLUSIVE=1 sfr-run bench/flower/run_pair.sh FLOWER_SRC FLOWER_COMMIT F O` "
                         f"(Flower: `python3 bench/flower/run_flower_secaggplus.py --flwr-src FLOWER_SRC --clients {d0['clients']} "
                         f"--dim {d0['dim']} --num-shares {d0['numShares']} --threshold {d0['reconstructionThreshold']} "
                         f"--dropout {d0['dropout']} --rounds {d0['rounds']} --seed {d0['seed']}{' --wire' if d0.get('wire') else ''}`)")
            lines.append("")
            lines.extend(flower_section(runs, results))
        else:
            continue
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="bench/results")
    ap.add_argument("--out", default="docs/measurements.md")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = render(args.results)
    if args.check:
        with open(args.out, encoding="utf-8") as f:
            if f.read() != text:
                print(f"{args.out} is out of date: run python3 scripts/measurements.py", file=sys.stderr)
                return 1
        return 0
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
