using System.Text.Json.Nodes;
using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Internal;

namespace SecureFedRec.Protocol.Conformance;

// mask-prg.json: mask-PRG outputs for fixed seeds.
public static partial class ConformanceVectors
{
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

    private static string? CheckMaskPrg(JsonNode v)
    {
        var words = new uint[Int(v, "input", "count")];
        MaskPrg.Generate(Hex(v, "input", "seed"), Hex(v, "input", "context"), Int(v, "input", "bits"), words);
        uint[] expected = v["output"]!["words"]!.AsArray().Select(w => w!.GetValue<uint>()).ToArray();
        return words.SequenceEqual(expected) ? null : "mask words differ";
    }
}
