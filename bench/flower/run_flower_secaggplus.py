#!/usr/bin/env python3
"""Runs Flower's own SecAgg+ (client mod + server workflow, unmodified) for whole rounds in one process and times them.

This file is SecureFedRec's harness, not Flower code. Flower is imported from a snapshot given by --flwr-src (the
directory that holds the `flwr` package, e.g. <flower checkout>/framework/py, or the checkout itself); nothing of
Flower is copied here. What runs per round is Flower's code as shipped:

  server: flwr.server.workflow.SecAggPlusWorkflow (setup, share keys, collect masked vectors, unmask), driven with a
          LegacyContext holding a FedAvg strategy and a SimpleClientManager of GridClientProxy objects, as
          DefaultWorkflow drives it;
  client: flwr.clientapp.ClientApp(client_fn, mods=[flwr.client.mod.secaggplus_mod]) around a NumPyClient whose fit
          returns a fixed d-vector (no training: the round measures secure aggregation only).

The harness supplies only the transport: a Grid (flwr.server.grid.Grid, Flower's abstract class) that hands every
message straight to the destination node's ClientApp in the same process and returns its reply, with no
serialization, no network and no polling (InMemoryGrid would poll its LinkState every 0.1 s). That makes the figure
a lower bound for a Flower round: a deployment adds protobuf serialization and gRPC for every message.
`--wire` additionally round-trips every message (both directions) through Flower's own protobuf serde, the encoding
a SuperLink hop uses, and times it separately.

Clients in a seeded 10% (--dropout) receive the collect-masked-vectors message and never answer, so they drop after
the share-keys stage: the server reconstructs their sk1 and removes their pairwise masks (the expensive unmask path).

Shims, none on the measured path (see bench/flower/README.md):
  * google.protobuf.runtime_version: Flower's generated *_pb2.py files ask protobuf >= 5.28 to validate its version;
    Debian ships protobuf 4.21, whose builder API those files otherwise use unchanged. The shim skips the check only.
  * grpc version check in *_pb2_grpc.py (service stubs, not used in process): skipped.
  * Crypto -> Cryptodome: Debian's python3-pycryptodome installs PyCryptodome under the name `Cryptodome`; Flower
    imports `Crypto`. Same library, aliased.
  * Modules imported only for the CLI, the deprecated start_client/start_server entry points and the SQL-backed
    state stores (Debian's typer 0.7 and SQLAlchemy 1.4 are too old for them) are replaced by empty modules whose
    functions raise if called: flwr.cli.install, flwr.compat.client.app, flwr.compat.server.app,
    flwr.server.superlink.linkstate.sql_linkstate, flwr.supercore.sql_mixin, flwr.supercore.corestate.sql_corestate,
    flwr.supercore.object_store.sql_object_store.

Usage:
  python3 bench/flower/run_flower_secaggplus.py --flwr-src /path/to/flower/framework/py \
      --clients 200 --dim 100000 --num-shares 7 --threshold 4 --dropout 0.1 --rounds 5 --seed 4243 \
      --json bench/results/flower-n200-d100000-k7-runN.json
"""
import argparse
import copy
import importlib
import importlib.abc
import importlib.util
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
import types
import uuid

STUBBED_MODULES = [
    "flwr.cli.install",
    "flwr.compat.client.app",
    "flwr.compat.server.app",
    "flwr.server.superlink.linkstate.sql_linkstate",
    "flwr.supercore.sql_mixin",
    "flwr.supercore.corestate.sql_corestate",
    "flwr.supercore.object_store.sql_object_store",
]


def _stub_module(name):
    mod = types.ModuleType(name)
    mod.__doc__ = "Stubbed by bench/flower/run_flower_secaggplus.py: not on the measured path."

    def _getattr(attr):
        if attr.startswith("__"):
            raise AttributeError(attr)

        def _unavailable(*_args, **_kwargs):
            raise NotImplementedError(f"{name}.{attr} is stubbed by the harness (not on the measured path)")

        return _unavailable

    mod.__getattr__ = _getattr
    sys.modules[name] = mod


class _CryptoAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves `Crypto.*` from Debian's `Cryptodome.*` (the same PyCryptodome, under its other name)."""

    def find_spec(self, fullname, path, target=None):  # noqa: ARG002
        if fullname == "Crypto" or fullname.startswith("Crypto."):
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module("Cryptodome" + spec.name[len("Crypto"):])

    def exec_module(self, module):
        pass


def bootstrap(flwr_src):
    """Puts the snapshot on sys.path and installs the shims; returns the resolved source directory."""
    src = os.path.abspath(flwr_src)
    if not os.path.isdir(os.path.join(src, "flwr")) and os.path.isdir(os.path.join(src, "framework", "py", "flwr")):
        src = os.path.join(src, "framework", "py")
    if not os.path.isfile(os.path.join(src, "flwr", "client", "mod", "secure_aggregation", "secaggplus_mod.py")):
        sys.exit(f"--flwr-src {flwr_src}: no flwr/client/mod/secure_aggregation/secaggplus_mod.py there")
    sys.path.insert(0, src)
    shims = []

    import google.protobuf
    try:
        importlib.import_module("google.protobuf.runtime_version")
    except ImportError:
        rv = types.ModuleType("google.protobuf.runtime_version")

        class Domain:  # pylint: disable=too-few-public-methods
            PUBLIC = 0

        rv.Domain = Domain
        rv.ValidateProtobufRuntimeVersion = lambda *a, **k: None
        sys.modules["google.protobuf.runtime_version"] = rv
        google.protobuf.runtime_version = rv
        shims.append(f"google.protobuf.runtime_version (protobuf {google.protobuf.__version__})")

    import grpc
    try:
        import grpc._utilities as gu  # pylint: disable=import-outside-toplevel

        check = getattr(gu, "first_version_is_lower", None)  # grpcio 1.51 has none: the stubs then refuse to load
        if check is None or check(grpc.__version__, "1.70.0"):
            gu.first_version_is_lower = lambda a, b: False
            shims.append(f"grpc generated-code version check (grpcio {grpc.__version__})")
    except ImportError:
        pass

    try:
        importlib.import_module("Crypto.Protocol.SecretSharing")
    except ImportError:
        sys.meta_path.insert(0, _CryptoAlias())
        shims.append("Crypto -> Cryptodome")

    for name in STUBBED_MODULES:
        _stub_module(name)
    shims.append("stubbed: " + ", ".join(STUBBED_MODULES))
    return src, shims


def git_commit(path):
    try:
        out = subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--flwr-src", required=True, help="Flower snapshot: the directory holding the flwr package")
    ap.add_argument("--flwr-commit", help="commit of the snapshot, recorded in the JSON (default: git rev-parse)")
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--dim", type=int, default=100000)
    ap.add_argument("--num-shares", type=int, default=7, help="Flower's num_shares (counts the node itself)")
    ap.add_argument("--threshold", type=int, default=4, help="Flower's reconstruction_threshold")
    ap.add_argument("--dropout", type=float, default=0.1, help="fraction dropping after the share-keys stage")
    ap.add_argument("--rounds", type=int, default=5, help="measured rounds (after one unmeasured warm-up)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=4243)
    ap.add_argument("--wire", action="store_true", help="round-trip every message through Flower's protobuf serde")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--paired-with", help="file name of our `bench secagg` JSON measured right after this run, in the "
                    "same exclusive slot (bench/flower/run_pair.sh passes it); scripts/measurements.py prints the two "
                    "side by side")
    args = ap.parse_args()

    src, shims = bootstrap(args.flwr_src)

    # pylint: disable=import-outside-toplevel
    import numpy as np

    import flwr
    from flwr.app.message_type import MessageType
    from flwr.client import NumPyClient
    from flwr.client.mod import secaggplus_mod
    from flwr.clientapp import ClientApp
    from flwr.common import ConfigRecord, Context, Message, RecordDict, ndarrays_to_parameters
    from flwr.common import recorddict_compat as compat
    from flwr.common.constant import SUPERLINK_NODE_ID
    from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key, Stage
    from flwr.common.typing import Run
    from flwr.server import LegacyContext, ServerConfig
    from flwr.server.client_manager import SimpleClientManager
    from flwr.server.compat.grid_client_proxy import GridClientProxy
    from flwr.server.grid import Grid
    from flwr.server.strategy import FedAvg
    from flwr.server.workflow import SecAggPlusWorkflow
    from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD
    from flwr.server.workflow.constant import Key as WorkflowKey

    serde = None
    if args.wire:
        from flwr.common import serde  # noqa: F811

    n, d = args.clients, args.dim
    rng = np.random.default_rng(args.seed)
    # Each client's update: uniform in [-1, 1), float32 like a model's parameters.
    updates = rng.uniform(-1.0, 1.0, size=(n, d)).astype(np.float32)
    node_ids = [1000 + i for i in range(n)]  # SUPERLINK_NODE_ID is 1
    run_id = 1

    class FitClient(NumPyClient):
        def __init__(self, vec):
            self.vec = vec

        def fit(self, parameters, config):
            return [self.vec], 1, {}

    def make_client_fn(idx):
        def client_fn(context):
            return FitClient(updates[idx]).to_client()

        return client_fn

    apps = {nid: ClientApp(client_fn=make_client_fn(i), mods=[secaggplus_mod]) for i, nid in enumerate(node_ids)}
    contexts = {
        nid: Context(run_id=run_id, node_id=nid, node_config={}, state=RecordDict(), run_config={})
        for nid in node_ids
    }

    class Stats:
        def __init__(self):
            self.stage = None
            self.client_wall = {}
            self.client_cpu = {}
            self.wire_wall = {}
            self.messages = {}

    stats = Stats()

    class DirectGrid(Grid):
        """Flower's Grid interface; every message goes straight to its node's ClientApp in this process."""

        def __init__(self):
            self._run = Run.create_empty(run_id)
            self.drop = set()
            self._replies = {}

        def set_run(self, run):
            self._run = run

        @property
        def run(self):
            return self._run

        def create_message(self, content, message_type, dst_node_id, group_id, ttl=None):
            return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

        def get_node_ids(self):
            return list(node_ids)

        def _wire(self, msg):
            t = time.perf_counter()
            out = serde.message_from_proto(serde.message_to_proto(msg))
            stats.wire_wall[stats.stage] = stats.wire_wall.get(stats.stage, 0.0) + time.perf_counter() - t
            return out

        def _copy(self, msg):
            t = time.perf_counter()
            out = copy.deepcopy(msg)
            stats.wire_wall[stats.stage] = stats.wire_wall.get(stats.stage, 0.0) + time.perf_counter() - t
            return out

        def push_messages(self, messages):
            ids = []
            for msg in messages:
                msg.metadata.__dict__["_run_id"] = run_id
                msg.metadata.__dict__["_src_node_id"] = SUPERLINK_NODE_ID
                msg.metadata.__dict__["_message_id"] = str(uuid.uuid4())
                ids.append(msg.metadata.message_id)
                dst = msg.metadata.dst_node_id
                stage = msg.content.config_records[RECORD_KEY_CONFIGS][Key.STAGE]
                if stage == Stage.COLLECT_MASKED_VECTORS and dst in self.drop:
                    continue  # the node has gone: no reply, ever
                # The workflow sends one RecordDict object to many nodes and the mod pops keys from what it receives,
                # so each node must get its own copy, as any transport gives it: Flower's protobuf encoding with
                # --wire, else a deep copy (timed as transport either way).
                msg = self._wire(msg) if serde is not None else self._copy(msg)
                w0, c0 = time.perf_counter(), time.process_time()
                reply = apps[dst](msg, contexts[dst])
                stats.client_wall[stats.stage] = stats.client_wall.get(stats.stage, 0.0) + time.perf_counter() - w0
                stats.client_cpu[stats.stage] = stats.client_cpu.get(stats.stage, 0.0) + time.process_time() - c0
                if serde is not None:
                    reply = self._wire(reply)
                self._replies[ids[-1]] = reply
            stats.messages[stats.stage] = stats.messages.get(stats.stage, 0) + len(ids)
            return ids

        def pull_messages(self, message_ids):
            return [self._replies.pop(i) for i in list(message_ids) if i in self._replies]

        def send_and_receive(self, messages, *, timeout=None):
            # No waiting: every reply that will ever come is there when push_messages returns (a dropped node's
            # reply never comes, as if the workflow's timeout expired at once).
            return self.pull_messages(self.push_messages(messages))

    grid = DirectGrid()
    client_manager = SimpleClientManager()
    for nid in node_ids:
        client_manager.register(GridClientProxy(node_id=nid, grid=grid, run_id=run_id))

    zeros = np.zeros(d, dtype=np.float32)
    strategy = FedAvg(
        fraction_fit=1.0, min_fit_clients=n, min_available_clients=n, fraction_evaluate=0.0, min_evaluate_clients=0
    )
    base_ctx = Context(run_id=run_id, node_id=SUPERLINK_NODE_ID, node_config={}, state=RecordDict(), run_config={})
    context = LegacyContext(
        context=base_ctx, config=ServerConfig(num_rounds=args.warmup + args.rounds), strategy=strategy,
        client_manager=client_manager,
    )

    workflow = SecAggPlusWorkflow(num_shares=args.num_shares, reconstruction_threshold=args.threshold, max_weight=1.0)

    # Time each stage and the strategy's aggregate_fit (called at the end of the unmask stage) without changing them.
    stage_wall, stage_cpu = {}, {}

    def timed_stage(name, fn):
        def wrapper(*a, **k):
            stats.stage = name
            w0, c0 = time.perf_counter(), time.process_time()
            ok = fn(*a, **k)
            stage_wall[name] = time.perf_counter() - w0
            stage_cpu[name] = time.process_time() - c0
            return ok

        return wrapper

    for name in ("setup_stage", "share_keys_stage", "collect_masked_vectors_stage", "unmask_stage"):
        setattr(workflow, name, timed_stage(name, getattr(workflow, name)))
    agg_time = {}
    orig_aggregate_fit = strategy.aggregate_fit

    def timed_aggregate_fit(*a, **k):
        w0, c0 = time.perf_counter(), time.process_time()
        out = orig_aggregate_fit(*a, **k)
        agg_time["wall"], agg_time["cpu"] = time.perf_counter() - w0, time.process_time() - c0
        return out

    strategy.aggregate_fit = timed_aggregate_fit

    n_drop = int(round(args.dropout * n))
    rounds = []
    for r in range(1, args.warmup + args.rounds + 1):
        rr = random.Random(args.seed * 1000 + r)
        grid.drop = set(rr.sample(node_ids, n_drop))
        random.seed(args.seed * 1000 + r)  # the workflow shuffles the ring with the global `random`
        context.state.array_records[MAIN_PARAMS_RECORD] = compat.parameters_to_arrayrecord(
            ndarrays_to_parameters([zeros]), keep_input=True
        )
        context.state.config_records[MAIN_CONFIGS_RECORD] = ConfigRecord(
            {WorkflowKey.CURRENT_ROUND: r, WorkflowKey.START_TIME: time.time()}
        )
        stats.__init__()
        stage_wall.clear()
        stage_cpu.clear()
        agg_time.clear()
        w0, c0 = time.perf_counter(), time.process_time()
        workflow(grid, context)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0

        if len(stage_wall) != 4:
            sys.exit(f"round {r}: the workflow halted after {list(stage_wall)}")
        result = compat.arrayrecord_to_parameters(context.state.array_records[MAIN_PARAMS_RECORD], keep_input=True)
        from flwr.common import parameters_to_ndarrays

        agg = parameters_to_ndarrays(result)[0]
        alive = [i for i, nid in enumerate(node_ids) if nid not in grid.drop]
        expected = updates[alive].astype(np.float64).mean(axis=0)
        max_err = float(np.max(np.abs(agg.astype(np.float64) - expected)))
        if not max_err < 1e-3:
            sys.exit(f"round {r}: aggregate differs from the mean of the surviving updates by {max_err}")

        stages = {}
        for name in stage_wall:
            cw = stats.client_wall.get(name, 0.0)
            cc = stats.client_cpu.get(name, 0.0)
            ww = stats.wire_wall.get(name, 0.0)
            stages[name.replace("_stage", "")] = {
                "wallSeconds": stage_wall[name],
                "processCpuSeconds": stage_cpu[name],
                "clientsWallSeconds": cw,
                "clientsCpuSeconds": cc,
                "serverWallSeconds": stage_wall[name] - cw - ww,
                "transportWallSeconds": ww,
                "messages": stats.messages.get(name, 0),
            }
        row = {
            "round": r,
            "measured": r > args.warmup,
            "wallSeconds": wall,
            "processCpuSeconds": cpu,
            "aggregateFitWallSeconds": agg_time.get("wall"),
            "aggregateFitCpuSeconds": agg_time.get("cpu"),
            "transportWallSeconds": sum(stats.wire_wall.values()),
            "wallSecondsExclAggregateFit": wall - agg_time.get("wall", 0.0),
            "wallSecondsExclTransportAndAggregateFit": wall - agg_time.get("wall", 0.0) - sum(stats.wire_wall.values()),
            "dropped": len(grid.drop),
            "maxAbsErrorVsMean": max_err,
            "stages": stages,
        }
        rounds.append(row)
        print(
            f"round {r}{'' if row['measured'] else ' (warm-up)'}: wall {wall:.3f} s, process CPU {cpu:.3f} s, "
            + ", ".join(f"{k} {v['wallSeconds']:.3f}" for k, v in stages.items())
            + f"; transport {row['transportWallSeconds']:.3f} s, FedAvg.aggregate_fit {agg_time.get('wall', 0):.3f} s;"
            + f" max |err| {max_err:.2e}",
            flush=True,
        )

    measured = [x for x in rounds if x["measured"]]

    def summary(key):
        vals = [x[key] for x in measured]
        return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "values": vals}

    import Crypto
    import cryptography
    import google.protobuf

    out = {
        "benchmark": "flower-secaggplus",
        "what": "Flower's SecAggPlusWorkflow + secaggplus_mod (unmodified) driven in one process over a direct Grid",
        "flwrSource": src,
        "flwrCommit": args.flwr_commit or git_commit(src),
        "flwrVersion": getattr(flwr, "__version__", None),
        "shims": shims,
        "clients": n,
        "dim": d,
        "numShares": args.num_shares,
        "reconstructionThreshold": args.threshold,
        "dropout": args.dropout,
        "dropped": n_drop,
        "seed": args.seed,
        "wire": bool(args.wire),
        "warmupRounds": args.warmup,
        "rounds": len(measured),
        "wallSeconds": summary("wallSeconds"),
        "processCpuSeconds": summary("processCpuSeconds"),
        "transport": "protobuf serde (flwr.common.serde) both ways" if serde is not None else "copy.deepcopy of each delivered message",
        "transportWallSeconds": summary("transportWallSeconds"),
        "wallSecondsExclAggregateFit": summary("wallSecondsExclAggregateFit"),
        "wallSecondsExclTransportAndAggregateFit": summary("wallSecondsExclTransportAndAggregateFit"),
        "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "loadAverageBefore": LOAD_BEFORE,
        "loadAverageAfter": list(os.getloadavg()),
        "cpuCount": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pycryptodome": Crypto.__version__,
        "cryptography": cryptography.__version__,
        "protobuf": google.protobuf.__version__,
        "timestampUtc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "pairedWith": args.paired_with,
        "perRound": rounds,
    }
    w = out["wallSeconds"]
    c = out["processCpuSeconds"]
    print(
        f"{len(measured)} rounds: wall median {w['median']:.3f} s (min {w['min']:.3f}, max {w['max']:.3f}), "
        f"process CPU median {c['median']:.3f} s (min {c['min']:.3f}, max {c['max']:.3f}); "
        f"load average before {LOAD_BEFORE[0]:.2f}, after {out['loadAverageAfter'][0]:.2f}"
    )
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2)
            f.write("\n")


LOAD_BEFORE = list(os.getloadavg())

if __name__ == "__main__":
    main()
