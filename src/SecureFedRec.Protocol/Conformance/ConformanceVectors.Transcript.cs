using System.Text.Json.Nodes;
using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Simulation;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Conformance;

// round-n5-t3-d16-b16-malicious.json: a complete malicious-mode round transcript.
public static partial class ConformanceVectors
{
    private static JsonObject TranscriptVector()
    {
        const ulong seed = 20250;
        const int n = 5, t = 3, d = 16, bits = 16;
        uint[][] inputs = TranscriptInputs(n, d, bits);
        const IdentitySuite identitySuite = IdentitySuite.Ed25519;
        using var rng = DeterministicRandomSource.FromTestSeed(seed);
        using IdentityKeys identities = IdentityKeys.Draw(identitySuite, n, rng);
        SecAggOutcome outcome = InProcessRound.Run(new SecAggConfig(n, t, d, bits, ThreatMode.Malicious, Threads: 1), inputs, new RoundOptions
        {
            Random = rng,
            RecordTranscript = true,
            Identities = identities.Keys,
            Dropouts = new DropoutPlan().Drop(2, DropPoint.AfterShareKeys).Drop(4, DropPoint.AfterMaskedInput),
        });
        var messages = new JsonArray();
        foreach (TranscriptEntry e in outcome.Transcript)
        {
            messages.Add(new JsonObject
            {
                ["direction"] = e.FromClient ? "client-to-server" : "server-to-client",
                ["clientId"] = e.ClientId,
                ["kind"] = e.Kind,
                ["hex"] = HexOf(e.Bytes),
            });
        }

        var vectors = new JsonArray
        {
            new JsonObject
            {
                ["name"] = "round/n5-t3-d16-b16-malicious-drop2-after-share-keys-drop4-after-masked-input",
                ["kind"] = "round-transcript",
                ["input"] = new JsonObject
                {
                    ["clients"] = n,
                    ["threshold"] = t,
                    ["dimension"] = d,
                    ["bits"] = bits,
                    ["threatMode"] = (int)ThreatMode.Malicious,
                    ["suite"] = (int)Crypto.KeyAgreementSuite.X25519,
                    ["round"] = 1,
                    ["randomTestSeed"] = seed,
                    ["identitySuite"] = IdentitySignature.NameOf(identitySuite),
                    ["identityPublicKeys"] = identities.PublicKeysJson(),
                    ["drops"] = new JsonObject { ["2"] = nameof(DropPoint.AfterShareKeys), ["4"] = nameof(DropPoint.AfterMaskedInput) },
                    ["inputs"] = new JsonArray([.. inputs.Select(v => (JsonNode)new JsonArray([.. v.Select(w => (JsonNode)w)]))]),
                },
                ["output"] = new JsonObject
                {
                    ["contributors"] = new JsonArray([.. outcome.Contributors.Select(c => (JsonNode)c)]),
                    ["sum"] = new JsonArray([.. outcome.Sum.Select(w => (JsonNode)w)]),
                    ["messages"] = messages,
                },
            },
        };
        return Doc("A complete round: n=5, t=3, d=16, b=16, malicious mode, X25519; client 2 lost after ShareKeys, client 4 after MaskedInput. " +
                   "Randomness: DeterministicRandomSource.FromTestSeed(randomTestSeed) draws, in order, the five identity keys of identitySuite " +
                   "(ids increasing; Ed25519: one 32-byte RFC 8032 seed each; ECDSA P-256: 32-byte big-endian draws repeated until in [1, n-1]), " +
                   "whose public keys are identityPublicKeys, then one 32-byte seed per client (ids increasing) for that client's DeterministicRandomSource. Every message is the serialized " +
                   "ClientToServer / ServerToClient envelope of secagg.proto, in delivery order.",
            "protocol-spec/secagg.md §Rounds, §Test vectors", vectors);
    }

    private static uint[][] TranscriptInputs(int n, int d, int bits)
    {
        var inputs = new uint[n][];
        for (int i = 0; i < n; i++)
        {
            inputs[i] = new uint[d];
            for (int j = 0; j < d; j++)
            {
                inputs[i][j] = (uint)(((i + 1) * 1000) + (j * 37)) & ((1u << bits) - 1);
            }
        }

        return inputs;
    }

    /// <summary>The transcript's identity keys, drawn first from the round's randomness (increasing id).</summary>
    private sealed class IdentityKeys : IDisposable
    {
        private readonly Dictionary<int, IdentitySigningKey> _keys;

        private IdentityKeys(Dictionary<int, IdentitySigningKey> keys) => _keys = keys;

        public IReadOnlyDictionary<int, IdentitySigningKey> Keys => _keys;

        public static IdentityKeys Draw(IdentitySuite suite, int n, RandomSource rng)
        {
            var keys = new Dictionary<int, IdentitySigningKey>(n);
            for (int id = 1; id <= n; id++)
            {
                keys[id] = IdentitySigningKey.Generate(suite, rng);
            }

            return new IdentityKeys(keys);
        }

        public JsonObject PublicKeysJson()
        {
            var o = new JsonObject();
            foreach ((int id, IdentitySigningKey key) in _keys.OrderBy(kv => kv.Key))
            {
                o[id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = HexOf(key.PublicKey.ToArray());
            }

            return o;
        }

        public void Dispose()
        {
            foreach (IdentitySigningKey key in _keys.Values)
            {
                key.Dispose();
            }
        }
    }

    private static string? CheckTranscript(JsonNode v)
    {
        int n = Int(v, "input", "clients"), t = Int(v, "input", "threshold"), d = Int(v, "input", "dimension"), bits = Int(v, "input", "bits");
        uint[][] inputs = v["input"]!["inputs"]!.AsArray().Select(row => row!.AsArray().Select(w => w!.GetValue<uint>()).ToArray()).ToArray();
        var plan = new DropoutPlan();
        foreach ((string id, JsonNode? point) in v["input"]!["drops"]!.AsObject())
        {
            plan.Drop(int.Parse(id, System.Globalization.CultureInfo.InvariantCulture), Enum.Parse<DropPoint>(point!.GetValue<string>()));
        }

        using var rng = DeterministicRandomSource.FromTestSeed(v["input"]!["randomTestSeed"]!.GetValue<ulong>());
        if (!IdentitySignature.TryParse(v["input"]!["identitySuite"]?.GetValue<string>(), out IdentitySuite identitySuite))
        {
            return "unknown identitySuite";
        }

        using IdentityKeys identities = IdentityKeys.Draw(identitySuite, n, rng);
        JsonObject published = v["input"]!["identityPublicKeys"]!.AsObject();
        if (published.Count != n)
        {
            return $"identityPublicKeys lists {published.Count} keys, not {n}";
        }

        foreach ((int id, IdentitySigningKey key) in identities.Keys)
        {
            if (!Convert.FromHexString(published[id.ToString(System.Globalization.CultureInfo.InvariantCulture)]!.GetValue<string>()).AsSpan().SequenceEqual(key.PublicKey))
            {
                return $"identity public key of client {id} differs (key drawing order)";
            }
        }

        SecAggOutcome outcome = InProcessRound.Run(
            new SecAggConfig(n, t, d, bits, (ThreatMode)Int(v, "input", "threatMode"), Suite: (Crypto.KeyAgreementSuite)Int(v, "input", "suite"), Threads: 1)
            {
                RoundNumber = (ulong)Int(v, "input", "round"),
            },
            inputs, new RoundOptions { Random = rng, RecordTranscript = true, Dropouts = plan, Identities = identities.Keys });

        JsonArray messages = v["output"]!["messages"]!.AsArray();
        if (messages.Count != outcome.Transcript.Count)
        {
            return $"message count {outcome.Transcript.Count} != {messages.Count}";
        }

        for (int i = 0; i < messages.Count; i++)
        {
            TranscriptEntry e = outcome.Transcript[i];
            JsonNode m = messages[i]!;
            byte[] bytes = Convert.FromHexString(m["hex"]!.GetValue<string>());
            if (m["clientId"]!.GetValue<int>() != e.ClientId || (m["direction"]!.GetValue<string>() == "client-to-server") != e.FromClient
                || !bytes.AsSpan().SequenceEqual(e.Bytes))
            {
                return $"message {i} ({m["kind"]}) differs";
            }

            // Every published message parses as the envelope it claims to be.
            string kind = e.FromClient ? ClientToServer.Parser.ParseFrom(bytes).MessageCase.ToString() : ServerToClient.Parser.ParseFrom(bytes).MessageCase.ToString();
            if (kind != m["kind"]!.GetValue<string>())
            {
                return $"message {i} is a {kind}";
            }
        }

        int[] contributors = Ints(v, "output", "contributors");
        uint[] sum = v["output"]!["sum"]!.AsArray().Select(w => w!.GetValue<uint>()).ToArray();
        uint mask = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
        var plain = new uint[d];
        foreach (int c in contributors)
        {
            for (int j = 0; j < d; j++)
            {
                plain[j] = unchecked(plain[j] + inputs[c - 1][j]) & mask;
            }
        }

        if (!plain.SequenceEqual(sum))
        {
            return "the published sum is not the sum of the contributors' inputs";
        }

        return outcome.Contributors.SequenceEqual(contributors) && outcome.Sum.SequenceEqual(sum) ? null : "recomputed sum or contributors differ";
    }
}
