using System.Text.Json;
using System.Text.Json.Nodes;
using SecureFedRec.Crypto;

namespace SecureFedRec.Protocol.Conformance;

/// <summary>
/// Generates and replays the published test vectors of protocol-spec/vectors/*.json (secagg.md §"Test vectors"):
/// parameter digests, session ids, signed-message encodings, pair-key derivations, mask-PRG outputs, Shamir shares
/// for fixed randomness, and a complete round transcript. Every replay recomputes its outputs from the inputs written
/// in the file with this implementation; nothing is compared with itself.
/// </summary>
/// <remarks>Generation uses <see cref="DeterministicRandomSource"/> only, so rerunning it reproduces the files byte for
/// byte. Verification never throws for a bad file: a missing field or malformed hex is a failed check.</remarks>
public static partial class ConformanceVectors
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
                "harary-relabelling" => CheckHararyRelabelling(vector!),
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
}
