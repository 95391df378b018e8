using System.Text.Json.Nodes;
using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Internal;

namespace SecureFedRec.Protocol.Conformance;

// shamir.json: Shamir shares for fixed randomness.
public static partial class ConformanceVectors
{
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
}
