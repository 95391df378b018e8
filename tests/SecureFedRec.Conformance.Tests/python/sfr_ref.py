#!/usr/bin/env python3
"""An independent implementation of the SecureFedRec protocol, written from protocol-spec/*.md alone.

Auditors' tool (protocol-spec/vectors.md, "An independent implementation"): it re-derives every conformance vector
under protocol-spec/vectors/ with the Python standard library and Debian's python3-cryptography (X25519, P-256,
Ed25519, AES), and python3-protobuf + python3-grpc-tools for the wire messages (generated from protocol-spec/proto at
run time, as the gRPC interop test does). It imports nothing from the C# code base.

Usage:
  sfr_ref.py vectors FAMILY... [--vectors DIR] [--file PATH]   FAMILY: all, mask-prg, derivations, shamir, graphs,
                                                                 dp-encode, dp-accountant, roster, ledger,
                                                                 client-ledger, network-transfer, network-transcript,
                                                                 round
  sfr_ref.py roster-verify FILE --authority SUITE:HEX [--now TIME] [--last-seen VERSION:DIGEST]
  sfr_ref.py ledger-verify --store sqlite:PATH [--expect-head COUNT:HASH] [--all-models]
  sfr_ref.py privacy-ledger-verify FILE --delta D

Prints one line per check ("ok NAME" / "FAIL NAME: detail"); exits 0 when every check passed, 1 on a mismatch,
2 on a usage or setup error. --file replaces the family's vector file (used to show the checker can fail).
"""
import argparse
import hashlib
import hmac
import importlib
import json
import math
import os
import sqlite3
import struct
import sys
import tempfile
from datetime import datetime, timezone

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.asymmetric import ec, x25519, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.exceptions import InvalidSignature, InvalidTag as InvalidTag_

HERE = os.path.dirname(os.path.abspath(__file__))
FAILURES = []
CHECKS = [0]


def check(name, ok, detail=""):
    CHECKS[0] += 1
    if ok:
        print(f"ok {name}")
    else:
        print(f"FAIL {name}: {detail}")
        FAILURES.append(name)
    return ok


def eq(name, got, want):
    """Byte-for-byte (or value-for-value, reals bit for bit) comparison."""
    if isinstance(got, (bytes, bytearray)):
        got = bytes(got).hex()
    return check(name, got == want, f"got {str(got)[:200]} want {str(want)[:200]}")


def close(name, got, want, rel):
    ok = got == want or (math.isfinite(want) and abs(got - want) <= rel * max(abs(want), 1e-300))
    return check(name, ok, f"got {got!r} want {want!r} (relative {rel})")


# ---------------------------------------------------------------------------------------------------------------
# Encodings (secagg.md §3, vectors.md §1)

PREFIX = b"SecureFedRec/v1\x00"


def u32(x):
    return struct.pack(">I", x)


def u64(x):
    return struct.pack(">Q", x)


def i64(x):
    return struct.pack(">q", x)


def enc(purpose, *parts):
    """Enc(purpose, p1, ..., pm): every part length-prefixed."""
    out = bytearray(PREFIX + purpose.encode("ascii") + b"\x00")
    for p in parts:
        out += u32(len(p)) + p
    return bytes(out)


def ids(lst):
    return b"".join(u32(i) for i in lst)


def sha256(b):
    return hashlib.sha256(b).digest()


def hkdf(ikm, salt, info, length=32):
    """RFC 5869 HKDF-SHA256; an empty salt is 32 zero bytes (RFC 5869 §2.2)."""
    prk = hmac.new(salt if salt else b"\x00" * 32, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def f64(x):
    return struct.pack(">d", x)


def bits_of(x):
    return struct.unpack(">Q", struct.pack(">d", x))[0]


class Stream:
    """DeterministicRandomSource (vectors.md §1): AES-256-CTR keystream, counter block = u128be(i) from 0."""

    def __init__(self, key):
        self._enc = Cipher(algorithms.AES(key), modes.CTR(b"\x00" * 16)).encryptor()
        self._buf = b""
        self.consumed = 0

    def fill(self, n):
        while len(self._buf) < n:
            self._buf += self._enc.update(b"\x00" * 4096)
        out, self._buf = self._buf[:n], self._buf[n:]
        self.consumed += n
        return out

    def u64(self):
        return struct.unpack("<Q", self.fill(8))[0]

    def u32(self):
        return struct.unpack("<I", self.fill(4))[0]

    def bit(self):
        return self.fill(1)[0] & 1

    def below(self, m):
        x = self.u64()
        mm = x * m
        low = mm & (2**64 - 1)
        if low < m:
            thr = (2**64 - m) % m
            while low < thr:
                x = self.u64()
                mm = x * m
                low = mm & (2**64 - 1)
        return mm >> 64


def test_seed(s):
    """FromTestSeed(s): u64le(s) followed by 24 zero bytes."""
    return struct.pack("<Q", s) + b"\x00" * 24


# ---------------------------------------------------------------------------------------------------------------
# Mask PRG (secagg.md §4 "PRG(seed, context)")

def mask_prg(seed, context, bits, count):
    key = hkdf(seed, b"", enc("mask-prg", context), 32)
    ks = Cipher(algorithms.AES(key), modes.CTR(b"\x00" * 16)).encryptor().update(b"\x00" * (4 * count))
    mask = (1 << bits) - 1
    return [w & mask for w in struct.unpack(f"<{count}I", ks)]


# ---------------------------------------------------------------------------------------------------------------
# Key agreement suites (secagg.md §3)

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1


def ka_private(suite, stream):
    """Draw a key-agreement private key (vectors.md §1)."""
    if suite == 1:
        return stream.fill(32)
    while True:
        k = int.from_bytes(stream.fill(32), "big")
        if 0 < k < P256_N:
            return k.to_bytes(32, "big")


def ka_public(suite, priv):
    if suite == 1:
        return x25519.X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key = ec.derive_private_key(int.from_bytes(priv, "big"), ec.SECP256R1())
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def ka_dh(suite, priv, peer):
    if suite == 1:
        return x25519.X25519PrivateKey.from_private_bytes(priv).exchange(x25519.X25519PublicKey.from_public_bytes(peer))
    key = ec.derive_private_key(int.from_bytes(priv, "big"), ec.SECP256R1())
    return key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), peer))


def pair_key(suite, priv, peer_pub, salt, purpose, a, b):
    info = enc(purpose, u32(min(a, b)), u32(max(a, b)))
    return info, hkdf(ka_dh(suite, priv, peer_pub), salt, info, 32)


# ---------------------------------------------------------------------------------------------------------------
# Identity signatures (secagg.md §3, roster.md §4.1)

def ident_public(suite, priv):
    if suite == "ed25519":
        return ed25519.Ed25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key = ec.derive_private_key(int.from_bytes(priv, "big"), ec.SECP256R1())
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def rfc6979_k(x, h1):
    """RFC 6979 §3.2 nonce for P-256 / SHA-256 (qlen = hlen = 256)."""
    q = P256_N
    bx = x.to_bytes(32, "big")
    bh = (int.from_bytes(h1, "big") % q).to_bytes(32, "big")
    V, K = b"\x01" * 32, b"\x00" * 32
    K = hmac.new(K, V + b"\x00" + bx + bh, hashlib.sha256).digest()
    V = hmac.new(K, V, hashlib.sha256).digest()
    K = hmac.new(K, V + b"\x01" + bx + bh, hashlib.sha256).digest()
    V = hmac.new(K, V, hashlib.sha256).digest()
    while True:
        V = hmac.new(K, V, hashlib.sha256).digest()
        k = int.from_bytes(V, "big")
        if 1 <= k < q:
            return k
        K = hmac.new(K, V + b"\x00", hashlib.sha256).digest()
        V = hmac.new(K, V, hashlib.sha256).digest()


# Minimal affine P-256 arithmetic, only to produce the RFC 6979 signature r = (kG).x mod n (python3-cryptography signs
# with a random nonce). Verification uses the library.
P256_A = P256_P - 3
P256_G = (0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
          0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)


def _p256_add(P, Q):
    if P is None:
        return Q
    if Q is None:
        return P
    if P[0] == Q[0] and (P[1] + Q[1]) % P256_P == 0:
        return None
    if P == Q:
        lam = (3 * P[0] * P[0] + P256_A) * pow(2 * P[1], -1, P256_P) % P256_P
    else:
        lam = (Q[1] - P[1]) * pow(Q[0] - P[0], -1, P256_P) % P256_P
    x = (lam * lam - P[0] - Q[0]) % P256_P
    return x, (lam * (P[0] - x) - P[1]) % P256_P


def _p256_mul(k, P):
    R = None
    while k:
        if k & 1:
            R = _p256_add(R, P)
        P = _p256_add(P, P)
        k >>= 1
    return R


def ident_sign(suite, priv, msg):
    if suite == "ed25519":
        return ed25519.Ed25519PrivateKey.from_private_bytes(priv).sign(msg)
    x = int.from_bytes(priv, "big")
    h = sha256(msg)
    e = int.from_bytes(h, "big")
    k = rfc6979_k(x, h)
    r = _p256_mul(k, P256_G)[0] % P256_N
    s = pow(k, -1, P256_N) * (e + r * x) % P256_N
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


ED_P = 2**255 - 19
ED_L = 2**252 + 27742317777372353535851937790883648493
ED_D = (-121665 * pow(121666, -1, ED_P)) % ED_P


def _ed_decode(b):
    """RFC 8032 §5.1.3 point decoding; None when it does not decode."""
    y = int.from_bytes(b, "little") & ((1 << 255) - 1)
    sign = b[31] >> 7
    if y >= ED_P:
        return None
    u, v = (y * y - 1) % ED_P, (ED_D * y * y + 1) % ED_P
    x = u * pow(v, 3, ED_P) * pow(u * pow(v, 7, ED_P), (ED_P - 5) // 8, ED_P) % ED_P
    if v * x * x % ED_P == u % ED_P:
        pass
    elif v * x * x % ED_P == (-u) % ED_P:
        x = x * pow(2, (ED_P - 1) // 4, ED_P) % ED_P
    else:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = ED_P - x
    return x, y


def _ed_add(P, Q):
    (x1, y1), (x2, y2) = P, Q
    t = ED_D * x1 * x2 * y1 * y2 % ED_P
    return ((x1 * y2 + x2 * y1) * pow(1 + t, -1, ED_P) % ED_P, (y1 * y2 + x1 * x2) * pow(1 - t, -1, ED_P) % ED_P)


def ed_key_valid(pk):
    """Decodes and is not of small order (8·P ≠ identity)."""
    P = _ed_decode(pk)
    if P is None:
        return False
    for _ in range(3):
        P = _ed_add(P, P)
    return P != (0, 1)


def p256_key_valid(pk):
    if len(pk) != 65 or pk[0] != 4:
        return False
    x, y = int.from_bytes(pk[1:33], "big"), int.from_bytes(pk[33:], "big")
    if x >= P256_P or y >= P256_P:
        return False
    return (y * y - (x * x * x + P256_A * x + 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B)) % P256_P == 0


def ident_verify(suite, pub, msg, sig):
    if len(sig) != 64:
        return False
    try:
        if suite == "ed25519":
            if len(pub) != 32 or not ed_key_valid(pub) or int.from_bytes(sig[32:], "little") >= ED_L:
                return False
            ed25519.Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
            return True
        if not p256_key_valid(pub):
            return False
        r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
        if not (0 < r < P256_N and 0 < s < P256_N):
            return False
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), pub).verify(
            encode_dss_signature(r, s), msg, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False


# ---------------------------------------------------------------------------------------------------------------
# Shamir over GF(2^256 + 297) (secagg.md §3, vectors.md §1)

SHAMIR_P = 2**256 + 297


def shamir_split(secret, t, xs, stream):
    coeffs = [int.from_bytes(secret, "big")]
    for _ in range(t - 1):
        while True:
            b = bytearray(stream.fill(33))
            b[0] &= 0x01
            a = int.from_bytes(b, "big")
            if a < SHAMIR_P:
                break
        coeffs.append(a)
    out = {}
    for x in xs:
        y = 0
        for a in reversed(coeffs):
            y = (y * x + a) % SHAMIR_P
        out[x] = y.to_bytes(33, "big")
    return out


def shamir_combine(shares, at=0):
    """shares: {x: 33-byte y}; the Lagrange interpolation at x = at (0: the secret)."""
    s = 0
    xs = list(shares)
    for xi in xs:
        num, den = 1, 1
        for xj in xs:
            if xj != xi:
                num = num * (at - xj) % SHAMIR_P
                den = den * (xi - xj) % SHAMIR_P
        s = (s + int.from_bytes(shares[xi], "big") * num * pow(den, -1, SHAMIR_P)) % SHAMIR_P
    return s


def shares_consistent(shares, t):
    """Every share beyond the t smallest holders lies on the polynomial those t define (no corrupted share)."""
    base = {h: shares[h] for h in sorted(shares)[:t]}
    return [h for h in sorted(shares)[t:] if shamir_combine(base, h) != int.from_bytes(shares[h], "big")]


# ---------------------------------------------------------------------------------------------------------------
# Graphs (graphs.md §1-§2)

def relabel_permutation(seed, n, k):
    st = Stream(hkdf(seed, b"", enc("harary-relabel", u32(n), u32(k)), 32))
    p = list(range(n))
    for i in range(n - 1, 0, -1):
        j = st.below(i + 1)
        p[i], p[j] = p[j], p[i]
    return p


def harary_neighbours(p, n, k):
    """Neighbours of every node label (node i = the i-th smallest id), sorted."""
    pos = {lab: i for i, lab in enumerate(p)}
    out = []
    for lab in range(n):
        q = pos[lab]
        ns = [p[(q + o) % n] for o in range(1, k // 2 + 1)] + [p[(q - o) % n] for o in range(1, k // 2 + 1)]
        if k % 2:
            ns.append(p[(q + n // 2) % n])
        out.append(sorted(set(ns)))
    return out


def parameter_digest(r, cohort, t, d, b, mode, suite, kind, k, binding):
    return sha256(enc("secagg/round-parameters", u64(r), ids(cohort), u32(t), u32(d), u32(b), u32(mode), u32(suite),
                      u32(kind), u32(k), binding))


def session_id(P, keys, harary):
    """keys: list of (id, c_pk, s_pk, commitment) in increasing id."""
    parts = [P]
    for (i, c, s, cm) in keys:
        parts += [u32(i), c, s] + ([cm] if harary else [])
    return sha256(enc("secagg/session-id", *parts))


# ---------------------------------------------------------------------------------------------------------------
# Families

def load(path):
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def fam_mask_prg(doc):
    for v in doc["vectors"]:
        i = v["input"]
        eq(v["name"], mask_prg(bytes.fromhex(i["seed"]), bytes.fromhex(i["context"]), i["bits"], i["count"]),
           v["output"]["words"])


def fam_derivations(doc):
    for v in doc["vectors"]:
        i, o, n, kind = v["input"], v["output"], v["name"], v["kind"]
        if kind == "parameter-digest":
            eq(n, parameter_digest(i["round"], i["clientIds"], i["threshold"], i["dimension"], i["bits"],
                                   i["threatMode"], i["suite"], i["graphKind"], i["degree"], bytes.fromhex(i["binding"])),
               o["digest"])
        elif kind == "session-id":
            keys = [(k["clientId"], bytes.fromhex(k["cipherPublicKey"]), bytes.fromhex(k["maskPublicKey"]), b"")
                    for k in i["keys"]]
            eq(n, session_id(bytes.fromhex(i["parameterDigest"]), keys, False), o["sessionId"])
        elif kind == "advertise-message":
            eq(n, enc("secagg/advertise-keys", bytes.fromhex(i["parameterDigest"]), u32(i["clientId"]),
                      bytes.fromhex(i["cipherPublicKey"]), bytes.fromhex(i["maskPublicKey"])), o["message"])
        elif kind == "consistency-message":
            eq(n, enc("secagg/consistency-check", bytes.fromhex(i["sessionId"]), u64(i["round"]), ids(i["survivors"])),
               o["message"])
        elif kind == "pair-key":
            priv = bytes.fromhex(i["privateKey"])
            eq(n + "/public-key", ka_public(i["suite"], priv), o["publicKey"])
            info, key = pair_key(i["suite"], priv, bytes.fromhex(i["peerPublicKey"]), bytes.fromhex(i["salt"]),
                                 i["purpose"], i["a"], i["b"])
            eq(n + "/info", info, o["info"])
            eq(n + "/key", key, o["key"])
        elif kind == "mask-context":
            S = bytes.fromhex(i["sessionId"])
            if i["type"] == "self":
                ctx = enc("secagg/self-mask", S, u32(i["a"]))
            else:
                ctx = enc("secagg/pairwise-mask", S, u32(min(i["a"], i["b"])), u32(max(i["a"], i["b"])))
            eq(n, ctx, o["context"])
        elif kind == "harary-relabelling":
            P = bytes.fromhex(i["parameterDigest"])
            members = sorted(i["members"], key=lambda m: m["clientId"])
            comms = [sha256(enc("secagg/relabel-commit", P, u32(m["clientId"]), bytes.fromhex(m["relabelSeed"])))
                     for m in members]
            eq(n + "/commitments", [c.hex() for c in comms], o["commitments"])
            m2 = next(m for m in members if m["clientId"] == 2)
            eq(n + "/advertise-message-2", enc("secagg/advertise-keys", P, u32(2), bytes.fromhex(m2["cipherPublicKey"]),
                                               bytes.fromhex(m2["maskPublicKey"]), comms[members.index(m2)]),
               o["advertiseMessage2"])
            keys = [(m["clientId"], bytes.fromhex(m["cipherPublicKey"]), bytes.fromhex(m["maskPublicKey"]), c)
                    for m, c in zip(members, comms)]
            S = session_id(P, keys, True)
            eq(n + "/session-id", S, o["sessionId"])
            seed = sha256(enc("secagg/graph-relabel-reveals", S, *[bytes.fromhex(m["relabelSeed"]) for m in members]))
            eq(n + "/relabel-seed", seed, o["relabelSeed"])
            p = relabel_permutation(seed, i["clients"], i["degree"])
            eq(n + "/permutation", p, o["permutation"])
            eq(n + "/neighbours", harary_neighbours(p, i["clients"], i["degree"]), o["neighbours"])
        else:
            check(n, False, f"unknown kind {kind}")


def fam_shamir(doc):
    for v in doc["vectors"]:
        i = v["input"]
        shares = shamir_split(bytes.fromhex(i["secret"]), i["threshold"], i["xs"], Stream(bytes.fromhex(i["rngSeed"])))
        eq(v["name"] + "/shares", [{"x": x, "y": shares[x].hex()} for x in i["xs"]], v["output"]["shares"])
        # any t of the published shares reconstruct the secret
        pub = {s["x"]: bytes.fromhex(s["y"]) for s in v["output"]["shares"]}
        xs = sorted(pub)
        t = i["threshold"]
        ok = all(shamir_combine({x: pub[x] for x in sub}) == int.from_bytes(bytes.fromhex(i["secret"]), "big")
                 for sub in [xs[:t], xs[-t:]])
        check(v["name"] + "/reconstruct", ok, "t shares do not reconstruct the secret")


def contract_fields(encoding):
    """Parse the round-contract canonical encoding (secagg.md §2.1)."""
    lab = PREFIX + b"round-contract\x00"
    if not encoding.startswith(lab):
        raise ValueError("no round-contract label")
    b = memoryview(encoding)[len(lab):]
    pos = [0]

    def take(fmt):
        n = struct.calcsize(fmt)
        v = struct.unpack(fmt, b[pos[0]:pos[0] + n])[0]
        pos[0] += n
        return v

    def text():
        n = take(">I")
        s = bytes(b[pos[0]:pos[0] + n]).decode("utf-8")
        pos[0] += n
        return s
    f = {}
    for name, fmt in [("round", ">Q"), ("modelVersion", ">Q"), ("threatMode", ">I"), ("privacyUnit", ">I"),
                      ("updateEncoding", ">I"), ("dimension", ">I"), ("bits", ">I"), ("clip", ">d"), ("gamma", ">d"),
                      ("beta", ">d"), ("sigma2Num", ">Q"), ("sigma2Den", ">Q"), ("plannedClients", ">I"),
                      ("minClients", ">I"), ("delta", ">d"), ("samplingRate", ">d"), ("k", ">d"),
                      ("claimedEpsilon", ">d"), ("userClip", ">d"), ("maxUsersPerClient", ">I")]:
        f[name] = take(fmt)
    f["fixedPointBounds"] = [take(">d") for _ in range(take(">I"))]
    f["cohort"] = [(take(">I"), text(), text()) for _ in range(take(">I"))]
    if pos[0] != len(b):
        raise ValueError(f"{len(b) - pos[0]} trailing bytes")
    return f


def fam_graphs(doc):
    for c in doc["cases"]:
        n, p = c["name"], c["parameters"]
        ce = bytes.fromhex(c["contractEncoding"])
        eq(n + "/binding", sha256(ce), p["binding"])
        try:
            f = contract_fields(ce)
            check(n + "/contract-fields", (f["round"], f["dimension"], f["bits"], f["threatMode"]) ==
                  (p["round"], p["dimension"], p["bits"], p["threatMode"]), str(f))
        except (ValueError, struct.error) as e:
            check(n + "/contract-fields", False, str(e))
        P = parameter_digest(p["round"], p["clientIds"], p["threshold"], p["dimension"], p["bits"], p["threatMode"],
                             p["suite"], p["graphKind"], p["degree"], bytes.fromhex(p["binding"]))
        eq(n + "/parameter-digest", P, c["parameterDigest"])
        keys = sorted(c["keys"], key=lambda k: k["clientId"])
        for k in keys:
            eq(f"{n}/commitment/{k['clientId']}",
               sha256(enc("secagg/relabel-commit", P, u32(k["clientId"]), bytes.fromhex(k["reveal"]))), k["commitment"])
        S = session_id(P, [(k["clientId"], bytes.fromhex(k["cipherPublicKey"]), bytes.fromhex(k["maskPublicKey"]),
                            bytes.fromhex(k["commitment"])) for k in keys], True)
        eq(n + "/session-id", S, c["sessionId"])
        seed = sha256(enc("secagg/graph-relabel-reveals", S, *[bytes.fromhex(k["reveal"]) for k in keys]))
        eq(n + "/graph-seed", seed, c["graphSeed"])
        nn, kk = len(p["clientIds"]), p["degree"]
        info = enc("harary-relabel", u32(nn), u32(kk))
        eq(n + "/stream-info", info, c["streamInfo"])
        eq(n + "/stream-key", hkdf(seed, b"", info), c["streamKey"])
        perm = relabel_permutation(seed, nn, kk)
        eq(n + "/label-of-position", perm, c["labelOfPosition"])
        cid = p["clientIds"]
        eq(n + "/neighbours", {str(cid[i]): [cid[j] for j in ns] for i, ns in enumerate(harary_neighbours(perm, nn, kk))},
           c["neighbours"])


# --- DP (dp.md §2-§5, vectors.md §2-§3) ------------------------------------------------------------------------

def padded(d):
    D = 1
    while D < d:
        D *= 2
    return D


def round_seed(r):
    return sha256(PREFIX + b"rotation-seed\x00" + u64(r))


def rotation_signs(r, D):
    info = enc("dp-rotation", u32(D))
    key = hkdf(round_seed(r), b"", info)
    sb = Stream(key).fill(max(1, -(-D // 8)))
    return info, key, sb, [-1.0 if (sb[i // 8] >> (i % 8)) & 1 else 1.0 for i in range(D)]


def fwht(y):
    D = len(y)
    h = 1
    while h < D:
        for i in range(0, D, 2 * h):
            for j in range(i, i + h):
                a, b = y[j], y[j + h]
                y[j], y[j + h] = a + b, a - b
        h *= 2
    return y


def rounded_norm_bound(c, g, beta, D):
    a = c / g + math.sqrt(D)
    if beta == 0:
        return a
    b = math.sqrt((c / g) ** 2 + D / 4 + math.sqrt(2 * math.log(1 / beta)) * (c / g + math.sqrt(D) / 2))
    return min(a, b)


def dp_decode(S, m, p, D, signs):
    b, c, g = p["bits"], p["clip"], p["gamma"]
    s2 = p["sigma2Num"] / p["sigma2Den"]
    half = 1 << (b - 1)
    v = [x - (1 << b) if x >= half else x for x in S]
    s = math.sqrt((m * c / g) ** 2 / D + m / 4 + m * s2)
    pp = 1e-6
    kdet = math.sqrt(2 * math.log(2 * D / pp))
    Bc = math.ceil(kdet * s)
    L = math.log(1 / pp)
    dprime = rounded_norm_bound(c, g, p["beta"], D)
    normb = m * dprime + math.sqrt(m * (s2 + 0.25) * (D + 2 * math.sqrt(D * L) + 2 * L))
    inorm = math.sqrt(sum(float(x) * float(x) for x in v))
    out = {"contributors": m, "failure": "None", "sum": None, "integerNorm": inorm, "measuredNorm": inorm * g,
           "normBound": normb, "maxAbsCoordinate": max(abs(x) for x in v), "coordinateBound": Bc,
           "coordinatesOutOfRange": sum(1 for x in v if abs(x) > Bc)}
    if Bc >= half:
        out["failure"] = "ModulusTooSmallForParameters"
    elif out["coordinatesOutOfRange"]:
        out["failure"] = "CoordinateOutOfRange"
    elif inorm > normb:
        out["failure"] = "NormBeyondBound"
    else:
        x = fwht([vi * g for vi in v])
        inv = 1.0 / math.sqrt(D)
        out["sum"] = [x[i] * inv * signs[i] for i in range(p["dimension"])]
    return out


def fam_dp_encode(doc):
    for c in doc["cases"]:
        n, p = c["name"], c["parameters"]
        d, b, clip, g = p["dimension"], p["bits"], p["clip"], p["gamma"]
        D = padded(d)
        eq(n + "/padded-dimension", D, c["paddedDimension"])
        eq(n + "/round-seed", round_seed(c["roundId"]), c["roundSeed"])
        info, key, sb, signs = rotation_signs(c["roundId"], D)
        eq(n + "/rotation-info", info, c["rotationInfo"])
        eq(n + "/rotation-key", key, c["rotationKey"])
        eq(n + "/sign-bytes", sb, c["signBytes"])
        bound = rounded_norm_bound(clip, g, p["beta"], D)
        eq(n + "/rounded-norm-bound", bound, c["roundedNormBound"])
        total = [0] * D
        for ci, cl in enumerate(c["clients"]):
            cn = f"{n}/client{ci}"
            x = list(cl["update"])
            q = 0.0
            for xi in x:
                q += xi * xi
            norm = math.sqrt(q)
            if norm > clip:
                f = clip / norm
                x = [xi * f for xi in x]
            eq(cn + "/clipped", x, cl["clipped"])
            y = [signs[i] * x[i] for i in range(d)] + [0.0] * (D - d)
            fwht(y)
            inv = 1.0 / math.sqrt(D)
            y = [yi * inv for yi in y]
            eq(cn + "/rotated", y, cl["rotated"])
            ig = 1.0 / g
            z = [yi * ig for yi in y]
            eq(cn + "/scaled", z, cl["scaled"])
            st = Stream(bytes.fromhex(cl["randomSeed"]))
            attempts = 0
            while True:
                attempts += 1
                r = []
                for zi in z:
                    fl = math.floor(zi)
                    thr = math.trunc((zi - fl) * 2.0**53)
                    r.append(int(fl) + (1 if (st.u64() >> 11) < thr else 0))
                sq = 0.0
                for ri in r:
                    sq += float(ri) * float(ri)
                if sq <= bound * bound or attempts >= 1000:
                    break
            eq(cn + "/rounding-attempts", attempts, cl["roundingAttempts"])
            eq(cn + "/rounded", r, cl["rounded"])
            check(cn + "/stream-position", st.consumed == 8 * D * cl["roundingAttempts"], str(st.consumed))
            enc_ = [(ri + ei) % (1 << b) for ri, ei in zip(r, cl["noise"])]
            eq(cn + "/encoded", enc_, cl["encoded"])
            total = [(t + e) % (1 << b) for t, e in zip(total, enc_)]
        eq(n + "/sum", total, c["sum"])
        m = len(c["clients"])
        eq(n + "/decode", dp_decode(c["sum"], m, p, D, signs), c["decode"])
        wrapped = list(c["sum"])
        wrapped[0] = (wrapped[0] + (1 << (b - 1))) % (1 << b)
        eq(n + "/wrapped-sum", wrapped, c["wrappedSum"])
        eq(n + "/wrapped-decode", dp_decode(wrapped, m, p, D, signs), c["wrappedDecode"])


def ddg_rdp(p, m, orders):
    D = padded(p["dimension"])
    s2 = p["sigma2Num"] / p["sigma2Den"]
    sigma = math.sqrt(s2)
    d2 = rounded_norm_bound(p["clip"], p["gamma"], p["beta"], D)
    tau = 10 * sum(math.exp(-2 * math.pi ** 2 * s2 * k / (k + 1)) for k in range(1, m))
    l2 = d2 / (math.sqrt(m) * sigma)
    l1 = d2 * min(math.sqrt(D), d2) / (math.sqrt(m) * sigma)
    rD = math.sqrt(D)
    out = [min(a * l2 * l2 / 2 + tau * D, (a / 2) * (l2 * l2 + 2 * l1 * tau + tau * tau * D), (a / 2) * (l2 + rD * tau) ** 2)
           for a in orders]
    return d2, tau, out


def ddg_rdp_at(p, m, alpha):
    return ddg_rdp(p, m, [alpha])[2][0]


def log_comb(n, k):
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def subsampled_rdp(alpha, q, eps):
    """Poisson subsampling at integer alpha >= 2 (dp.md §5.1: Zhu-Wang Thm. 5 as accounting_utils computes it)."""
    if q == 1:
        return eps(alpha)
    terms = [(alpha - 1) * math.log1p(-q) + math.log(alpha * q - q + 1),
             eps(2) + log_comb(alpha, 2) + 2 * math.log(q) + (alpha - 2) * math.log1p(-q)]
    terms += [math.log(3) + (l - 1) * eps(l) + log_comb(alpha, l) + (alpha - l) * math.log1p(-q) + l * math.log(q)
              for l in range(3, alpha + 1)]
    top = max(terms)
    lse = top + math.log(sum(math.exp(t - top) for t in terms))
    return min(eps(alpha), lse / (alpha - 1))


def rdp_to_dp(orders, rdp, delta):
    best, best_order = math.inf, None
    for a, r in zip(orders, rdp):
        if a <= 1.01:
            continue
        if delta ** 2 + math.expm1(-r) > 0:
            e = 0.0
        else:
            e = r + math.log1p(-1 / a) - (math.log(delta) + math.log(a)) / (a - 1)
        if e < best:
            best, best_order = e, a
    return max(best, 0.0), best_order


def fam_dp_accountant(doc):
    for c in doc["cases"]:
        n, p = c["name"], c["parameters"]
        m = c["contributingClients"]
        orders = list(range(2, 129)) + [256]
        eq(n + "/orders", orders, c["orders"])
        d2, tau, rdp = ddg_rdp(p, m, orders)
        close(n + "/rounded-l2-bound", d2, c["roundedL2Bound"], 1e-12)
        close(n + "/tau", tau, c["tau"], 1e-12)
        worst = max((abs(a - b) / max(abs(b), 1e-300) for a, b in zip(rdp, c["rdp"])), default=0.0)
        check(n + "/rdp", len(rdp) == len(c["rdp"]) and worst <= 1e-12, f"largest relative difference {worst}")
        e, o = rdp_to_dp(orders, rdp, c["ledgerDelta"])
        close(n + "/round-epsilon", e, c["roundEpsilon"], 1e-12)
        eq(n + "/round-order", o, c["roundOrder"])
        e, o = rdp_to_dp(orders, [r * c["rounds"] for r in rdp], c["ledgerDelta"])
        close(n + "/composed-epsilon", e, c["composedEpsilon"], 1e-12)
        eq(n + "/composed-order", o, c["composedOrder"])
        check(n + "/amplified-at-most-charged", c["amplifiedRoundEpsilon"] <= c["roundEpsilon"],
              f"{c['amplifiedRoundEpsilon']} > {c['roundEpsilon']}")
        cache = {}

        def eps(a):
            if a not in cache:
                cache[a] = ddg_rdp_at(p, m, a)
            return cache[a]
        amp = [subsampled_rdp(a, p["samplingRate"], eps) for a in orders]
        close(n + "/amplified-round-epsilon", rdp_to_dp(orders, amp, c["ledgerDelta"])[0], c["amplifiedRoundEpsilon"], 1e-12)



# --- Roster (roster.md) ----------------------------------------------------------------------------------------

import re

ROSTER_SUITES = {"ed25519": 32, "ecdsa-p256-sha256": 65}
IDENT = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}\Z")
TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")
HEX = re.compile(r"(?:[0-9a-f]{2})*\Z")


class Refused(Exception):
    def __init__(self, refusal, detail):
        super().__init__(f"{refusal}: {detail}")
        self.refusal, self.detail = refusal, detail


def _no_dupes(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise Refused("Malformed", f"field '{k}' given twice")
        d[k] = v
    return d


def parse_time(s, what):
    if not isinstance(s, str) or not TIME.match(s):
        raise Refused("Malformed", f"{what}: not yyyy-MM-ddTHH:mm:ssZ")
    try:
        return int(datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())
    except ValueError:
        raise Refused("Malformed", f"{what}: not a date")


def _fields(obj, names, what, optional=()):
    if not isinstance(obj, dict):
        raise Refused("Malformed", f"{what}: not an object")
    for k in obj:
        if k not in names and k not in optional:
            raise Refused("Malformed", f"{what}: unknown field '{k}'")
    for k in names:
        if k not in obj:
            raise Refused("Malformed", f"{what}: missing field '{k}'")


def _str(obj, k, what):
    if not isinstance(obj[k], str):
        raise Refused("Malformed", f"{what}.{k}: not a string")
    return obj[k]


def _hex(obj, k, what):
    s = _str(obj, k, what)
    if not HEX.match(s):
        raise Refused("Malformed", f"{what}.{k}: not lowercase hex of whole bytes")
    return bytes.fromhex(s)


def roster_parse(data):
    """roster.md §3 (step 1). Returns the parsed content with raw strings."""
    if len(data) > 16 * 1024 * 1024:
        raise Refused("Malformed", "larger than 16 MiB")
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=_no_dupes)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise Refused("Malformed", f"not JSON: {e}")
    top = ["format", "consortium", "version", "notBefore", "notAfter", "authority", "members", "revocations"]
    _fields(doc, top, "roster", optional=("signature",))
    r = {"format": _str(doc, "format", "roster"), "consortium": _str(doc, "consortium", "roster")}
    v = doc["version"]
    if not isinstance(v, int) or isinstance(v, bool) or v < 0 or v > 2**53 - 1:
        raise Refused("Malformed", "version: not an integer in [1, 2^53 - 1]")
    r["version"] = v
    r["notBefore"], r["notAfter"] = parse_time(doc["notBefore"], "notBefore"), parse_time(doc["notAfter"], "notAfter")
    _fields(doc["authority"], ["suite", "publicKey"], "authority")
    r["authority"] = (_str(doc["authority"], "suite", "authority"), _hex(doc["authority"], "publicKey", "authority"))
    for arr in ("members", "revocations"):
        if not isinstance(doc[arr], list) or len(doc[arr]) > 100_000:
            raise Refused("Malformed", f"{arr}: not an array of at most 100,000 entries")
    r["members"], r["revocations"] = [], []
    for i, m in enumerate(doc["members"]):
        w = f"members[{i}]"
        _fields(m, ["organisation", "clientId", "suite", "publicKey", "notBefore", "notAfter"], w)
        r["members"].append({"organisation": _str(m, "organisation", w), "clientId": _str(m, "clientId", w),
                             "suite": _str(m, "suite", w), "publicKey": _hex(m, "publicKey", w),
                             "notBefore": parse_time(m["notBefore"], w + ".notBefore"),
                             "notAfter": parse_time(m["notAfter"], w + ".notAfter")})
    for i, m in enumerate(doc["revocations"]):
        w = f"revocations[{i}]"
        _fields(m, ["organisation", "clientId", "suite", "publicKey", "revokedAt"], w)
        r["revocations"].append({"organisation": _str(m, "organisation", w), "clientId": _str(m, "clientId", w),
                                 "suite": _str(m, "suite", w), "publicKey": _hex(m, "publicKey", w),
                                 "revokedAt": parse_time(m["revokedAt"], w + ".revokedAt")})
    r["signature"] = _hex(doc, "signature", "roster") if "signature" in doc else None
    if r["format"] != "securefedrec-roster/1":
        raise Refused("UnsupportedFormat", f"format '{r['format']}'")
    return r


def roster_encoding(r):
    """E of roster.md §4."""
    def P(x):
        return u32(len(x)) + x
    a = lambda s: s.encode("ascii")  # noqa: E731
    e = PREFIX + b"roster\x00" + P(u32(1)) + P(a(r["consortium"])) + P(a(r["authority"][0])) + P(r["authority"][1])
    e += P(u64(r["version"])) + P(i64(r["notBefore"])) + P(i64(r["notAfter"])) + P(u32(len(r["members"])))
    for m in sorted(r["members"], key=lambda m: (a(m["organisation"]), a(m["clientId"]))):
        e += P(a(m["organisation"])) + P(a(m["clientId"])) + P(a(m["suite"])) + P(m["publicKey"])
        e += P(i64(m["notBefore"])) + P(i64(m["notAfter"]))
    e += P(u32(len(r["revocations"])))
    for m in sorted(r["revocations"], key=lambda m: (a(m["organisation"]), a(m["clientId"]), m["publicKey"], m["revokedAt"])):
        e += P(a(m["organisation"])) + P(a(m["clientId"])) + P(a(m["suite"])) + P(m["publicKey"]) + P(i64(m["revokedAt"]))
    return e


def _key_valid(suite, key):
    return ed_key_valid(key) if suite == "ed25519" else p256_key_valid(key)


def roster_verify(data, authority, now, last_seen=None, allowed=("ed25519", "ecdsa-p256-sha256")):
    """roster.md §5, in order; raises Refused, returns (roster, (version, digest hex))."""
    r = roster_parse(data)

    def ident(s, w):
        if not IDENT.match(s):
            raise Refused("Malformed", f"{w}: '{s}' is not an identifier")

    def key(suite, k, w):
        if suite not in ROSTER_SUITES:
            raise Refused("UnsupportedSuite", f"{w}: suite '{suite}'")
        if len(k) != ROSTER_SUITES[suite]:
            raise Refused("Malformed", f"{w}: key of {len(k)} bytes")
        if not _key_valid(suite, k):
            raise Refused("InvalidPublicKey", f"{w}: not a valid point")
    ident(r["consortium"], "consortium")
    if r["version"] < 1:
        raise Refused("Malformed", "version 0")
    if r["notBefore"] >= r["notAfter"]:
        raise Refused("Malformed", "roster window: notBefore >= notAfter")
    key(r["authority"][0], r["authority"][1], "authority")
    for i, m in enumerate(r["members"]):
        w = f"members[{i}]"
        ident(m["organisation"], w)
        ident(m["clientId"], w)
        key(m["suite"], m["publicKey"], w)
        if m["notBefore"] >= m["notAfter"]:
            raise Refused("Malformed", f"{w}: notBefore >= notAfter")
    for i, m in enumerate(r["revocations"]):
        w = f"revocations[{i}]"
        ident(m["organisation"], w)
        ident(m["clientId"], w)
        key(m["suite"], m["publicKey"], w)
    for w, s in [("authority", r["authority"][0])] + [(f"members[{i}]", m["suite"]) for i, m in enumerate(r["members"])]:
        if s not in allowed:
            raise Refused("UnsupportedSuite", f"{w}: suite '{s}' not allowed")
    if r["signature"] is None or len(r["signature"]) != 64:
        raise Refused("Malformed", "no signature of 64 bytes")
    if r["authority"] != authority:
        raise Refused("UnknownAuthority", "the file's authority is not the pinned one")
    E = roster_encoding(r)
    if not ident_verify(authority[0], authority[1], E, r["signature"]):
        raise Refused("BadSignature", "the signature does not verify over the canonical encoding")
    names, keys, rkeys = set(), set(), set()
    for i, m in enumerate(r["members"]):
        nm = (m["organisation"], m["clientId"])
        if nm in names:
            raise Refused("DuplicateMember", f"members[{i}] ({nm[0]}/{nm[1]})")
        if m["publicKey"] in keys:
            raise Refused("DuplicateKey", f"members[{i}] ({nm[0]}/{nm[1]})")
        names.add(nm)
        keys.add(m["publicKey"])
    for i, m in enumerate(r["revocations"]):
        if m["publicKey"] in rkeys:
            raise Refused("DuplicateKey", f"revocations[{i}]")
        rkeys.add(m["publicKey"])
    for i, m in enumerate(r["members"]):
        if m["publicKey"] in rkeys:
            raise Refused("RevokedMemberListed", f"members[{i}]")
    if now < r["notBefore"]:
        raise Refused("RosterNotYetValid", "now < notBefore")
    if now >= r["notAfter"]:
        raise Refused("RosterExpired", "now >= notAfter")
    digest = sha256(E).hex()
    if last_seen is not None:
        if r["version"] < last_seen[0]:
            raise Refused("Rollback", f"version {r['version']} < {last_seen[0]}")
        if r["version"] == last_seen[0] and digest != last_seen[1]:
            raise Refused("VersionConflict", f"version {r['version']} with another digest")
    return r, E, (r["version"], digest)


def roster_member(r, name, now, presented=None):
    org, cid = name.split("/", 1)
    if presented and any(v["publicKey"] == presented for v in r["revocations"]):
        return "Revoked"
    m = next((m for m in r["members"] if (m["organisation"], m["clientId"]) == (org, cid)), None)
    if m is None:
        return "Revoked" if any((v["organisation"], v["clientId"]) == (org, cid) for v in r["revocations"]) else "NotInRoster"
    if now < m["notBefore"]:
        return "MemberNotYetValid"
    if now >= m["notAfter"]:
        return "MemberExpired"
    if presented and presented != m["publicKey"]:
        return "KeyMismatch"
    return "None"


def roster_cohort(r, cohort, now, min_orgs):
    if not cohort:
        return "EmptyCohort"
    seen = set()
    for name in cohort:
        if name in seen:
            return "DuplicateCohortMember"
        seen.add(name)
        res = roster_member(r, name, now)
        if res != "None":
            return res
    return "TooFewOrganisations" if len({n.split("/", 1)[0] for n in cohort}) < min_orgs else "None"


def parse_authority(s):
    suite, hx = s.split(":", 1)
    return suite, bytes.fromhex(hx)


def parse_last_seen(s):
    if s is None:
        return None
    v, dg = s.split(":", 1)
    return int(v), dg


def fam_roster(doc):
    keys = {k["name"]: k for k in doc["keys"]}
    for k in doc["keys"]:
        eq(f"key/{k['name']}", ident_public(k["suite"], bytes.fromhex(k["privateKey"])), k["publicKey"])
    for v in doc["vectors"]:
        i, o, n = v["input"], v["output"], v["name"]
        now = parse_time(i["now"], "now")
        try:
            r, E, cp = roster_verify(i["roster"].encode("utf-8"), parse_authority(i["authority"]), now,
                                     parse_last_seen(i.get("lastSeen")))
            got = "None"
        except Refused as e:
            got, r = e.refusal, None
        if v["kind"] == "roster-verify":
            eq(n, got, o["refusal"])
            if "encoding" in o and r is not None:
                eq(n + "/encoding", E, o["encoding"])
                eq(n + "/digest", cp[1], o["digest"])
                eq(n + "/signature", r["signature"], o["signature"])
                auth = next(k for k in keys.values() if bytes.fromhex(k["publicKey"]) == r["authority"][1])
                eq(n + "/re-signed", ident_sign(auth["suite"], bytes.fromhex(auth["privateKey"]), E), o["signature"])
        elif r is None:
            check(n, False, f"the roster was refused ({got})")
        elif v["kind"] == "member-check":
            eq(n, roster_member(r, i["member"], now, bytes.fromhex(i["presentedKey"]) or None), o["refusal"])
        elif v["kind"] == "cohort-check":
            eq(n, roster_cohort(r, i["cohort"], now, i["minOrganisations"]), o["refusal"])


# --- Coordinator ledger chain (ledger.md) ----------------------------------------------------------------------

def _P(x):
    return u32(len(x)) + x


def ledger_row_hash(prev, seq, round_id, recorded_at, parameters, clients, eps_bits, total_bits):
    return sha256(PREFIX + b"ledger-row\x00" + _P(prev) + _P(u64(seq)) + _P(round_id.encode("ascii")) +
                  _P(u64(recorded_at)) + _P(parameters.encode("utf-8")) + _P(u32(clients)) + _P(u64(eps_bits)) +
                  _P(u64(total_bits)))


def model_row_hash(prev, version, round_id, digest, eps_text, released_at, count, head):
    return sha256(PREFIX + b"model-row\x00" + _P(prev) + _P(u64(version)) + _P(u64(round_id)) + _P(digest) +
                  _P(eps_text.encode("ascii")) + _P(u64(released_at)) + _P(u64(count)) + _P(head))


def fam_ledger(doc):
    prev = bytes(32)
    heads = {0: bytes(32)}
    for row in doc["ledger"]:
        n = f"ledger row {row['sequence']}"
        eq(n + "/round-epsilon-bits", f"{bits_of(row['roundEpsilon']):016x}", row["roundEpsilonBits"])
        eq(n + "/total-epsilon-bits", f"{bits_of(row['totalEpsilon']):016x}", row["totalEpsilonBits"])
        eq(n + "/previous-hash", prev, row["previousHash"])
        h = ledger_row_hash(prev, row["sequence"], row["roundId"], row["recordedAt"], row["parameters"],
                            row["contributingClients"], int(row["roundEpsilonBits"], 16), int(row["totalEpsilonBits"], 16))
        eq(n + "/row-hash", h, row["rowHash"])
        prev = bytes.fromhex(row["rowHash"])
        heads[row["sequence"]] = prev
    prev = bytes(32)
    for m in doc["models"]:
        n = f"model {m['version']}"
        eq(n + "/model-digest", sha256(bytes.fromhex(m["model"])), m["modelDigest"])
        eq(n + "/previous-hash", prev, m["previousHash"])
        eq(n + "/ledger-head", heads.get(m["ledgerCount"], b"").hex(), m["ledgerHead"])
        h = model_row_hash(prev, m["version"], m["roundId"], bytes.fromhex(m["modelDigest"]), m["epsilon"],
                           m["releasedAt"], m["ledgerCount"], bytes.fromhex(m["ledgerHead"]))
        eq(n + "/row-hash", h, m["rowHash"])
        prev = bytes.fromhex(m["rowHash"])


# --- Client privacy ledger file (dp.md §7.2, §7.4) -------------------------------------------------------------

def privacy_ledger_verify(data, delta=None, name="ledger"):
    """Replays a JSON-lines privacy ledger; returns {round: state} and the final total. Reports through check()."""
    if not data.endswith(b"\n"):
        check(name + "/final-newline", False, "missing final newline (truncated write)")
        return None
    lines = data[:-1].split(b"\n")
    prev = b""
    records, states, curves, total = [], {}, {}, 0.0
    orders = list(range(2, 129)) + [256]
    for ln, line in enumerate(lines, start=1):
        w = f"{name}/line {ln}"
        idx = line.rfind(b',"sha256":"')
        if idx < 0 or not line.endswith(b'"}'):
            return check(w, False, "no trailing sha256 field")
        body = line[:idx] + b"}"
        rec = json.loads(line.decode("utf-8"))
        h = hashlib.sha256(prev + body).hexdigest()
        if not check(w + "/chain", h == rec["sha256"], f"sha256 {rec['sha256']} != recomputed {h}"):
            return None
        prev = bytes.fromhex(rec["sha256"])
        if ln == 1:
            check(w + "/header", rec.get("format") == "securefedrec-privacy-ledger" and rec.get("version") in (1, 2),
                  str(rec))
            if delta is not None:
                check(w + "/delta", rec["delta"] == delta, f"{rec['delta']} != {delta}")
            delta = rec["delta"]
            continue
        check(w + "/seq", rec["seq"] == ln - 1, f"seq {rec['seq']}")
        kind = rec.get("kind", "charge")
        if kind in ("charge", "pending"):
            p = dict(rec)
            p["samplingRate"] = 1 if kind == "pending" else rec["samplingRate"]
            check(w + "/sampling-rate", kind != "pending" or rec["samplingRate"] == 1, "pending at q != 1")
            check(w + "/once", rec["round"] not in states, "round recorded twice")
            _, _, rdp = ddg_rdp(p, rec["contributingClients"], orders)
            e, _ = rdp_to_dp(orders, rdp, delta)
            close(w + "/round-epsilon", e, rec["roundEpsilon"], 1e-12)
            if kind == "pending":
                q = rec["announcedSamplingRate"]
                amp = [subsampled_rdp(a, q, lambda l: ddg_rdp_at(p, rec["contributingClients"], l)) for a in orders]
                close(w + "/amplified-round-epsilon", rdp_to_dp(orders, amp, delta)[0], rec["amplifiedRoundEpsilon"], 1e-12)
            curves[rec["round"]] = rdp
            states[rec["round"]] = "charged" if kind == "charge" else "pending"
            records.append(rec)
        else:
            pend = next((r for r in records if r["seq"] == rec["pendingSeq"]), None)
            ok = pend is not None and pend.get("kind") == "pending" and pend["round"] == rec["round"]
            want = {"disclosed": "pending", "released": "pending", "aborted": "disclosed"}.get(kind)
            ok = ok and states.get(rec["round"]) == want
            check(w + "/state-machine", ok, f"{kind} of {rec['round']} in state {states.get(rec['round'])}")
            states[rec["round"]] = kind
            if kind == "released":
                curves.pop(rec["round"], None)
        comp = [sum(c[j] for c in curves.values()) for j in range(len(orders))]
        total = rdp_to_dp(orders, comp, delta)[0] if curves else 0.0
        close(w + "/total-epsilon", total, rec["totalEpsilon"], 1e-12)
    return {r: ("recovered" if s == "pending" else s) for r, s in states.items()}, total


def fam_client_ledger(path):
    with open(path, "rb") as f:
        data = f.read()
    res = privacy_ledger_verify(data, None, "client-ledger-v2")
    if res:
        states, total = res
        eq("client-ledger-v2/states", states, {"round-1": "released", "round-2": "disclosed", "round-3": "recovered"})


# --- Network vectors (vectors.md §5-§6) ------------------------------------------------------------------------

PB = {}
PROTO_DIR = [None]


def protos(proto_dir=None):
    """Message classes generated from protocol-spec/proto at run time (grpc_tools.protoc)."""
    if PB:
        return PB
    from grpc_tools import protoc
    proto_dir = proto_dir or PROTO_DIR[0] or os.path.join(os.path.dirname(default_vectors_dir()), "proto")
    out = tempfile.mkdtemp(prefix="sfr-ref-")
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    for name in ("secagg.proto", "coordinator.proto"):
        if protoc.main(["protoc", f"-I{proto_dir}", f"-I{include}", f"--python_out={out}",
                        os.path.join(proto_dir, name)]) != 0:
            raise RuntimeError(f"protoc failed for {name}")
    sys.path.insert(0, out)
    PB["secagg"] = importlib.import_module("secagg_pb2")
    PB["coordinator"] = importlib.import_module("coordinator_pb2")
    return PB


def fam_network_transfer(doc):
    pb = protos()["secagg"]
    cpb = protos()["coordinator"]
    u = doc["upload"]
    words = [(i * 2654435761 + 12345) % 2**32 for i in range(50000)]
    msg = pb.ClientToServer()
    msg.masked_input.round_number = 7
    msg.masked_input.client_id = 3
    msg.masked_input.masked_vector = struct.pack("<50000I", *words)
    payload = msg.SerializeToString()
    eq("upload/total-length", len(payload), u["total_length"])
    eq("upload/payload-sha256", sha256(payload), u["payload_sha256"])
    digest = sha256(PREFIX + b"upload\x00" + u64(u["round_id"]) + u32(u["phase"]) + u64(len(payload)) +
                    u32(u["chunk_size"]) + payload)
    eq("upload/digest", digest, u["digest"])
    cs = u["chunk_size"]
    count = -(-len(payload) // cs)
    chunks = [{"index": i, "offset": i * cs, "length": min(cs, len(payload) - i * cs),
               "sha256": sha256(payload[i * cs:(i + 1) * cs]).hex()} for i in range(count)]
    eq("upload/chunks", chunks, u["chunks"])
    req = cpb.UploadChunkRequest(round_id=u["round_id"], phase=u["phase"], total_length=len(payload), chunk_size=cs,
                                 digest=digest, index=count - 1, data=payload[(count - 1) * cs:])
    eq("upload/last-chunk-request", req.SerializeToString(), u["last_chunk_request"])
    m = doc["model"]
    encoding = u32(len(m["values"])) + b"".join(struct.pack("<d", x) for x in m["values"])
    eq("model/encoding", encoding, m["encoding"])
    eq("model/digest", sha256(PREFIX + b"model\x00" + u64(m["version"]) + u64(len(encoding)) + encoding), m["digest"])
    eq("model/range", encoding[m["range_offset"]:m["range_offset"] + 9], m["range"])



# --- A full round (secagg.md §4-§6, §12): every message re-derived ---------------------------------------------

SUITE_NAME = {1: "x25519", 2: "p256"}


def ident_private(suite, stream):
    if suite == "ed25519":
        return stream.fill(32)
    while True:
        k = int.from_bytes(stream.fill(32), "big")
        if 0 < k < P256_N:
            return k.to_bytes(32, "big")


class RefClient:
    """The client side of secagg.md §6 (full graph), written from the spec."""

    def __init__(self, pb, uid, x, stream, ident_suite, ident_priv, identities):
        self.pb, self.u, self.x, self.rng = pb, uid, x, stream
        self.isuite, self.ipriv, self.identities = ident_suite, ident_priv, identities

    def begin(self, bp):
        p = bp.parameters
        self.r, self.ids, self.t, self.d, self.b = p.round_number, list(p.client_ids), p.threshold, p.dimension, p.bits
        self.mode, self.suite, self.kind, self.k = p.threat_mode, p.suite, p.graph_kind, p.graph_degree
        assert self.kind == 1, "this replay implements the full graph"
        self.P = parameter_digest(self.r, self.ids, self.t, self.d, self.b, self.mode, self.suite, self.kind, self.k,
                                  p.binding)
        self.c = ka_private(self.suite, self.rng)
        self.s = ka_private(self.suite, self.rng)
        self.bu = self.rng.fill(32)
        self.c_pk, self.s_pk = ka_public(self.suite, self.c), ka_public(self.suite, self.s)
        sig = b""
        if self.mode == 2:
            sig = ident_sign(self.isuite, self.ipriv, enc("secagg/advertise-keys", self.P, u32(self.u), self.c_pk, self.s_pk))
        m = self.pb.ClientToServer()
        m.advertise_keys.round_number = self.r
        k = m.advertise_keys.keys
        k.client_id, k.cipher_public_key, k.mask_public_key, k.signature = self.u, self.c_pk, self.s_pk, sig
        return m

    def share_keys(self, req):
        keys = list(req.keys)
        got = [k.client_id for k in keys]
        assert got == sorted(set(got)) and set(got) <= set(self.ids), "UNKNOWN_OR_DUPLICATE_CLIENT"
        own = next(k for k in keys if k.client_id == self.u)
        assert (own.cipher_public_key, own.mask_public_key) == (self.c_pk, self.s_pk), "OWN_KEY_SUBSTITUTED"
        self.keys = {k.client_id: k for k in keys}
        self.S = session_id(self.P, [(k.client_id, k.cipher_public_key, k.mask_public_key, b"") for k in keys], False)
        self.nbrs = [v for v in got if v != self.u]  # full graph: N(u) ∩ U1
        assert len(self.nbrs) + 1 >= self.t, "TOO_FEW_SURVIVORS"
        if self.mode == 2:
            for v in self.nbrs:
                k = self.keys[v]
                msg = enc("secagg/advertise-keys", self.P, u32(v), k.cipher_public_key, k.mask_public_key)
                assert ident_verify(self.identities[v][0], self.identities[v][1], msg, k.signature), "BAD_SIGNATURE"
        self.kuv = {v: pair_key(self.suite, self.c, self.keys[v].cipher_public_key, self.S,
                                "secagg/share-encryption-key", self.u, v)[1] for v in self.nbrs}
        holders = sorted(self.nbrs + [self.u])
        bsh = shamir_split(self.bu, self.t, holders, self.rng)
        ssh = shamir_split(self.s, self.t, holders, self.rng)
        self.held = {self.u: (bsh[self.u], ssh[self.u])}
        m = self.pb.ClientToServer()
        m.share_keys.round_number, m.share_keys.client_id = self.r, self.u
        for v in self.nbrs:
            nonce = self.rng.fill(12)
            pt = u32(self.u) + u32(v) + bsh[v] + ssh[v]
            ct = nonce + AESGCM(self.kuv[v]).encrypt(nonce, pt, self.S + u32(self.u) + u32(v))
            m.share_keys.shares.add(peer_id=v, ciphertext=ct)
        return m

    def masked_input(self, req):
        senders = [e.peer_id for e in req.shares]
        assert senders == sorted(set(senders)) and set(senders) <= set(self.nbrs), "UNKNOWN_OR_DUPLICATE_CLIENT"
        assert len(senders) + 1 >= self.t, "TOO_FEW_SURVIVORS"
        for e in req.shares:
            v, ct = e.peer_id, e.ciphertext
            assert len(ct) == 102, "BAD_CIPHERTEXT"
            pt = AESGCM(self.kuv[v]).decrypt(ct[:12], ct[12:], self.S + u32(v) + u32(self.u))
            assert pt[:8] == u32(v) + u32(self.u), "BAD_CIPHERTEXT"
            self.held[v] = (pt[8:41], pt[41:74])
        mod = 1 << self.b
        y = [xi % mod for xi in self.x]
        for i, w in enumerate(mask_prg(self.bu, enc("secagg/self-mask", self.S, u32(self.u)), self.b, self.d)):
            y[i] = (y[i] + w) % mod
        for v in senders:
            _, suv = pair_key(self.suite, self.s, self.keys[v].mask_public_key, self.S, "secagg/pairwise-mask-seed", self.u, v)
            ctx = enc("secagg/pairwise-mask", self.S, u32(min(self.u, v)), u32(max(self.u, v)))
            sign = 1 if v > self.u else -1
            for i, w in enumerate(mask_prg(suv, ctx, self.b, self.d)):
                y[i] = (y[i] + sign * w) % mod
        m = self.pb.ClientToServer()
        m.masked_input.round_number, m.masked_input.client_id = self.r, self.u
        m.masked_input.masked_vector = struct.pack(f"<{self.d}I", *y)
        return m

    def consistency(self, req):
        self.U3 = list(req.survivors)
        assert self.u in self.U3, "INCONSISTENT_SURVIVORS"
        m = self.pb.ClientToServer()
        m.consistency_signature.round_number, m.consistency_signature.client_id = self.r, self.u
        m.consistency_signature.signature = ident_sign(
            self.isuite, self.ipriv, enc("secagg/consistency-check", self.S, u64(self.r), ids(self.U3)))
        return m

    def unmasking(self, req):
        surv, dropped = list(req.survivors), list(req.dropped)
        assert not set(surv) & set(dropped), "CONFLICTING_SHARE_REQUEST"
        if self.mode == 2:
            assert surv == self.U3, "INCONSISTENT_SURVIVORS"
            msg = enc("secagg/consistency-check", self.S, u64(self.r), ids(surv))
            valid = 0
            for sg in req.signatures:
                assert sg.client_id in surv and sg.client_id in self.nbrs, "UNKNOWN_OR_DUPLICATE_CLIENT"
                assert ident_verify(*self.identities[sg.client_id], msg, sg.signature), "BAD_SIGNATURE"
                valid += 1
            assert 1 + valid >= self.t, "TOO_FEW_SURVIVORS"
        m = self.pb.ClientToServer()
        m.unmasking.round_number, m.unmasking.client_id = self.r, self.u
        for o in sorted(self.held):
            assert (o in surv) != (o in dropped), "INCONSISTENT_SURVIVORS"
            kind = 1 if o in surv else 2
            m.unmasking.shares.add(owner_id=o, kind=kind, value=self.held[o][0 if kind == 1 else 1])
        return m


class RefCoordinator:
    """The coordinator side of secagg.md §5-§6 (full graph)."""

    def __init__(self, pb, r, cohort, t, d, b, mode, suite, binding=b""):
        self.pb, self.r, self.ids, self.t, self.d, self.b = pb, r, cohort, t, d, b
        self.mode, self.suite, self.k, self.binding = mode, suite, len(cohort) - 1, binding
        self.adv, self.share, self.masked, self.sigs, self.unmask = {}, {}, {}, {}, {}

    def begin(self):
        m = self.pb.ServerToClient()
        p = m.begin_round.parameters
        p.round_number, p.threshold, p.dimension, p.bits = self.r, self.t, self.d, self.b
        p.client_ids.extend(self.ids)
        p.threat_mode, p.suite, p.graph_kind, p.graph_degree, p.binding = self.mode, self.suite, 1, self.k, self.binding
        return m

    def take(self, u, m):
        which = m.WhichOneof("message")
        {"advertise_keys": self.adv, "share_keys": self.share, "masked_input": self.masked,
         "consistency_signature": self.sigs, "unmasking": self.unmask}[which][u] = getattr(m, which)

    def share_keys_request(self, u):
        m = self.pb.ServerToClient()
        m.share_keys_request.round_number = self.r
        for v in sorted(self.adv):
            m.share_keys_request.keys.add().CopyFrom(self.adv[v].keys)
        return m

    def masked_input_request(self, u):
        m = self.pb.ServerToClient()
        m.masked_input_request.round_number = self.r
        for v in sorted(self.share):
            if v != u:
                ct = next(e.ciphertext for e in self.share[v].shares if e.peer_id == u)
                m.masked_input_request.shares.add(peer_id=v, ciphertext=ct)
        return m

    def consistency_check_request(self, u):
        m = self.pb.ServerToClient()
        m.consistency_check_request.round_number = self.r
        m.consistency_check_request.survivors.extend(sorted(self.masked))
        return m

    def unmasking_request(self, u):
        m = self.pb.ServerToClient()
        q = m.unmasking_request
        q.round_number = self.r
        q.survivors.extend(sorted(self.masked))
        for v in sorted(self.sigs):
            if v != u:
                q.signatures.add(client_id=v, signature=self.sigs[v].signature)
        q.dropped.extend(sorted(set(self.share) - set(self.masked)))
        return m

    def result(self, u):
        m = self.pb.ServerToClient()
        m.result.round_number, m.result.outcome = self.r, 1
        m.result.contributors.extend(sorted(self.masked))
        return m

    def unmask_sum(self):
        """Sum of U3's masked inputs minus the masks, from the revealed shares (t smallest holder ids)."""
        mod = 1 << self.b
        U2, U3 = sorted(self.share), sorted(self.masked)
        keys = {v: self.adv[v].keys for v in self.adv}
        S = session_id(parameter_digest(self.r, self.ids, self.t, self.d, self.b, self.mode, self.suite, 1, self.k,
                                        self.binding),
                       [(v, keys[v].cipher_public_key, keys[v].mask_public_key, b"") for v in sorted(keys)], False)
        total = [0] * self.d
        for v in U3:
            for i, w in enumerate(struct.unpack(f"<{self.d}I", self.masked[v].masked_vector)):
                total[i] = (total[i] + w) % mod
        revealed = {}
        for h in sorted(self.unmask):
            for s in self.unmask[h].shares:
                revealed.setdefault((s.owner_id, s.kind), {})[h] = s.value
        for (o, kind), hs in sorted(revealed.items()):
            bad = shares_consistent(hs, self.t)
            check(f"unmasking/shares-of-{o}-kind-{kind}-consistent", not bad,
                  f"the shares revealed by holders {bad} are not on the polynomial of the {self.t} smallest holders")
        for o in U3:
            hs = revealed[(o, 1)]
            bo = shamir_combine({h: hs[h] for h in sorted(hs)[:self.t]}).to_bytes(32, "big")
            for i, w in enumerate(mask_prg(bo, enc("secagg/self-mask", S, u32(o)), self.b, self.d)):
                total[i] = (total[i] - w) % mod
        for dd in sorted(set(U2) - set(U3)):
            hs = revealed[(dd, 2)]
            sd = shamir_combine({h: hs[h] for h in sorted(hs)[:self.t]}).to_bytes(32, "big")
            for v in U3:
                _, svd = pair_key(self.suite, sd, keys[v].mask_public_key, S, "secagg/pairwise-mask-seed", dd, v)
                ctx = enc("secagg/pairwise-mask", S, u32(min(v, dd)), u32(max(v, dd)))
                sign = -1 if dd > v else 1
                for i, w in enumerate(mask_prg(svd, ctx, self.b, self.d)):
                    total[i] = (total[i] + sign * w) % mod
        return total


S2C_KIND = {"BeginRound": "begin", "ShareKeysRequest": "share_keys_request", "MaskedInputRequest": "masked_input_request",
            "ConsistencyCheckRequest": "consistency_check_request", "UnmaskingRequest": "unmasking_request",
            "Result": "result"}


def fam_round(doc):
    pb = protos()["secagg"]
    for v in doc["vectors"]:
        i, o, name = v["input"], v["output"], v["name"]
        n = i["clients"]
        cohort = list(range(1, n + 1))
        st = Stream(test_seed(i["randomTestSeed"]))
        isuite = i["identitySuite"]
        ipriv = {u: ident_private(isuite, st) for u in cohort}
        identities = {u: (isuite, ident_public(isuite, ipriv[u])) for u in cohort}
        eq(name + "/identity-keys", {str(u): identities[u][1].hex() for u in cohort}, i["identityPublicKeys"])
        seeds = {u: st.fill(32) for u in cohort}
        clients = {u: RefClient(pb, u, i["inputs"][u - 1], Stream(seeds[u]), isuite, ipriv[u], identities) for u in cohort}
        coord = RefCoordinator(pb, i["round"], cohort, i["threshold"], i["dimension"], i["bits"], i["threatMode"], i["suite"])
        last = {}
        for idx, m in enumerate(o["messages"]):
            u, kind, raw = m["clientId"], m["kind"], bytes.fromhex(m["hex"])
            label = f"{name}/{idx}/{m['direction']}/{u}/{kind}"
            try:
                if m["direction"] == "server-to-client":
                    want = getattr(coord, S2C_KIND[kind])(*([] if kind == "BeginRound" else [u]))
                    eq(label, want.SerializeToString(), m["hex"])
                    last[u] = pb.ServerToClient.FromString(raw)  # the client answers what it was sent
                else:
                    s2c = last[u]
                    which = s2c.WhichOneof("message")
                    c = clients[u]
                    got = {"begin_round": lambda: c.begin(s2c.begin_round),
                           "share_keys_request": lambda: c.share_keys(s2c.share_keys_request),
                           "masked_input_request": lambda: c.masked_input(s2c.masked_input_request),
                           "consistency_check_request": lambda: c.consistency(s2c.consistency_check_request),
                           "unmasking_request": lambda: c.unmasking(s2c.unmasking_request)}[which]()
                    eq(label, got.SerializeToString(), m["hex"])
                    coord.take(u, pb.ClientToServer.FromString(raw))
            except (AssertionError, KeyError, StopIteration, InvalidTag_, ValueError) as e:
                check(label, False, f"{type(e).__name__}: {e}")
        eq(name + "/contributors", sorted(coord.masked), o["contributors"])
        total = coord.unmask_sum()
        eq(name + "/unmasked-sum", total, o["sum"])
        mod = 1 << i["bits"]
        eq(name + "/sum-of-contributors-inputs",
           [sum(i["inputs"][u - 1][j] for u in o["contributors"]) % mod for j in range(i["dimension"])], o["sum"])



def contract_encoding(info, ids_):
    """secagg.md §2.1 from a coordinator.v1 RoundInfo (fields in the order of the table)."""
    dp = info.dp
    e = PREFIX + b"round-contract\x00" + u64(info.round_id) + u64(info.model_version) + u32(info.threat_mode)
    e += u32(info.privacy_unit) + u32(info.encoding) + u32(dp.dimension) + u32(dp.bits)
    e += f64(dp.clip) + f64(dp.gamma) + f64(dp.beta) + u64(dp.sigma_squared_numerator) + u64(dp.sigma_squared_denominator)
    e += u32(dp.planned_clients) + u32(dp.min_clients)
    e += f64(dp.delta) + f64(dp.sampling_rate) + f64(dp.k) + f64(dp.claimed_epsilon) + f64(info.user_clip)
    e += u32(info.max_users_per_client) + u32(len(info.fixed_point_bounds))
    e += b"".join(f64(x) for x in info.fixed_point_bounds)
    e += u32(len(info.cohort))
    for c in info.cohort:
        o, cid = c.organisation.encode("utf-8"), c.client_id.encode("utf-8")
        e += u32(c.client_number) + u32(len(o)) + o + u32(len(cid)) + cid
    return e


HBC_FLOW = [("JoinRound", "ADVERTISE_KEYS", "BeginRound"), ("SubmitPhase", "ADVERTISE_KEYS", "AdvertiseKeys"),
            ("FetchPhase", "SHARE_KEYS", "ShareKeysRequest"), ("SubmitPhase", "SHARE_KEYS", "ShareKeys"),
            ("FetchPhase", "MASKED_INPUT", "MaskedInputRequest"), ("SubmitPhase", "MASKED_INPUT", "MaskedInput"),
            ("FetchPhase", "UNMASKING", "UnmaskingRequest"), ("SubmitPhase", "UNMASKING", "Unmasking"),
            ("FetchPhase", "COMPLETED", "Result")]
ONEOF_NAME = {"begin_round": "BeginRound", "share_keys_request": "ShareKeysRequest",
              "masked_input_request": "MaskedInputRequest", "unmasking_request": "UnmaskingRequest", "result": "Result",
              "advertise_keys": "AdvertiseKeys", "share_keys": "ShareKeys", "masked_input": "MaskedInput",
              "unmasking": "Unmasking", "consistency_check_request": "ConsistencyCheckRequest",
              "consistency_signature": "ConsistencySignature"}


def fam_network_transcript(doc):
    pb, cpb = protos()["secagg"], protos()["coordinator"]
    r = doc["round"]
    infos = {c["clientNumber"]: cpb.RoundInfo.FromString(bytes.fromhex(c["roundInfo"])) for c in doc["clients"]}
    flows, parsed = {}, []
    for m in doc["messages"]:
        cls = pb.ClientToServer if m["rpc"] == "SubmitPhase" else pb.ServerToClient
        msg = cls.FromString(bytes.fromhex(m["payload"]))
        check(f"message/{len(parsed)}/oneof", ONEOF_NAME.get(msg.WhichOneof("message")) == m["message"],
              f"{msg.WhichOneof('message')} vs {m['message']}")
        flows.setdefault(m["client"], []).append((m["rpc"], m["phase"], m["message"]))
        parsed.append((m["client"], msg))
    for u, f in sorted(flows.items()):
        eq(f"client {u}/flow", f, HBC_FLOW)
    begins = {u: msg.begin_round.parameters for u, msg in parsed if msg.WhichOneof("message") == "begin_round"}
    encs = set()
    for u, info in sorted(infos.items()):
        ce = contract_encoding(info, None)
        encs.add(ce)
        bp = begins[u]
        eq(f"client {u}/round-info-client-number", info.client_number, u)
        eq(f"client {u}/binding", sha256(ce), bp.binding.hex())
        check(f"client {u}/in-cohort", u in bp.client_ids, str(list(bp.client_ids)))
        check(f"client {u}/contract-matches-begin-round",
              (bp.round_number, bp.dimension, bp.bits, bp.threat_mode) ==
              (info.round_id, padded(info.dp.dimension), info.dp.bits, info.threat_mode), str(bp))
    check("one-contract", len(encs) == 1, f"{len(encs)} different contracts")
    adv = {u: msg.advertise_keys.keys for u, msg in parsed if msg.WhichOneof("message") == "advertise_keys"}
    for u, msg in parsed:
        if msg.WhichOneof("message") == "share_keys_request":
            eq(f"client {u}/share-keys-request-keys", [k.SerializeToString().hex() for k in msg.share_keys_request.keys],
               [adv[v].SerializeToString().hex() for v in sorted(adv)])
    # the coordinator's side (vectors.md §5 step 4), with the reference coordinator of the round family
    bp = next(iter(begins.values()))
    coord = RefCoordinator(pb, bp.round_number, list(bp.client_ids), bp.threshold, bp.dimension, bp.bits,
                           bp.threat_mode, bp.suite, bp.binding)
    for u, msg in parsed:
        if msg.WhichOneof("message") in ("advertise_keys", "share_keys", "masked_input", "unmasking"):
            coord.take(u, msg)
    for u, msg in parsed:
        if msg.WhichOneof("message") == "unmasking_request":
            eq(f"client {u}/unmasking-request", coord.unmasking_request(u).SerializeToString(), msg.SerializeToString().hex())
        if msg.WhichOneof("message") == "result":
            eq(f"client {u}/result", coord.result(u).SerializeToString(), msg.SerializeToString().hex())
    total = coord.unmask_sum()
    info = infos[min(infos)]
    p = {"dimension": info.dp.dimension, "bits": info.dp.bits, "clip": info.dp.clip, "gamma": info.dp.gamma,
         "beta": info.dp.beta, "sigma2Num": info.dp.sigma_squared_numerator, "sigma2Den": info.dp.sigma_squared_denominator}
    D = padded(p["dimension"])
    signs = rotation_signs(info.round_id, D)[3]
    m = len(coord.masked)
    dec = dp_decode(total, m, p, D, signs)
    if not check("decode", dec["failure"] == "None", str(dec)):
        return
    model = doc["model"]
    check("model/rule", model["rule"] == "fedavg, learning rate 1", model["rule"])
    eq("model/after", [b_ + 1.0 * (s / m) for b_, s in zip(model["before"], dec["sum"])], model["after"])



# --- Verifying real files (roster.md §5, ledger.md §2, dp.md §7.2) -----------------------------------------------

def cmd_roster_verify(a):
    with open(a.file, "rb") as f:
        data = f.read()
    now = parse_time(a.now, "--now") if a.now else int(datetime.now(timezone.utc).timestamp())
    allowed = ("ecdsa-p256-sha256",) if a.fips else ("ed25519", "ecdsa-p256-sha256")
    try:
        r, E, cp = roster_verify(data, parse_authority(a.authority), now, parse_last_seen(a.last_seen), allowed)
        if a.member:
            res = roster_member(r, a.member, now)
            if res != "None":
                raise Refused(res, a.member)
    except Refused as e:
        print(f"refused: {e.refusal}: {e.detail}")
        return 8
    orgs = {m["organisation"] for m in r["members"]}
    print(f"accepted: {r['consortium']} version {r['version']}, {len(r['members'])} members in {len(orgs)} organisations")
    print(f"checkpoint {cp[0]}:{cp[1]}")
    return 0


def ledger_store_verify(path, expect_head=None, all_models=False):
    """ledger.md §2 over a schema-2 SQLite store (tables `ledger` and `models`, ledger.md §1.1). Returns (problem or
    None, summary)."""
    if not os.path.exists(path):
        return "store", f"cannot read {path}"
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        schema = db.execute("SELECT MAX(version) FROM sfr_schema").fetchone()[0]
        if schema not in (2, 3):  # 3 only adds the round journal (ledger.md §1.1); 1 has no chain
            return f"schema {schema}", "no hash chain to verify (schema 2 or 3 is required)"
        rows = db.execute("SELECT sequence, round_id, recorded_at, parameters, contributing_clients, round_epsilon, "
                          "total_epsilon, prev_hash, row_hash FROM ledger ORDER BY sequence").fetchall()
        prev, hashes = bytes(32), [bytes(32)]
        for pos, (seq, rid, at, params, clients, eps, total, ph, rh) in enumerate(rows, start=1):
            if seq != pos:
                return f"ledger row {pos}", f"sequence {seq} at position {pos} (a row was deleted or reordered)"
            if ph != prev.hex():
                return f"ledger row {pos}", "prev_hash is not the previous row's hash"
            h = ledger_row_hash(prev, seq, rid, at, params, clients, bits_of(eps), bits_of(total))
            if rh != h.hex():
                return f"ledger row {pos}", "row_hash does not match the row"
            prev = h
            hashes.append(h)
        models = db.execute("SELECT version, round_id, model, epsilon, released_at, model_digest, ledger_count, "
                            "ledger_head, prev_hash, row_hash FROM models ORDER BY version").fetchall()
        prev = bytes(32)
        for pos, (ver, rid, model, eps, at, dg, cnt, head, ph, rh) in enumerate(models, start=1):
            if ver != pos:
                return f"models row {pos}", f"version {ver} at position {pos}"
            if ph != prev.hex():
                return f"models row {pos}", "prev_hash is not the previous row's hash"
            h = model_row_hash(prev, ver, rid, bytes.fromhex(dg), eps, at, cnt, bytes.fromhex(head))
            if rh != h.hex():
                return f"models row {pos}", "row_hash does not match the row"
            prev = h
        last = 0
        for ver, _, _, _, _, _, cnt, head, _, _ in models:
            if cnt < last:
                return f"models row {ver}", f"ledger_count {cnt} below the previous model's {last}"
            if cnt > len(rows):
                return f"ledger row {len(rows) + 1}", f"missing: model {ver} was released under {cnt} ledger rows"
            if head != hashes[cnt].hex():
                return f"models row {ver}", "ledger_head is not the hash of ledger row ledger_count"
            last = cnt
        for ver, _, model, _, _, dg, _, _, _, _ in (models if all_models else models[-1:]):
            if sha256(model).hex() != dg:
                return f"models row {ver}", "the model bytes do not hash to model_digest"
        if expect_head:
            cnt, hh = expect_head.split(":", 1)
            cnt = int(cnt)
            if cnt > len(rows) or hashes[cnt].hex() != hh:
                return f"ledger row {min(cnt, len(rows) + 1)}", f"the expected head {expect_head} is not in the ledger"
        return None, f"intact: {len(rows)} ledger rows, {len(models)} model versions"
    finally:
        db.close()


def cmd_ledger_verify(a):
    if not a.store.startswith("sqlite:"):
        print("only --store sqlite:PATH is implemented here")
        return 2
    where, detail = ledger_store_verify(a.store[len("sqlite:"):], a.expect_head, a.all_models)
    if where is None:
        print(detail)
        return 0
    if where == "store":
        print(detail)
        return 7
    print(f"ledger BROKEN at {where}: {detail}")
    return 8


def cmd_privacy_ledger_verify(a):
    with open(a.file, "rb") as f:
        data = f.read()
    res = privacy_ledger_verify(data, a.delta, os.path.basename(a.file))
    if FAILURES or not res:
        return 8
    states, total = res
    print(f"intact: {len(states)} rounds, total epsilon {total!r} at delta {a.delta!r}")
    return 0


# ---------------------------------------------------------------------------------------------------------------

FAMILIES = {
    "mask-prg": ("mask-prg.json", fam_mask_prg),
    "derivations": ("derivations.json", fam_derivations),
    "shamir": ("shamir.json", fam_shamir),
    "graphs": ("graphs/harary-from-session.json", fam_graphs),
    "dp-encode": ("dp/encode-decode.json", fam_dp_encode),
    "dp-accountant": ("dp/accountant.json", fam_dp_accountant),
    "roster": ("roster/roster.json", fam_roster),
    "ledger": ("ledger/ledger-chain.json", fam_ledger),
    "client-ledger": ("client-ledger-v2.jsonl", None),
    "network-transfer": ("network/chunked-transfer.json", fam_network_transfer),
    "round": ("round-n5-t3-d16-b16-malicious.json", fam_round),
    "network-transcript": ("network/round-transcript.json", fam_network_transcript),
}


def default_vectors_dir():
    d = HERE
    for _ in range(8):
        cand = os.path.join(d, "protocol-spec", "vectors")
        if os.path.isdir(cand):
            return cand
        d = os.path.dirname(d)
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("vectors")
    v.add_argument("families", nargs="+")
    v.add_argument("--vectors", default=None)
    v.add_argument("--file", default=None)
    v.add_argument("--proto-dir", default=None)
    rv = sub.add_parser("roster-verify")
    rv.add_argument("file")
    rv.add_argument("--authority", required=True)
    rv.add_argument("--now", default=None)
    rv.add_argument("--last-seen", default=None)
    rv.add_argument("--member", default=None)
    rv.add_argument("--fips", action="store_true")
    lv = sub.add_parser("ledger-verify")
    lv.add_argument("--store", required=True)
    lv.add_argument("--expect-head", default=None)
    lv.add_argument("--all-models", action="store_true")
    pv = sub.add_parser("privacy-ledger-verify")
    pv.add_argument("file")
    pv.add_argument("--delta", type=float, required=True)
    a = ap.parse_args(argv)
    if a.cmd == "roster-verify":
        return cmd_roster_verify(a)
    if a.cmd == "ledger-verify":
        return cmd_ledger_verify(a)
    if a.cmd == "privacy-ledger-verify":
        return cmd_privacy_ledger_verify(a)
    if a.cmd == "vectors":
        vdir = a.vectors or default_vectors_dir()
        if a.proto_dir is None and vdir:
            a.proto_dir = os.path.join(os.path.dirname(os.path.abspath(vdir)), "proto")
        PROTO_DIR[0] = a.proto_dir
        fams = list(FAMILIES) if a.families == ["all"] else a.families
        for f in fams:
            if f not in FAMILIES:
                print(f"unknown family {f}; known: all, {', '.join(FAMILIES)}")
                return 2
            if a.file and len(fams) != 1:
                print("--file needs exactly one family")
                return 2
        for f in fams:
            rel, fn = FAMILIES[f]
            path = a.file or os.path.join(vdir, rel)
            try:
                if f == "client-ledger":
                    fam_client_ledger(path)
                else:
                    fn(load(path))
            except Exception as e:  # a malformed vector file is a failure, not a crash
                check(f"{f}/{os.path.basename(path)}", False, f"{type(e).__name__}: {e}")
    print(f"{CHECKS[0] - len(FAILURES)} of {CHECKS[0]} checks passed")
    return 1 if FAILURES or CHECKS[0] == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
