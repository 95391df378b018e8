using System.Text.Json;
using System.Text.Json.Nodes;
using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Simulation;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Conformance;

/// <summary>The result of replaying one vector.</summary>
/// <param name="File">Vector file name.</param>
/// <param name="Name">Vector name inside the file.</param>
/// <param name="Passed">Whether the recomputed values match the file.</param>
/// <param name="Detail">The first mismatch, or "ok".</param>
public sealed record VectorCheck(string File, string Name, bool Passed, string Detail);

/// <summary>
/// Generates and replays the published test vectors of protocol-spec/vectors/*.json (secagg.md §"Test vectors"):
/// parameter digests, session ids, signed-message encodings, pair-key derivations, mask-PRG outputs, Shamir shares
/// for fixed randomness, and a complete round transcript. Every replay recomputes its outputs from the inputs written
/// in the file with this implementation; nothing is compared with itself.
/// </summary>
/// <remarks>Generation uses <see cref="DeterministicRandomSource"/> only, so rerunning it reproduces the files byte for
/// byte. Verification never throws for a bad file: a missing field or malformed hex is a failed check.</remarks>
public static class ConformanceVectors
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The vector files (name → JSON text).</summary>
    public static IReadOnlyDictionary<string, string> Generate() => new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["derivations.json"] = Serialize(Derivations()),
        ["mask-prg.json"] = Serialize(MaskPrgVectors()),
        ["shamir.json"] = Serialize(ShamirVectors()),
        ["round-n5-t3-d16-b16-malicious.json"] = Serialize(TranscriptVector()),
    };

    /// <summary>Writes every vector file into <paramref name="directory"/>.</summary>
    public static void WriteAll(string directory)
    {
        Directory.CreateDirectory(directory);
        foreach ((string name, string text) in Generate())
        {
            File.WriteAllText(Path.Combine(directory, name), text + "\n");
        }
    }

    /// <summary>Replays every *.json file in <paramref name="directory"/>; one check per vector.</summary>
    public static IReadOnlyList<VectorCheck> VerifyDirectory(string directory)
    {
        var checks = new List<VectorCheck>();
        foreach (string path in Directory.GetFiles(directory, "*.json").Order(StringComparer.Ordinal))
        {
            checks.AddRange(VerifyFile(Path.GetFileName(path), File.ReadAllText(path)));
        }

        return checks;
    }

    /// <summary>Replays every vector of one file.</summary>
    public static IReadOnlyList<VectorCheck> VerifyFile(string fileName, string json)
    {
        var checks = new List<VectorCheck>();
        JsonArray vectors;
        try
        {
            vectors = JsonNode.Parse(json)?["vectors"]?.AsArray() ?? throw new FormatException("no \"vectors\" array");
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return [new VectorCheck(fileName, "(file)", false, e.Message)];
        }

        foreach (JsonNode? vector in vectors)
        {
            string name = vector?["name"]?.GetValue<string>() ?? "(unnamed)";
            checks.Add(VerifyOne(fileName, name, vector));
        }

        return checks;
    }

    /// <summary>Replays one vector node.</summary>
    public static VectorCheck VerifyOne(string fileName, string name, JsonNode? vector)
    {
        try
        {
            string? mismatch = vector?["kind"]?.GetValue<string>() switch
            {
                "parameter-digest" => CheckParameterDigest(vector!),
                "session-id" => CheckSessionId(vector!),
                "advertise-message" => Expect(vector!, "message", Internal.Derivations.AdvertiseMessage(Hex(vector!, "input", "parameterDigest"),
                    Int(vector!, "input", "clientId"), Hex(vector!, "input", "cipherPublicKey"), Hex(vector!, "input", "maskPublicKey"))),
                "consistency-message" => Expect(vector!, "message", Internal.Derivations.ConsistencyMessage(Hex(vector!, "input", "sessionId"),
                    (ulong)Int(vector!, "input", "round"), Ints(vector!, "input", "survivors"))),
                "pair-key" => CheckPairKey(vector!),
                "mask-context" => CheckMaskContext(vector!),
                "mask-prg" => CheckMaskPrg(vector!),
                "shamir-split" => CheckShamir(vector!),
                "round-transcript" => CheckTranscript(vector!),
                var other => $"unknown kind '{other}'",
            };
            return new VectorCheck(fileName, name, mismatch is null, mismatch ?? "ok");
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or KeyNotFoundException
                                       or ArgumentException or NullReferenceException or JsonException
                                       or Google.Protobuf.InvalidProtocolBufferException)
        {
            return new VectorCheck(fileName, name, false, $"malformed vector: {e.Message}");
        }
    }

    // ---------------- generation ----------------

    private static JsonObject Doc(string description, string reference, JsonArray vectors) => new()
    {
        ["description"] = description,
        ["reference"] = reference,
        ["vectors"] = vectors,
    };

    private static string Serialize(JsonObject doc) => doc.ToJsonString(Indented);

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
            ["output"] = new JsonObject { ["sessionId"] = HexOf(session), ["graphSeed"] = HexOf(Internal.Derivations.GraphSeed(session)) },
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

        foreach ((_, PrivateKey c, PrivateKey s) in privates)
        {
            c.Dispose();
            s.Dispose();
        }

        return Doc("SecAgg derivations: parameter digest, session id, graph seed, signed-message encodings, HKDF pair keys, mask-PRG contexts.",
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

    private static JsonObject MaskPrgVectors()
    {
        var vectors = new JsonArray();
        foreach ((string name, int bits, ulong seedNumber, string context) in new[]
                 {
                     ("bits32/zero-seed", 32, 0ul, ""),
                     ("bits16/seed1-self-context", 16, 1ul, "self"),
                     ("bits1/seed2", 1, 2ul, "pair"),
                     ("bits20/seed3", 20, 3ul, "secagg"),
                 })
        {
            byte[] seed = seedNumber == 0 ? new byte[32] : Primitives.Sha256(BitConverter.GetBytes(seedNumber));
            byte[] ctx = System.Text.Encoding.ASCII.GetBytes(context);
            var words = new uint[16];
            MaskPrg.Generate(seed, ctx, bits, words);
            vectors.Add(new JsonObject
            {
                ["name"] = $"mask-prg/{name}",
                ["kind"] = "mask-prg",
                ["input"] = new JsonObject { ["seed"] = HexOf(seed), ["context"] = HexOf(ctx), ["bits"] = bits, ["count"] = 16 },
                ["output"] = new JsonObject { ["words"] = new JsonArray([.. words.Select(w => (JsonNode)w)]) },
            });
        }

        return Doc("Mask PRG: the first 16 words of MaskPrg.Generate(seed, context, bits) (AES-256-CTR keystream, HKDF key, words masked to b bits).",
            "protocol-spec/secagg.md §Masks; crypto/README.md §Mask PRG", vectors);
    }

    private static JsonObject ShamirVectors()
    {
        var vectors = new JsonArray();
        foreach ((int t, int[] xs, ulong seed) in new[] { (2, new[] { 1, 2, 3 }, 11ul), (3, new[] { 1, 2, 4, 5, 7 }, 12ul), (5, new[] { 3, 9, 10, 11, 12, 1000 }, 13ul) })
        {
            byte[] rngSeed = Primitives.Sha256(BitConverter.GetBytes(seed));
            byte[] secret = Primitives.Sha256(BitConverter.GetBytes(seed + 100));
            byte[][] shares;
            using (var rng = new DeterministicRandomSource(rngSeed))
            {
                shares = Primitives.Split(secret, t, xs, rng);
            }

            var shareArray = new JsonArray();
            for (int i = 0; i < xs.Length; i++)
            {
                shareArray.Add(new JsonObject { ["x"] = xs[i], ["y"] = HexOf(shares[i]) });
            }

            vectors.Add(new JsonObject
            {
                ["name"] = $"shamir/t{t}-of-{xs.Length}",
                ["kind"] = "shamir-split",
                ["input"] = new JsonObject
                {
                    ["rngSeed"] = HexOf(rngSeed),
                    ["secret"] = HexOf(secret),
                    ["threshold"] = t,
                    ["xs"] = new JsonArray([.. xs.Select(x => (JsonNode)x)]),
                },
                ["output"] = new JsonObject { ["shares"] = shareArray },
            });
        }

        return Doc("Shamir shares over GF(2^256 + 297) for fixed randomness (DeterministicRandomSource(rngSeed)); any t shares reconstruct the secret.",
            "protocol-spec/secagg.md §Shares; crypto/README.md §Shamir", vectors);
    }

    private static JsonObject TranscriptVector()
    {
        const ulong seed = 20250;
        const int n = 5, t = 3, d = 16, bits = 16;
        uint[][] inputs = TranscriptInputs(n, d, bits);
        SecAggOutcome outcome = RunTranscript(seed, inputs, n, t, d, bits);
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
                   "Randomness: DeterministicRandomSource.FromTestSeed(randomTestSeed) draws, in order, the five identity keys, then one 32-byte " +
                   "seed per client (ids increasing) for that client's DeterministicRandomSource. Every message is the serialized " +
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

    private static SecAggOutcome RunTranscript(ulong seed, uint[][] inputs, int n, int t, int d, int bits)
    {
        using var rng = DeterministicRandomSource.FromTestSeed(seed);
        return InProcessRound.Run(new SecAggConfig(n, t, d, bits, ThreatMode.Malicious, Threads: 1), inputs, new RoundOptions
        {
            Random = rng,
            RecordTranscript = true,
            Dropouts = new DropoutPlan().Drop(2, DropPoint.AfterShareKeys).Drop(4, DropPoint.AfterMaskedInput),
        });
    }

    // ---------------- verification ----------------

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
        return Expect(v, "sessionId", session) ?? Expect(v, "graphSeed", Internal.Derivations.GraphSeed(session));
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

    private static string? CheckMaskPrg(JsonNode v)
    {
        var words = new uint[Int(v, "input", "count")];
        MaskPrg.Generate(Hex(v, "input", "seed"), Hex(v, "input", "context"), Int(v, "input", "bits"), words);
        uint[] expected = v["output"]!["words"]!.AsArray().Select(w => w!.GetValue<uint>()).ToArray();
        return words.SequenceEqual(expected) ? null : "mask words differ";
    }

    private static string? CheckShamir(JsonNode v)
    {
        int t = Int(v, "input", "threshold");
        int[] xs = Ints(v, "input", "xs");
        byte[] secret = Hex(v, "input", "secret");
        byte[][] recomputed;
        using (var rng = new DeterministicRandomSource(Hex(v, "input", "rngSeed")))
        {
            recomputed = Primitives.Split(secret, t, xs, rng);
        }

        JsonArray expected = v["output"]!["shares"]!.AsArray();
        if (expected.Count != xs.Length)
        {
            return "share count differs";
        }

        var published = new List<(int X, byte[] Value)>();
        for (int i = 0; i < xs.Length; i++)
        {
            int x = expected[i]!["x"]!.GetValue<int>();
            byte[] y = Convert.FromHexString(expected[i]!["y"]!.GetValue<string>());
            if (x != xs[i] || !y.AsSpan().SequenceEqual(recomputed[i]))
            {
                return $"share {i} differs";
            }

            published.Add((x, y));
        }

        // Any t published shares reconstruct the secret: the first t and the last t.
        foreach (IEnumerable<(int X, byte[] Value)> subset in new[] { published.Take(t), published.Skip(published.Count - t) })
        {
            var recovered = new byte[32];
            if (Primitives.TryReconstruct(subset.ToList(), t, recovered) != ShamirResult.Ok || !recovered.AsSpan().SequenceEqual(secret))
            {
                return "reconstruction from t published shares failed";
            }
        }

        return null;
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
        SecAggOutcome outcome = InProcessRound.Run(
            new SecAggConfig(n, t, d, bits, (ThreatMode)Int(v, "input", "threatMode"), Suite: (Crypto.KeyAgreementSuite)Int(v, "input", "suite"), Threads: 1)
            {
                RoundNumber = (ulong)Int(v, "input", "round"),
            },
            inputs, new RoundOptions { Random = rng, RecordTranscript = true, Dropouts = plan });

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

    // ---------------- helpers ----------------

    private static string? Expect(JsonNode v, string field, byte[] actual)
    {
        string expected = v["output"]![field]!.GetValue<string>();
        return string.Equals(expected, HexOf(actual), StringComparison.OrdinalIgnoreCase) ? null : $"{field} differs: expected {expected}, got {HexOf(actual)}";
    }

    private static string HexOf(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    private static byte[] Hex(JsonNode v, string section, string field) => Convert.FromHexString(v[section]![field]!.GetValue<string>());

    private static int Int(JsonNode v, string section, string field) => v[section]![field]!.GetValue<int>();

    private static int[] Ints(JsonNode v, string section, string field) => v[section]![field]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
}
