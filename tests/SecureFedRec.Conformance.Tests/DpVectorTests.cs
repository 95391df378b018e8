using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using SecureFedRec.Crypto;
using SecureFedRec.Privacy;
using SecureFedRec.Privacy.Mechanism;
using SecureFedRec.Rounds;

namespace SecureFedRec.Conformance.Tests;

/// <summary>
/// protocol-spec/vectors/dp/encode-decode.json (protocol-spec/vectors.md §2): the client's DP encoding (clip, rotation
/// with the round seed, scale, conditional rounding, noise, wrap) and the coordinator's decoding, for fixed randomness.
/// Every deterministic step is recomputed here from the spec with .NET's own primitives (SHA-256, HKDF, AES-ECB for the
/// AES-CTR stream), not the Privacy code; the noise is checked by drawing it from the stream position the rounding
/// leaves (so a rounding that consumed other bytes fails), and the product's Encode and Decode must give the file's
/// values bit for bit.
/// </summary>
public sealed class DpVectorTests
{
    private const string File = "dp/encode-decode.json";

    private static readonly (string Name, MechanismParameters P, ulong Round, double[][] Updates)[] Cases =
    [
        ("d5-b16-conditional-rounding", new MechanismParameters
        {
            Dimension = 5, Bits = 16, Clip = 1, Gamma = 1.0 / 64, Beta = Math.Exp(-0.5),
            SigmaSquaredNumerator = 50, SigmaSquaredDenominator = 1, PlannedClients = 3, MinClients = 2, Delta = 1e-5,
        }, 7, [[0.9, -0.4, 0.3, 0.2, -0.1], [2.0, 1.0, 0.0, -1.0, 0.5], [-0.05, 0.02, 0.3, 0.0, 0.11]]),
        ("d8-b20-unconditional-rounding", new MechanismParameters
        {
            Dimension = 8, Bits = 20, Clip = 2, Gamma = 1.0 / 256, Beta = 0,
            SigmaSquaredNumerator = 3 << 20, SigmaSquaredDenominator = 1 << 20, PlannedClients = 2, MinClients = 2, Delta = 1e-6,
        }, 1234567, [[0.5, 0.25, -0.125, 1.0, -1.5, 0.0, 0.75, -0.3], [-0.1, 0.2, -0.3, 0.4, -0.5, 0.6, -0.7, 0.8]]),
    ];

    /// <summary>The 32-byte seed of client <paramref name="index"/>'s DP randomness in case <paramref name="name"/>.</summary>
    private static byte[] RandomSeed(string name, int index) => SHA256.HashData(Encoding.ASCII.GetBytes($"dp-vector/{name}/client-{index}"));

    internal static JsonNode Generate()
    {
        var cases = new JsonArray();
        foreach ((string name, MechanismParameters p, ulong round, double[][] updates) in Cases)
        {
            byte[] seed = RoundContract.RotationSeedFor(round);
            int size = p.PaddedDimension;
            var mechanism = new DistributedDiscreteGaussianMechanism(p);
            var clients = new JsonArray();
            uint[] sum = new uint[size];
            uint mask = p.Bits == 32 ? uint.MaxValue : (1u << p.Bits) - 1;
            for (int c = 0; c < updates.Length; c++)
            {
                Reference r = Reference.Encode(p, seed, updates[c], RandomSeed(name, c), mechanism.RoundedNormBound);
                uint[] encoded;
                using (var rng = new DeterministicRandomSource(RandomSeed(name, c)))
                {
                    encoded = mechanism.Encode(updates[c], seed, rng);
                }

                for (int i = 0; i < size; i++)
                {
                    sum[i] = (sum[i] + encoded[i]) & mask;
                }

                clients.Add(new JsonObject
                {
                    ["update"] = VectorFile.Array(updates[c]),
                    ["randomSeed"] = VectorFile.Hex(RandomSeed(name, c)),
                    ["clipped"] = VectorFile.Array(r.Clipped),
                    ["rotated"] = VectorFile.Array(r.Rotated),
                    ["scaled"] = VectorFile.Array(r.Scaled),
                    ["roundingAttempts"] = r.Attempts,
                    ["rounded"] = VectorFile.Array(r.Rounded),
                    ["noise"] = VectorFile.Array(Centred(encoded, r.Rounded, p.Bits)),
                    ["encoded"] = VectorFile.Array(encoded),
                });
            }

            uint[] wrapped = (uint[])sum.Clone();
            wrapped[0] = (wrapped[0] + (1u << (p.Bits - 1))) & mask;
            cases.Add(new JsonObject
            {
                ["name"] = name,
                ["parameters"] = Parameters(p),
                ["paddedDimension"] = size,
                ["roundId"] = round,
                ["roundSeed"] = VectorFile.Hex(seed),
                ["rotationInfo"] = VectorFile.Hex(Reference.RotationInfo(size)),
                ["rotationKey"] = VectorFile.Hex(Reference.RotationKey(seed, size)),
                ["signBytes"] = VectorFile.Hex(Reference.SignBytes(seed, size)),
                ["roundedNormBound"] = mechanism.RoundedNormBound,
                ["clients"] = clients,
                ["sum"] = VectorFile.Array(sum),
                ["decode"] = DecodeNode(mechanism.Decode(sum, updates.Length, seed), updates.Length),
                ["wrappedSum"] = VectorFile.Array(wrapped),
                ["wrappedDecode"] = DecodeNode(mechanism.Decode(wrapped, updates.Length, seed), updates.Length),
            });
        }

        return new JsonObject
        {
            ["description"] = "Distributed discrete Gaussian encode/decode (protocol-spec/dp.md §2–§4) for fixed randomness; every field is defined in protocol-spec/vectors.md §2.",
            ["reference"] = "protocol-spec/vectors.md §2, protocol-spec/dp.md §2, §3, §4",
            ["cases"] = cases,
        };
    }

    private static JsonObject Parameters(MechanismParameters p) => new()
    {
        ["dimension"] = p.Dimension,
        ["bits"] = p.Bits,
        ["clip"] = p.Clip,
        ["gamma"] = p.Gamma,
        ["beta"] = p.Beta,
        ["sigma2Num"] = p.SigmaSquaredNumerator,
        ["sigma2Den"] = p.SigmaSquaredDenominator,
        ["plannedClients"] = p.PlannedClients,
        ["minClients"] = p.MinClients,
        ["delta"] = p.Delta,
        ["samplingRate"] = p.SamplingRate,
        ["k"] = p.K,
    };

    internal static MechanismParameters ParametersOf(JsonNode n) => new()
    {
        Dimension = n["dimension"]!.GetValue<int>(),
        Bits = n["bits"]!.GetValue<int>(),
        Clip = n["clip"]!.GetValue<double>(),
        Gamma = n["gamma"]!.GetValue<double>(),
        Beta = n["beta"]!.GetValue<double>(),
        SigmaSquaredNumerator = n["sigma2Num"]!.GetValue<ulong>(),
        SigmaSquaredDenominator = n["sigma2Den"]!.GetValue<ulong>(),
        PlannedClients = n["plannedClients"]!.GetValue<int>(),
        MinClients = n["minClients"]!.GetValue<int>(),
        Delta = n["delta"]!.GetValue<double>(),
        SamplingRate = n["samplingRate"]!.GetValue<double>(),
        K = n["k"]!.GetValue<double>(),
    };

    private static JsonObject DecodeNode(DecodeResult d, int contributors) => new()
    {
        ["contributors"] = contributors,
        ["failure"] = d.Failure.ToString(),
        ["sum"] = d.Sum is null ? null : VectorFile.Array(d.Sum),
        ["integerNorm"] = d.IntegerNorm,
        ["measuredNorm"] = d.MeasuredNorm,
        ["normBound"] = d.NormBound,
        ["maxAbsCoordinate"] = d.MaxAbsCoordinate,
        ["coordinateBound"] = d.CoordinateBound,
        ["coordinatesOutOfRange"] = d.CoordinatesOutOfRange,
    };

    private static long[] Centred(uint[] encoded, long[] rounded, int bits)
    {
        long modulus = 1L << bits;
        return [.. encoded.Select((e, i) =>
        {
            long v = (((long)e - rounded[i]) % modulus + modulus) % modulus;
            return v >= modulus / 2 ? v - modulus : v;
        })];
    }

    public static TheoryData<string> CaseNames => new(Cases.Select(c => c.Name));

    [Fact]
    public void The_published_file_is_what_the_generator_produces() => VectorFile.AssertCommitted(File, Generate());

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void The_deterministic_steps_replay_from_the_spec(string name)
    {
        JsonNode c = Case(name);
        MechanismParameters p = ParametersOf(c["parameters"]!);
        int size = c["paddedDimension"]!.GetValue<int>();
        Assert.Equal(p.PaddedDimension, size);
        byte[] seed = Reference.RotationSeed(c["roundId"]!.GetValue<ulong>());
        Assert.Equal(VectorFile.Bytes(c["roundSeed"]), seed);
        Assert.Equal(VectorFile.Bytes(c["rotationInfo"]), Reference.RotationInfo(size));
        Assert.Equal(VectorFile.Bytes(c["rotationKey"]), Reference.RotationKey(seed, size));
        Assert.Equal(VectorFile.Bytes(c["signBytes"]), Reference.SignBytes(seed, size));
        double bound = c["roundedNormBound"]!.GetValue<double>();
        Assert.Equal(Reference.RoundedNormBound(p), bound);
        foreach (JsonNode? client in c["clients"]!.AsArray())
        {
            Reference r = Reference.Encode(p, seed, VectorFile.Doubles(client!["update"]), VectorFile.Bytes(client["randomSeed"]), bound);
            AssertBits(VectorFile.Doubles(client["clipped"]), r.Clipped);
            AssertBits(VectorFile.Doubles(client["rotated"]), r.Rotated);
            AssertBits(VectorFile.Doubles(client["scaled"]), r.Scaled);
            Assert.Equal(client["roundingAttempts"]!.GetValue<int>(), r.Attempts);
            Assert.Equal(VectorFile.Longs(client["rounded"]), r.Rounded);

            // The noise comes from the same stream, right after the rounding's 8·D bytes per attempt: drawing it from
            // there reproduces the file's noise only if the rounding above consumed exactly the product's bytes.
            long[] noise = VectorFile.Longs(client["noise"]);
            using var rng = new DeterministicRandomSource(VectorFile.Bytes(client["randomSeed"]));
            rng.Fill(new byte[8 * size * r.Attempts]);
            long[] drawn = new long[size];
            new DiscreteGaussian(p.SigmaSquaredNumerator, p.SigmaSquaredDenominator).Fill(drawn, rng);
            Assert.Equal(noise, drawn);
            uint mask = p.Bits == 32 ? uint.MaxValue : (1u << p.Bits) - 1;
            Assert.Equal(VectorFile.UInts(client["encoded"]), r.Rounded.Select((x, i) => unchecked((uint)(ulong)(x + noise[i])) & mask));
        }
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void The_product_encodes_and_decodes_the_published_values(string name)
    {
        JsonNode c = Case(name);
        MechanismParameters p = ParametersOf(c["parameters"]!);
        byte[] seed = VectorFile.Bytes(c["roundSeed"]);
        var mechanism = new DistributedDiscreteGaussianMechanism(p);
        foreach (JsonNode? client in c["clients"]!.AsArray())
        {
            using var rng = new DeterministicRandomSource(VectorFile.Bytes(client!["randomSeed"]));
            Assert.Equal(VectorFile.UInts(client["encoded"]), mechanism.Encode(VectorFile.Doubles(client["update"]), seed, rng));
        }

        foreach ((string sumField, string decodeField) in new[] { ("sum", "decode"), ("wrappedSum", "wrappedDecode") })
        {
            JsonNode expected = c[decodeField]!;
            DecodeResult d = mechanism.Decode(VectorFile.UInts(c[sumField]), expected["contributors"]!.GetValue<int>(), seed);
            Assert.Equal(expected["failure"]!.GetValue<string>(), d.Failure.ToString());
            if (d.Sum is not null)
            {
                AssertBits(VectorFile.Doubles(expected["sum"]), [.. d.Sum]);
            }
            else
            {
                Assert.Null(expected["sum"]);
            }

            Assert.Equal(expected["maxAbsCoordinate"]!.GetValue<long>(), d.MaxAbsCoordinate);
            Assert.Equal(expected["coordinateBound"]!.GetValue<long>(), d.CoordinateBound);
            Assert.Equal(expected["coordinatesOutOfRange"]!.GetValue<int>(), d.CoordinatesOutOfRange);
            Assert.Equal(expected["normBound"]!.GetValue<double>(), d.NormBound);
        }
    }

    [Theory]
    [InlineData("rounded")]
    [InlineData("noise")]
    [InlineData("signBytes")]
    [InlineData("scaled")]
    public void A_vector_with_one_changed_value_fails_the_replay(string field)
    {
        JsonNode c = Case(Cases[0].Name);
        JsonNode target = field == "signBytes" ? c : c["clients"]![0]!;
        if (field == "signBytes")
        {
            byte[] bytes = VectorFile.Bytes(c["signBytes"]);
            bytes[0] ^= 1;
            c["signBytes"] = VectorFile.Hex(bytes);
        }
        else
        {
            JsonArray values = target[field]!.AsArray();
            values[1] = field == "scaled" ? values[1]!.GetValue<double>() + 1e-9 : values[1]!.GetValue<long>() + 1;
        }

        Assert.ThrowsAny<Exception>(() => ReplayOne(c));
    }

    private static void ReplayOne(JsonNode c)
    {
        MechanismParameters p = ParametersOf(c["parameters"]!);
        byte[] seed = VectorFile.Bytes(c["roundSeed"]);
        Assert.Equal(VectorFile.Bytes(c["signBytes"]), Reference.SignBytes(seed, p.PaddedDimension));
        foreach (JsonNode? client in c["clients"]!.AsArray())
        {
            Reference r = Reference.Encode(p, seed, VectorFile.Doubles(client!["update"]), VectorFile.Bytes(client["randomSeed"]), c["roundedNormBound"]!.GetValue<double>());
            AssertBits(VectorFile.Doubles(client["scaled"]), r.Scaled);
            Assert.Equal(VectorFile.Longs(client["rounded"]), r.Rounded);
            long[] noise = VectorFile.Longs(client["noise"]);
            uint mask = (1u << p.Bits) - 1;
            Assert.Equal(VectorFile.UInts(client["encoded"]), r.Rounded.Select((x, i) => unchecked((uint)(ulong)(x + noise[i])) & mask));
        }
    }

    private static JsonNode Case(string name) =>
        VectorFile.Load(File)["cases"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == name)!;

    private static void AssertBits(double[] expected, double[] actual) =>
        Assert.Equal(expected.Select(BitConverter.DoubleToInt64Bits), actual.Select(BitConverter.DoubleToInt64Bits));

    /// <summary>dp.md §2–§3 written out with .NET primitives only (the steps an independent client implements).</summary>
    private sealed record Reference(double[] Clipped, double[] Rotated, double[] Scaled, int Attempts, long[] Rounded)
    {
        public static byte[] RotationSeed(ulong round)
        {
            byte[] input = [.. "SecureFedRec/v1\0rotation-seed\0"u8, .. new byte[8]];
            BinaryPrimitives.WriteUInt64BigEndian(input.AsSpan(input.Length - 8), round);
            return SHA256.HashData(input);
        }

        /// <summary>"SecureFedRec/v1" 0x00 "dp-rotation" 0x00 ‖ u32be(4) ‖ u32be(D): one length-prefixed part.</summary>
        public static byte[] RotationInfo(int size)
        {
            byte[] info = [.. "SecureFedRec/v1\0dp-rotation\0"u8, 0, 0, 0, 4, 0, 0, 0, 0];
            BinaryPrimitives.WriteUInt32BigEndian(info.AsSpan(info.Length - 4), (uint)size);
            return info;
        }

        public static byte[] RotationKey(byte[] seed, int size) => HKDF.DeriveKey(HashAlgorithmName.SHA256, seed, 32, [], RotationInfo(size));

        public static byte[] SignBytes(byte[] seed, int size) => Stream(RotationKey(seed, size), Math.Max(1, (size + 7) / 8));

        /// <summary>The DeterministicRandomSource stream: AES-256-CTR, key = seed, counter block 0 (128-bit big endian) upwards.</summary>
        public static byte[] Stream(byte[] key, int length)
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

        public static double RoundedNormBound(MechanismParameters p)
        {
            double scaled = p.Clip / p.Gamma;
            int d = p.PaddedDimension;
            double first = scaled + Math.Sqrt(d);
            return p.Beta == 0
                ? first
                : Math.Min(first, Math.Sqrt((scaled * scaled) + (d / 4.0) + (Math.Sqrt(2 * Math.Log(1 / p.Beta)) * (scaled + (Math.Sqrt(d) / 2)))));
        }

        public static Reference Encode(MechanismParameters p, byte[] roundSeed, double[] update, byte[] randomSeed, double normBound)
        {
            int size = p.PaddedDimension;
            double[] x = (double[])update.Clone();
            double sq = 0;
            foreach (double v in x)
            {
                sq += v * v;
            }

            double norm = Math.Sqrt(sq);
            if (norm > p.Clip)
            {
                double f = p.Clip / norm;
                for (int i = 0; i < x.Length; i++)
                {
                    x[i] *= f;
                }
            }

            byte[] signBytes = SignBytes(roundSeed, size);
            double[] y = new double[size];
            for (int i = 0; i < x.Length; i++)
            {
                y[i] = ((signBytes[i >> 3] >> (i & 7)) & 1) == 1 ? -x[i] : x[i];
            }

            for (int h = 1; h < size; h <<= 1)
            {
                for (int i = 0; i < size; i += h << 1)
                {
                    for (int j = i; j < i + h; j++)
                    {
                        (y[j], y[j + h]) = (y[j] + y[j + h], y[j] - y[j + h]);
                    }
                }
            }

            double scale = 1.0 / Math.Sqrt(size);
            double[] rotated = [.. y.Select(v => v * scale)];
            double inverseGamma = 1.0 / p.Gamma;
            double[] z = [.. rotated.Select(v => v * inverseGamma)];

            // Conditional randomized rounding: one NextUInt64 (8 stream bytes, little endian) per coordinate and attempt.
            byte[] stream = Stream(randomSeed, 8 * size * 1000);
            long[] r = new long[size];
            for (int attempt = 1; attempt <= 1000; attempt++)
            {
                double rs = 0;
                for (int i = 0; i < size; i++)
                {
                    double floor = Math.Floor(z[i]);
                    ulong threshold = (ulong)((z[i] - floor) * 9007199254740992.0);
                    ulong u = BinaryPrimitives.ReadUInt64LittleEndian(stream.AsSpan(8 * (((attempt - 1) * size) + i))) >> 11;
                    r[i] = (long)floor + (u < threshold ? 1 : 0);
                    rs += (double)r[i] * r[i];
                }

                if (rs <= normBound * normBound)
                {
                    return new Reference(x, rotated, z, attempt, r);
                }
            }

            throw new InvalidOperationException("rounding did not converge");
        }
    }
}
