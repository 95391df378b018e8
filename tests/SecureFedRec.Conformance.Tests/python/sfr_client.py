#!/usr/bin/env python3
"""A client of the real coordinator written from protocol-spec alone (coordinator.md §1-§5, secagg.md §6, dp.md §3).

Runs one honest-but-curious round (full graph) beside the product's clients: signed requests (coordinator.md §2.2),
enrolment, JoinRound, the contract check (secagg.md §2.1), the DP encoding with an exact discrete Gaussian sampler
(dp.md §3, CKS 2020 Alg. 1-3 in rational arithmetic), then the secure-aggregation client of sfr_ref.py over
SubmitPhase / FetchPhase. Its randomness (keys, seeds, rounding, noise) comes from the OS CSPRNG.

Usage: sfr_client.py --target HOST:PORT --ca CERT.pem --key IDENTITY.pem [--update 0.1,0.2,...] [--name NAME]
Prints "ok NAME" / "FAIL NAME: detail" lines; exits 0 when the round completed with this client a contributor.
"""
import argparse
import hashlib
import math
import os
import secrets
import struct
import sys
import time
from fractions import Fraction

import grpc
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

sys.dont_write_bytecode = True  # run from the source tree by the tests: leave no __pycache__ behind
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sfr_ref as ref  # noqa: E402

PKG = "/securefedrec.coordinator.v1."


class CsprngStream:
    """The RefClient's draw interface over the OS CSPRNG (production randomness, not a test stream)."""

    def fill(self, n):
        return secrets.token_bytes(n)

    def u64(self):
        return int.from_bytes(secrets.token_bytes(8), "little")


# --- CKS 2020 exact discrete Gaussian (dp.md §3 step 6) -------------------------------------------------------

def bernoulli(p):
    p = Fraction(p)
    return secrets.randbelow(p.denominator) < p.numerator


def bernoulli_exp(g):
    """Bernoulli(exp(-g)), g >= 0 rational (CKS Alg. 1)."""
    g = Fraction(g)
    while g > 1:
        if not bernoulli_exp(Fraction(1)):
            return False
        g -= 1
    k = 1
    while bernoulli(g / k):
        k += 1
    return k % 2 == 1


def discrete_laplace(t):
    """CKS Alg. 2: P(x) ∝ exp(-|x|/t), t a positive integer."""
    while True:
        u = secrets.randbelow(t)
        if not bernoulli_exp(Fraction(u, t)):
            continue
        v = 0
        while bernoulli_exp(Fraction(1)):
            v += 1
        neg = secrets.randbelow(2) == 1
        if neg and u == 0 and v == 0:
            continue
        z = u + t * v
        return -z if neg else z


def discrete_gaussian(s2):
    """CKS Alg. 3: N_Z(0, s2), s2 a positive rational."""
    s2 = Fraction(s2)
    t = math.isqrt(s2.numerator // s2.denominator) + 1
    while True:
        y = discrete_laplace(t)
        if bernoulli_exp((abs(y) - s2 / t) ** 2 / (2 * s2)):
            return y


def dp_encode(update, dp, round_id):
    """dp.md §3 in binary64 as vectors.md §2 pins it; noise from the exact sampler."""
    d, b, c, g = dp.dimension, dp.bits, dp.clip, dp.gamma
    assert len(update) == d and all(math.isfinite(x) for x in update)
    D = ref.padded(d)
    signs = ref.rotation_signs(round_id, D)[3]
    q = 0.0
    for x in update:
        q += x * x
    x = list(update)
    if math.sqrt(q) > c:
        f = c / math.sqrt(q)
        x = [xi * f for xi in x]
    y = [signs[i] * x[i] for i in range(d)] + [0.0] * (D - d)
    ref.fwht(y)
    inv = 1.0 / math.sqrt(D)
    ig = 1.0 / g
    z = [yi * inv * ig for yi in y]
    bound = ref.rounded_norm_bound(c, g, dp.beta, D)
    for _ in range(1000):
        r = []
        for zi in z:
            fl = math.floor(zi)
            r.append(int(fl) + (1 if (secrets.randbits(64) >> 11) < math.trunc((zi - fl) * 2.0**53) else 0))
        if sum(float(v) * float(v) for v in r) <= bound * bound:
            break
    else:
        raise RuntimeError("rounding did not converge")
    s2 = Fraction(dp.sigma_squared_numerator, dp.sigma_squared_denominator)
    return [(ri + discrete_gaussian(s2)) % (1 << b) for ri in r]


# --- Signed requests (coordinator.md §2.2) ---------------------------------------------------------------------

class Signer:
    def __init__(self, pem):
        key = serialization.load_pem_private_key(pem, password=None)
        if isinstance(key, ed25519.Ed25519PrivateKey):
            self.suite = "ed25519"
            self.priv = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption())
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            self.suite = "ecdsa-p256-sha256"
            self.priv = key.private_numbers().private_value.to_bytes(32, "big")
        else:
            raise ValueError("identity key must be Ed25519 or P-256")
        self.public = ref.ident_public(self.suite, self.priv)
        self.client_id = hashlib.sha256(self.public).hexdigest()
        self.skew = 0

    def headers(self, method, body):
        ts = int(time.time() * 1000) + self.skew
        nonce = secrets.token_bytes(16)
        h = hashlib.sha256(body).digest()
        m = method.encode("ascii")
        cid = self.client_id.encode("ascii")
        msg = (ref.PREFIX + b"request-auth\x00" + ref.u32(len(m)) + m + h + ref.u32(len(cid)) + cid +
               struct.pack(">q", ts) + nonce)
        return [("x-sfr-client-id", self.client_id), ("x-sfr-timestamp", str(ts)), ("x-sfr-nonce-bin", nonce),
                ("x-sfr-request-sha256-bin", h), ("x-sfr-signature-bin", ref.ident_sign(self.suite, self.priv, msg))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--proto-dir", default=None)
    ap.add_argument("--name", default="python reference client")
    ap.add_argument("--update", default=None, help="comma-separated update values (default: 0.05 each)")
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    pb = ref.protos(a.proto_dir)
    spb, cpb = pb["secagg"], pb["coordinator"]
    with open(a.ca, "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    channel = grpc.secure_channel(a.target, creds, options=[("grpc.ssl_target_name_override", "localhost")])
    with open(a.key, "rb") as f:
        signer = Signer(f.read())

    def call(service_method, req, resp_cls, signed=True, timeout=15):
        body = req.SerializeToString()
        method = PKG + service_method
        fn = channel.unary_unary(method, request_serializer=lambda b: b, response_deserializer=resp_cls.FromString)
        for attempt in range(8):
            try:
                return fn(body, metadata=signer.headers(method, body) if signed else None, timeout=timeout)
            except grpc.RpcError as e:
                if e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) and attempt < 7:
                    time.sleep(0.2 * 2 ** attempt)
                    continue
                raise

    deadline = time.time() + a.timeout
    status = call("CoordinatorStatus/GetStatus", cpb.GetStatusRequest(), cpb.GetStatusResponse, signed=False)
    signer.skew = status.server_time_unix_ms - int(time.time() * 1000)
    ref.check("status", status.api_version == "securefedrec.coordinator.v1", status.api_version)
    call("Enrolment/Enrol", cpb.EnrolRequest(identity_public_key=signer.public, display_name=a.name), cpb.EnrolResponse)
    ref.check("enrolled", True)
    while True:
        j = call("Rounds/JoinRound", cpb.JoinRoundRequest(), cpb.JoinRoundResponse)
        if j.outcome == cpb.JoinRoundResponse.OUTCOME_SELECTED:
            break
        if j.outcome == cpb.JoinRoundResponse.OUTCOME_FINISHED or time.time() > deadline:
            ref.check("selected", False, f"outcome {j.outcome}")
            return 1
        time.sleep(max(j.retry_after_ms, 50) / 1000)
    info = j.round
    begin = spb.ServerToClient.FromString(j.payload)
    bp = begin.begin_round.parameters
    ce = ref.contract_encoding(info, None)
    ok = ref.check("contract-binding", hashlib.sha256(ce).digest() == bp.binding, "binding differs")
    ok &= ref.check("contract-matches-begin-round",
                    (bp.round_number, bp.dimension, bp.bits, bp.threat_mode) ==
                    (info.round_id, ref.padded(info.dp.dimension), info.dp.bits, info.threat_mode), str(bp))
    ok &= ref.check("private-encoding", info.encoding == 1, f"encoding {info.encoding}")
    ok &= ref.check("threshold-bound", bp.threshold == info.dp.min_clients, f"{bp.threshold} vs {info.dp.min_clients}")
    ok &= ref.check("full-graph", bp.graph_kind == 1, "this client implements the full graph")
    ok &= ref.check("honest-but-curious", bp.threat_mode == 1, "this client runs honest-but-curious rounds only")
    dp = info.dp
    pd = {"dimension": dp.dimension, "clip": dp.clip, "gamma": dp.gamma, "beta": dp.beta,
          "sigma2Num": dp.sigma_squared_numerator, "sigma2Den": dp.sigma_squared_denominator}
    orders = list(range(2, 129)) + [256]
    amp = [ref.subsampled_rdp(al, dp.sampling_rate, lambda l: ref.ddg_rdp_at(pd, dp.min_clients, l)) for al in orders]
    recomputed = ref.rdp_to_dp(orders, amp, dp.delta)[0]
    ok &= ref.check("claimed-epsilon", dp.claimed_epsilon >= recomputed * (1 - 1e-12),
                    f"claimed {dp.claimed_epsilon} < recomputed {recomputed} (dp.md §7.3 rule claimed-epsilon)")
    if not ok:
        return 1
    d = info.dp.dimension
    update = [float(v) for v in a.update.split(",")] if a.update else [0.05] * d
    x = dp_encode(update, info.dp, info.round_id)
    client = ref.RefClient(spb, info.client_number, x, CsprngStream(), None, None, {})
    r = info.round_id
    P = spb

    def submit(phase, msg):
        call("Rounds/SubmitPhase", cpb.SubmitPhaseRequest(round_id=r, phase=phase, payload=msg.SerializeToString()),
             cpb.SubmitPhaseResponse)

    def fetch(phase):
        while time.time() < deadline:
            f = call("Rounds/FetchPhase", cpb.FetchPhaseRequest(round_id=r, phase=phase), cpb.FetchPhaseResponse,
                     timeout=20)
            if f.outcome == cpb.FetchPhaseResponse.OUTCOME_READY:
                return spb.ServerToClient.FromString(f.payload)
            if f.outcome != cpb.FetchPhaseResponse.OUTCOME_PENDING:
                raise RuntimeError(f"phase {phase}: outcome {f.outcome}, drop reason {f.drop_reason}")
            time.sleep(max(f.retry_after_ms, 50) / 1000)
        raise RuntimeError(f"phase {phase}: timed out")

    try:
        submit(P.PHASE_ADVERTISE_KEYS, client.begin(begin.begin_round))
        submit(P.PHASE_SHARE_KEYS, client.share_keys(fetch(P.PHASE_SHARE_KEYS).share_keys_request))
        submit(P.PHASE_MASKED_INPUT, client.masked_input(fetch(P.PHASE_MASKED_INPUT).masked_input_request))
        submit(P.PHASE_UNMASKING, client.unmasking(fetch(P.PHASE_UNMASKING).unmasking_request))
        result = fetch(P.PHASE_COMPLETED).result
    except (grpc.RpcError, RuntimeError, AssertionError) as e:
        ref.check("round", False, f"{type(e).__name__}: {e}")
        return 1
    ref.check("round-completed", result.outcome == 1, f"outcome {result.outcome}")
    ref.check("contributor", info.client_number in result.contributors, str(list(result.contributors)))
    print(f"round {r}: client {info.client_number}, contributors {list(result.contributors)}")
    return 1 if ref.FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
