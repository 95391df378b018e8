using System.Text.Json.Nodes;

namespace SecureFedRec.Protocol.Conformance;

// JSON plumbing shared by every vector family: documents, hex fields and the comparison helper.
public static partial class ConformanceVectors
{
    private static JsonObject Doc(string description, string reference, JsonArray vectors) => new()
    {
        ["description"] = description,
        ["reference"] = reference,
        ["vectors"] = vectors,
    };

    private static string Serialize(JsonObject doc) => doc.ToJsonString(Indented);

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
