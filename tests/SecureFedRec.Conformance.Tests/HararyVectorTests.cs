using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using SecureFedRec.Crypto;
using SecureFedRec.Privacy;
using SecureFedRec.Protocol;
using SecureFedRec.Protocol.Graph;
using SecureFedRec.Protocol.Internal;
using SecureFedRec.Rounds;

namespace SecureFedRec.Conformance.Tests;

/// <summary>
/// protocol-spec/vectors/graphs/harary-from-session.json (protocol-spec/vectors.md §4): the Harary neighbour graph of a
/// real session — parameters bound to a real round contract, real X25519 / P-256 public keys — from the parameter
/// digest P through the session id S, the relabelling seed, the permutation stream and the Fisher–Yates shuffle to every
/// member's neighbour list. Replayed with .NET primitives from graphs.md §2 and secagg.md §4, and by the product.
/// </summary>
public sealed class HararyVectorTests
{
    private const string File = "graphs/harary-from-session.json";

    private static readonly (string Name, int N, int K, int T, Crypto.KeyAgreementSuite Suite, ulong Round)[] Cases =
    [
        ("n10-k4-x25519", 10, 4, 3, Crypto.KeyAgreementSuite.X25519, 42),
        ("n12-k5-p256", 12, 5, 4, Crypto.KeyAgreementSuite.P256, 7),
    ];

    private static RoundContract ContractFor(ulong round, int n, int t) => new(round, 3, Protocol.Wire.ThreatMode.HonestButCurious, new MechanismParameters
    {
        Dimension = 16,
        Bits = 20,
        Clip = 1,
        Gamma = 1.0 / 128,
        Beta = Math.Exp(-0.5),
        SigmaSquaredNumerator = 9 << 20,
        SigmaSquaredDenominator = 1 << 20,
        PlannedClients = n,
        MinClients = t,
        Delta = 1e-5,
    });

    internal static JsonNode Generate()
    {
        var cases = new JsonArray();
        foreach ((string name, int n, int k, int t, Crypto.KeyAgreementSuite suite, ulong round) in Cases)
        {
            RoundContract contract = ContractFor(round, n, t);
            int[] ids = [.. Enumerable.Range(0, n).Select(i => 3 + (5 * i))]; // enrolment numbers with gaps: ids are not positions
            SecAggParameters p = SecAggParameters.Create(round, ids, t, contract.SecAggDimension, contract.Dp.Bits,
                Protocol.Wire.ThreatMode.HonestButCurious, suite, GraphKind.Harary, k, contract.Binding());
            KeyAgreementAlgorithm algorithm = KeyAgreementAlgorithm.FromId(suite);
            var keys = new List<Derivations.KeyEntry>();
            var reveals = new List<byte[]>();
            using (var rng = new DeterministicRandomSource(SHA256.HashData(Encoding.ASCII.GetBytes("harary-vector/" + name))))
            {
                foreach (int id in ids)
                {
                    using PrivateKey c = algorithm.GenerateKey(rng);
                    using PrivateKey s = algorithm.GenerateKey(rng);
                    byte[] reveal = new byte[32];
                    rng.Fill(reveal);
                    reveals.Add(reveal);
                    keys.Add(new Derivations.KeyEntry(id, c.ExportPublicKey(), s.ExportPublicKey(), Derivations.RelabelCommitment(p.Digest, id, reveal)));
                }
            }

            byte[] session = Derivations.SessionId(p.Digest, keys);
            byte[] graphSeed = Derivations.RelabelSeed(session, reveals);
            NeighbourGraph graph = NeighbourGraph.Harary(n, k, graphSeed);
            var neighbours = new JsonObject();
            for (int node = 0; node < n; node++)
            {
                neighbours[ids[node].ToString(System.Globalization.CultureInfo.InvariantCulture)] = VectorFile.Array(graph.NeighboursOf(node).ToArray().Select(x => ids[x]));
            }

            cases.Add(new JsonObject
            {
                ["name"] = name,
                ["parameters"] = new JsonObject
                {
                    ["round"] = round,
                    ["clientIds"] = VectorFile.Array(ids),
                    ["threshold"] = t,
                    ["dimension"] = p.Dimension,
                    ["bits"] = p.Bits,
                    ["threatMode"] = (int)p.Mode,
                    ["suite"] = (int)suite,
                    ["graphKind"] = (int)GraphKind.Harary,
                    ["degree"] = k,
                    ["binding"] = VectorFile.Hex(contract.Binding()),
                },
                ["contractEncoding"] = VectorFile.Hex(contract.CanonicalEncoding()),
                ["keys"] = new JsonArray([.. keys.Select((e, i) => (JsonNode)new JsonObject
                {
                    ["clientId"] = e.ClientId,
                    ["cipherPublicKey"] = VectorFile.Hex(e.CipherPublicKey),
                    ["maskPublicKey"] = VectorFile.Hex(e.MaskPublicKey),
                    ["commitment"] = VectorFile.Hex(e.Commitment!),
                    ["reveal"] = VectorFile.Hex(reveals[i]),
                })]),
                ["parameterDigest"] = VectorFile.Hex(p.Digest),
                ["sessionId"] = VectorFile.Hex(session),
                ["graphSeed"] = VectorFile.Hex(graphSeed),
                ["streamInfo"] = VectorFile.Hex(Reference.StreamInfo(n, k)),
                ["streamKey"] = VectorFile.Hex(Reference.StreamKey(graphSeed, n, k)),
                ["labelOfPosition"] = VectorFile.Array(Reference.Permutation(graphSeed, n, k)),
                ["neighbours"] = neighbours,
            });
        }

        return new JsonObject
        {
            ["description"] = "Harary neighbour graph of a real session (protocol-spec/graphs.md §2, secagg.md §4); fields in protocol-spec/vectors.md §4.",
            ["reference"] = "protocol-spec/vectors.md §4, protocol-spec/graphs.md §2, protocol-spec/secagg.md §2.1, §4",
            ["cases"] = cases,
        };
    }

    public static TheoryData<string> CaseNames => new(Cases.Select(c => c.Name));

    [Fact]
    public void The_published_file_is_what_the_generator_produces() => VectorFile.AssertCommitted(File, Generate());

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void The_graph_replays_from_the_spec(string name)
    {
        JsonNode c = Case(name);
        JsonNode p = c["parameters"]!;
        uint[] ids = VectorFile.UInts(p["clientIds"]);
        int n = ids.Length, k = p["degree"]!.GetValue<int>();
        Assert.Equal(VectorFile.Bytes(p["binding"]), SHA256.HashData(VectorFile.Bytes(c["contractEncoding"])));
        byte[] digest = Reference.ParameterDigest(p);
        Assert.Equal(VectorFile.Bytes(c["parameterDigest"]), digest);
        byte[] session = Reference.SessionId(digest, c["keys"]!.AsArray());
        Assert.Equal(VectorFile.Bytes(c["sessionId"]), session);
        foreach (JsonNode? key in c["keys"]!.AsArray())
        {
            Assert.Equal(VectorFile.Bytes(key!["commitment"]), SHA256.HashData(Reference.Enc("secagg/relabel-commit", digest,
                Reference.U32(key["clientId"]!.GetValue<uint>()), VectorFile.Bytes(key["reveal"]))));
        }

        byte[] seed = Reference.RelabelSeed(session, c["keys"]!.AsArray());
        Assert.Equal(VectorFile.Bytes(c["graphSeed"]), seed);
        Assert.Equal(VectorFile.Bytes(c["streamInfo"]), Reference.StreamInfo(n, k));
        Assert.Equal(VectorFile.Bytes(c["streamKey"]), Reference.StreamKey(seed, n, k));
        int[] label = Reference.Permutation(seed, n, k);
        Assert.Equal(VectorFile.Longs(c["labelOfPosition"]).Select(x => (int)x), label);
        int[] position = new int[n];
        for (int q = 0; q < n; q++)
        {
            position[label[q]] = q;
        }

        for (int node = 0; node < n; node++)
        {
            var expected = new List<uint>();
            for (int offset = 1; offset <= k / 2; offset++)
            {
                expected.Add(ids[label[(position[node] + offset) % n]]);
                expected.Add(ids[label[(position[node] - offset + n) % n]]);
            }

            if (k % 2 == 1)
            {
                expected.Add(ids[label[(position[node] + (n / 2)) % n]]);
            }

            Assert.Equal(VectorFile.UInts(c["neighbours"]![ids[node].ToString(System.Globalization.CultureInfo.InvariantCulture)]), expected.Order());
        }
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void The_product_builds_the_published_graph(string name)
    {
        JsonNode c = Case(name);
        uint[] ids = VectorFile.UInts(c["parameters"]!["clientIds"]);
        byte[] seed = Derivations.RelabelSeed(VectorFile.Bytes(c["sessionId"]), c["keys"]!.AsArray().OrderBy(k => k!["clientId"]!.GetValue<uint>()).Select(k => VectorFile.Bytes(k!["reveal"])));
        Assert.Equal(VectorFile.Bytes(c["graphSeed"]), seed);
        NeighbourGraph graph = NeighbourGraph.Harary(ids.Length, c["parameters"]!["degree"]!.GetValue<int>(), seed);
        for (int node = 0; node < ids.Length; node++)
        {
            Assert.Equal(VectorFile.UInts(c["neighbours"]![ids[node].ToString(System.Globalization.CultureInfo.InvariantCulture)]),
                graph.NeighboursOf(node).ToArray().Select(x => ids[x]));
        }
    }

    [Fact]
    public void One_changed_key_bit_changes_the_graph()
    {
        JsonNode c = Case(Cases[0].Name);
        byte[] key = VectorFile.Bytes(c["keys"]![3]!["maskPublicKey"]);
        key[5] ^= 1;
        c["keys"]![3]!["maskPublicKey"] = VectorFile.Hex(key);
        byte[] seed = Reference.RelabelSeed(Reference.SessionId(VectorFile.Bytes(c["parameterDigest"]), c["keys"]!.AsArray()), c["keys"]!.AsArray());
        Assert.NotEqual(VectorFile.Longs(c["labelOfPosition"]).Select(x => (int)x), Reference.Permutation(seed, 10, 4));
    }

    private static JsonNode Case(string name) =>
        VectorFile.Load(File)["cases"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == name)!;

    /// <summary>secagg.md §3–§4 and graphs.md §2 with .NET primitives only.</summary>
    private static class Reference
    {
        /// <summary>Enc(purpose, p1, …) = "SecureFedRec/v1" 0x00 purpose 0x00 ‖ for each part u32be(len) ‖ part.</summary>
        public static byte[] Enc(string purpose, params byte[][] parts)
        {
            var bytes = new List<byte>(Encoding.ASCII.GetBytes("SecureFedRec/v1\0" + purpose + "\0"));
            foreach (byte[] part in parts)
            {
                bytes.AddRange(U32((uint)part.Length));
                bytes.AddRange(part);
            }

            return [.. bytes];
        }

        public static byte[] U32(uint v)
        {
            byte[] b = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(b, v);
            return b;
        }

        public static byte[] U64(ulong v)
        {
            byte[] b = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(b, v);
            return b;
        }

        public static byte[] ParameterDigest(JsonNode p) => SHA256.HashData(Enc("secagg/round-parameters",
            U64(p["round"]!.GetValue<ulong>()), [.. VectorFile.UInts(p["clientIds"]).SelectMany(U32)], U32(p["threshold"]!.GetValue<uint>()),
            U32(p["dimension"]!.GetValue<uint>()), U32(p["bits"]!.GetValue<uint>()), U32(p["threatMode"]!.GetValue<uint>()),
            U32(p["suite"]!.GetValue<uint>()), U32(p["graphKind"]!.GetValue<uint>()), U32(p["degree"]!.GetValue<uint>()),
            VectorFile.Bytes(p["binding"])));

        public static byte[] SessionId(byte[] digest, JsonArray keys)
        {
            var parts = new List<byte[]> { digest };
            foreach (JsonNode? key in keys.OrderBy(k => k!["clientId"]!.GetValue<uint>()))
            {
                parts.Add(U32(key!["clientId"]!.GetValue<uint>()));
                parts.Add(VectorFile.Bytes(key["cipherPublicKey"]));
                parts.Add(VectorFile.Bytes(key["maskPublicKey"]));
                parts.Add(VectorFile.Bytes(key["commitment"]));
            }

            return SHA256.HashData(Enc("secagg/session-id", [.. parts]));
        }

        /// <summary>SHA-256(Enc("secagg/graph-relabel-reveals", S, r_1, …, r_n)), reveals in increasing id.</summary>
        public static byte[] RelabelSeed(byte[] session, JsonArray keys) => SHA256.HashData(Enc("secagg/graph-relabel-reveals",
            [session, .. keys.OrderBy(k => k!["clientId"]!.GetValue<uint>()).Select(k => VectorFile.Bytes(k!["reveal"]))]));

        public static byte[] StreamInfo(int n, int k) => Enc("harary-relabel", U32((uint)n), U32((uint)k));

        public static byte[] StreamKey(byte[] seed, int n, int k) => HKDF.DeriveKey(HashAlgorithmName.SHA256, seed, 32, [], StreamInfo(n, k));

        /// <summary>Fisher–Yates from the top down; j = Lemire's unbounded-rejection NextBelow(i + 1) over NextUInt64 (8 bytes LE).</summary>
        public static int[] Permutation(byte[] seed, int n, int k)
        {
            byte[] stream = AesCtr(StreamKey(seed, n, k), 64 * n);
            int offset = 0;
            ulong Next()
            {
                ulong v = BinaryPrimitives.ReadUInt64LittleEndian(stream.AsSpan(offset));
                offset += 8;
                return v;
            }

            int[] pi = [.. Enumerable.Range(0, n)];
            for (int i = n - 1; i > 0; i--)
            {
                ulong bound = (ulong)i + 1;
                UInt128 m = (UInt128)Next() * bound;
                if ((ulong)m < bound)
                {
                    ulong threshold = unchecked(0UL - bound) % bound;
                    while ((ulong)m < threshold)
                    {
                        m = (UInt128)Next() * bound;
                    }
                }

                int j = (int)(ulong)(m >> 64);
                (pi[i], pi[j]) = (pi[j], pi[i]);
            }

            return pi;
        }

        private static byte[] AesCtr(byte[] key, int length)
        {
            using var aes = Aes.Create();
            aes.Key = key;
            int blocks = (length + 15) / 16;
            byte[] counters = new byte[16 * blocks];
            for (int b = 0; b < blocks; b++)
            {
                BinaryPrimitives.WriteUInt64BigEndian(counters.AsSpan((16 * b) + 8), (ulong)b);
            }

            return aes.EncryptEcb(counters, PaddingMode.None)[..length];
        }
    }
}
