using System.Text.Json.Nodes;
using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Conformance;

// derivations.json: parameter digests, session ids, signed-message encodings, pair keys and mask contexts.
public static partial class ConformanceVectors
{
    private static SecAggParameters SampleParameters() =>
        SecAggParameters.Create(7, [1, 2, 3, 4, 5], 3, 16, 16, ThreatMode.Malicious, Crypto.KeyAgreementSuite.X25519,
            Graph.GraphKind.Full, 4, "model-v3|dp:sigma=2"u8);

    private static JsonObject ParametersJson(SecAggParameters p) => new()
    {
        ["round"] = p.RoundNumber,
        ["clientIds"] = new JsonArray([.. p.ClientIds.Select(id => (JsonNode)id)]),
        ["threshold"] = p.Threshold,
        ["dimension"] = p.Dimension,
        ["bits"] = p.Bits,
        ["threatMode"] = (int)p.Mode,
        ["suite"] = (int)p.Suite,
        ["graphKind"] = (int)p.GraphKind,
        ["degree"] = p.Degree,
        ["binding"] = Convert.ToHexString(p.Binding).ToLowerInvariant(),
    };

    private static JsonObject Derivations()
    {
        var vectors = new JsonArray();
        SecAggParameters p = SampleParameters();
        vectors.Add(new JsonObject
        {
            ["name"] = "parameter-digest/n5-malicious",
            ["kind"] = "parameter-digest",
            ["input"] = ParametersJson(p),
            ["output"] = new JsonObject { ["digest"] = HexOf(p.Digest) },
        });
        SecAggParameters harary = SecAggParameters.Create(1, Enumerable.Range(1, 10).ToArray(), 3, 100, 32,
            ThreatMode.HonestButCurious, Crypto.KeyAgreementSuite.P256, Graph.GraphKind.Harary, 4);
        vectors.Add(new JsonObject
        {
            ["name"] = "parameter-digest/n10-harary-p256",
            ["kind"] = "parameter-digest",
            ["input"] = ParametersJson(harary),
            ["output"] = new JsonObject { ["digest"] = HexOf(harary.Digest) },
        });

        using var rng = DeterministicRandomSource.FromTestSeed(2024);
        var keys = new JsonArray();
        var entries = new List<Derivations.KeyEntry>();
        var privates = new List<(int Id, PrivateKey C, PrivateKey S)>();
        foreach (int id in p.ClientIds)
        {
            PrivateKey c = KeyAgreementAlgorithm.X25519.GenerateKey(rng);
            PrivateKey s = KeyAgreementAlgorithm.X25519.GenerateKey(rng);
            privates.Add((id, c, s));
            entries.Add(new Derivations.KeyEntry(id, c.PublicKey.ToArray(), s.PublicKey.ToArray()));
            keys.Add(new JsonObject { ["clientId"] = id, ["cipherPublicKey"] = HexOf(c.PublicKey), ["maskPublicKey"] = HexOf(s.PublicKey) });
        }

        byte[] session = Internal.Derivations.SessionId(p.Digest, entries);
        vectors.Add(new JsonObject
        {
            ["name"] = "session-id/n5",
            ["kind"] = "session-id",
            ["input"] = new JsonObject { ["parameterDigest"] = HexOf(p.Digest), ["keys"] = keys },
            ["output"] = new JsonObject { ["sessionId"] = HexOf(session) },
        });
        vectors.Add(new JsonObject
        {
            ["name"] = "advertise-message/client2",
            ["kind"] = "advertise-message",
            ["input"] = new JsonObject
            {
                ["parameterDigest"] = HexOf(p.Digest),
                ["clientId"] = 2,
                ["cipherPublicKey"] = HexOf(entries[1].CipherPublicKey),
                ["maskPublicKey"] = HexOf(entries[1].MaskPublicKey),
            },
            ["output"] = new JsonObject { ["message"] = HexOf(Internal.Derivations.AdvertiseMessage(p.Digest, 2, entries[1].CipherPublicKey, entries[1].MaskPublicKey)) },
        });
        vectors.Add(new JsonObject
        {
            ["name"] = "consistency-message/survivors-1-3-4-5",
            ["kind"] = "consistency-message",
            ["input"] = new JsonObject { ["sessionId"] = HexOf(session), ["round"] = 7, ["survivors"] = new JsonArray(1, 3, 4, 5) },
            ["output"] = new JsonObject { ["message"] = HexOf(Internal.Derivations.ConsistencyMessage(session, 7, [1, 3, 4, 5])) },
        });

        foreach ((string purpose, int a, int b, bool useCipher) in new[]
                 {
                     (Internal.Derivations.ShareEncryptionLabel, 1, 3, true),
                     (Internal.Derivations.PairwiseSeedLabel, 1, 3, false),
                     (Internal.Derivations.PairwiseSeedLabel, 5, 2, false),
                 })
        {
            PrivateKey mine = useCipher ? privates[a - 1].C : privates[a - 1].S;
            byte[] peer = useCipher ? entries[b - 1].CipherPublicKey : entries[b - 1].MaskPublicKey;
            vectors.Add(PairKeyVector($"pair-key/{purpose}/{a}-{b}/x25519", Crypto.KeyAgreementSuite.X25519, mine, peer, session, purpose, a, b));
        }

        using PrivateKey p256a = KeyAgreementAlgorithm.P256.GenerateKey(rng);
        using PrivateKey p256b = KeyAgreementAlgorithm.P256.GenerateKey(rng);
        vectors.Add(PairKeyVector($"pair-key/{Internal.Derivations.PairwiseSeedLabel}/4-9/p256", Crypto.KeyAgreementSuite.P256, p256a,
            p256b.PublicKey.ToArray(), session, Internal.Derivations.PairwiseSeedLabel, 4, 9));

        vectors.Add(new JsonObject
        {
            ["name"] = "mask-context/self/3",
            ["kind"] = "mask-context",
            ["input"] = new JsonObject { ["sessionId"] = HexOf(session), ["type"] = "self", ["a"] = 3 },
            ["output"] = new JsonObject { ["context"] = HexOf(Internal.Derivations.SelfMaskContext(session, 3)) },
        });
        vectors.Add(new JsonObject
        {
            ["name"] = "mask-context/pairwise/4-2",
            ["kind"] = "mask-context",
            ["input"] = new JsonObject { ["sessionId"] = HexOf(session), ["type"] = "pairwise", ["a"] = 4, ["b"] = 2 },
            ["output"] = new JsonObject { ["context"] = HexOf(Internal.Derivations.PairwiseMaskContext(session, 4, 2)) },
        });

        vectors.Add(HararyRelabellingVector(harary, rng));
        foreach ((_, PrivateKey c, PrivateKey s) in privates)
        {
            c.Dispose();
            s.Dispose();
        }

        return Doc("SecAgg derivations: parameter digest, session id, the Harary relabelling chain (commitments, Harary session id, relabelling seed, permutation), signed-message encodings, HKDF pair keys, mask-PRG contexts.",
            "protocol-spec/secagg.md §Parameter digest, §Session id, §Derivations, §Signed messages", vectors);
    }

    private static JsonObject PairKeyVector(string name, Crypto.KeyAgreementSuite suite, PrivateKey mine, byte[] peer, byte[] session,
        string purpose, int a, int b)
    {
        var scalar = new byte[32];
        mine.ExportPrivateKey(scalar);
        var key = new byte[32];
        if (!Internal.Derivations.TryPairKey(suite, mine, peer, session, purpose, a, b, key))
        {
            throw new InvalidOperationException("Vector generation: key agreement failed.");
        }

        return new JsonObject
        {
            ["name"] = name,
            ["kind"] = "pair-key",
            ["input"] = new JsonObject
            {
                ["suite"] = (int)suite,
                ["privateKey"] = HexOf(scalar),
                ["peerPublicKey"] = HexOf(peer),
                ["salt"] = HexOf(session),
                ["purpose"] = purpose,
                ["a"] = a,
                ["b"] = b,
            },
            ["output"] = new JsonObject
            {
                ["publicKey"] = HexOf(mine.PublicKey),
                ["info"] = HexOf(Internal.Derivations.PairLabel(purpose, a, b).ToArray()),
                ["key"] = HexOf(key),
            },
        };
    }

    private static string? CheckParameterDigest(JsonNode v)
    {
        JsonNode input = v["input"]!;
        if (!SecAggParameters.TryCreate((ulong)Int(v, "input", "round"), Ints(v, "input", "clientIds"), Int(v, "input", "threshold"),
                Int(v, "input", "dimension"), Int(v, "input", "bits"), (ThreatMode)Int(v, "input", "threatMode"),
                (Crypto.KeyAgreementSuite)Int(v, "input", "suite"), (Graph.GraphKind)Int(v, "input", "graphKind"),
                Int(v, "input", "degree"), Convert.FromHexString(input["binding"]!.GetValue<string>()), out SecAggParameters? p, out string? error))
        {
            return $"parameters rejected: {error}";
        }

        return Expect(v, "digest", p.DigestArray);
    }

    private static string? CheckSessionId(JsonNode v)
    {
        var entries = v["input"]!["keys"]!.AsArray().Select(k => new Derivations.KeyEntry(k!["clientId"]!.GetValue<int>(),
            Convert.FromHexString(k["cipherPublicKey"]!.GetValue<string>()), Convert.FromHexString(k["maskPublicKey"]!.GetValue<string>()))).ToList();
        byte[] session = Internal.Derivations.SessionId(Hex(v, "input", "parameterDigest"), entries);
        return Expect(v, "sessionId", session);
    }

    /// <summary>
    /// The whole relabelling chain of a Harary round (secagg.md §4, §6.0a; graphs.md §2): per member its keys and relabelling
    /// seed r_u; outputs the commitments, one advertise message with its commitment part, the session id over keys and
    /// commitments, the relabelling seed over S and every reveal, the permutation π and the neighbours of every node.
    /// Randomness (after the earlier vectors' draws): per member in increasing id, c (P-256), s (P-256), then r_u (32 bytes).
    /// </summary>
    private static JsonObject HararyRelabellingVector(SecAggParameters p, RandomSource rng)
    {
        var members = new JsonArray();
        var entries = new List<Derivations.KeyEntry>();
        var reveals = new List<byte[]>();
        var commitments = new JsonArray();
        foreach (int id in p.ClientIds)
        {
            using PrivateKey c = Primitives.GenerateKey(p.Suite, rng);
            using PrivateKey s = Primitives.GenerateKey(p.Suite, rng);
            var reveal = new byte[32];
            rng.Fill(reveal);
            byte[] commitment = Internal.Derivations.RelabelCommitment(p.Digest, id, reveal);
            entries.Add(new Derivations.KeyEntry(id, c.PublicKey.ToArray(), s.PublicKey.ToArray(), commitment));
            reveals.Add(reveal);
            commitments.Add(HexOf(commitment));
            members.Add(new JsonObject
            {
                ["clientId"] = id,
                ["cipherPublicKey"] = HexOf(c.PublicKey),
                ["maskPublicKey"] = HexOf(s.PublicKey),
                ["relabelSeed"] = HexOf(reveal),
            });
        }

        return new JsonObject
        {
            ["name"] = "harary-relabelling/n10-k4-p256",
            ["kind"] = "harary-relabelling",
            ["input"] = new JsonObject
            {
                ["parameterDigest"] = HexOf(p.Digest),
                ["clients"] = p.Count,
                ["degree"] = p.Degree,
                ["members"] = members,
            },
            ["output"] = HararyRelabellingOutput(p.DigestArray, p.Count, p.Degree, entries, reveals),
        };
    }

    private static JsonObject HararyRelabellingOutput(byte[] digest, int n, int k, List<Derivations.KeyEntry> entries, List<byte[]> reveals)
    {
        byte[] session = Internal.Derivations.SessionId(digest, entries);
        byte[] seed = Internal.Derivations.RelabelSeed(session, reveals);
        int[] permutation = Graph.Relabelling.DerivePermutation(seed, n, k);
        var graph = Graph.NeighbourGraph.Harary(n, k, seed);
        var neighbours = new JsonArray();
        for (int node = 0; node < n; node++)
        {
            neighbours.Add(new JsonArray([.. graph.NeighboursOf(node).ToArray().Select(x => (JsonNode)x)]));
        }

        Derivations.KeyEntry second = entries[1];
        return new JsonObject
        {
            ["commitments"] = new JsonArray([.. entries.Select(e => (JsonNode)HexOf(e.Commitment!))]),
            ["advertiseMessage2"] = HexOf(Internal.Derivations.AdvertiseMessage(digest, second.ClientId, second.CipherPublicKey, second.MaskPublicKey, second.Commitment)),
            ["sessionId"] = HexOf(session),
            ["relabelSeed"] = HexOf(seed),
            ["permutation"] = new JsonArray([.. permutation.Select(x => (JsonNode)x)]),
            ["neighbours"] = neighbours,
        };
    }

    private static string? CheckHararyRelabelling(JsonNode v)
    {
        byte[] digest = Hex(v, "input", "parameterDigest");
        int n = Int(v, "input", "clients"), k = Int(v, "input", "degree");
        var entries = new List<Derivations.KeyEntry>();
        var reveals = new List<byte[]>();
        foreach (JsonNode? m in v["input"]!["members"]!.AsArray())
        {
            int id = m!["clientId"]!.GetValue<int>();
            byte[] reveal = Convert.FromHexString(m["relabelSeed"]!.GetValue<string>());
            entries.Add(new Derivations.KeyEntry(id, Convert.FromHexString(m["cipherPublicKey"]!.GetValue<string>()),
                Convert.FromHexString(m["maskPublicKey"]!.GetValue<string>()), Internal.Derivations.RelabelCommitment(digest, id, reveal)));
            reveals.Add(reveal);
        }

        if (entries.Count != n)
        {
            return $"{entries.Count} members for n = {n}";
        }

        JsonObject expected = HararyRelabellingOutput(digest, n, k, entries, reveals);
        foreach ((string field, JsonNode? value) in expected)
        {
            if (!JsonNode.DeepEquals(value, v["output"]![field]))
            {
                return $"{field} differs";
            }
        }

        return null;
    }

    private static string? CheckPairKey(JsonNode v)
    {
        var suite = (Crypto.KeyAgreementSuite)Int(v, "input", "suite");
        using PrivateKey mine = Primitives.ImportKey(suite, Hex(v, "input", "privateKey"));
        string purpose = v["input"]!["purpose"]!.GetValue<string>();
        int a = Int(v, "input", "a"), b = Int(v, "input", "b");
        var key = new byte[32];
        if (!Internal.Derivations.TryPairKey(suite, mine, Hex(v, "input", "peerPublicKey"), Hex(v, "input", "salt"), purpose, a, b, key))
        {
            return "key agreement failed";
        }

        return Expect(v, "publicKey", mine.PublicKey.ToArray())
               ?? Expect(v, "info", Internal.Derivations.PairLabel(purpose, a, b).ToArray())
               ?? Expect(v, "key", key);
    }

    private static string? CheckMaskContext(JsonNode v)
    {
        byte[] session = Hex(v, "input", "sessionId");
        byte[] context = v["input"]!["type"]!.GetValue<string>() == "self"
            ? Internal.Derivations.SelfMaskContext(session, Int(v, "input", "a"))
            : Internal.Derivations.PairwiseMaskContext(session, Int(v, "input", "a"), Int(v, "input", "b"));
        return Expect(v, "context", context);
    }
}
