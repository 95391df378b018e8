using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SecureFedRec.Conformance.Tests;

/// <summary>
/// A published vector file under protocol-spec/vectors/ that its test regenerates: the test compares the committed
/// file with what the generator produces now (byte for byte) and replays the committed file with independent code.
/// <c>SFR_UPDATE_VECTORS=1</c> rewrites the file instead of comparing (then review the diff and commit it).
/// </summary>
internal static class VectorFile
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string PathOf(string relative) => Path.Combine(VectorReplayTests.VectorDirectory(), relative);

    public static string Serialize(JsonNode node) => node.ToJsonString(Options).Replace("\r\n", "\n", StringComparison.Ordinal) + "\n";

    public static JsonNode Load(string relative) => JsonNode.Parse(File.ReadAllText(PathOf(relative)))!;

    /// <summary>Asserts the committed file is what <paramref name="generated"/> serializes to (or rewrites it under SFR_UPDATE_VECTORS=1).</summary>
    public static void AssertCommitted(string relative, JsonNode generated)
    {
        string text = Serialize(generated);
        string path = PathOf(relative);
        if (Environment.GetEnvironmentVariable("SFR_UPDATE_VECTORS") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
            return;
        }

        Assert.True(File.Exists(path), $"{relative} is missing; generate it with SFR_UPDATE_VECTORS=1.");
        Assert.Equal(text, File.ReadAllText(path));
    }

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    public static byte[] Bytes(JsonNode? node) => Convert.FromHexString(node!.GetValue<string>());

    public static JsonArray Array<T>(IEnumerable<T> values) => new([.. values.Select(v => JsonValue.Create(v))]);

    public static double[] Doubles(JsonNode? node) => [.. node!.AsArray().Select(v => v!.GetValue<double>())];

    public static long[] Longs(JsonNode? node) => [.. node!.AsArray().Select(v => v!.GetValue<long>())];

    public static uint[] UInts(JsonNode? node) => [.. node!.AsArray().Select(v => v!.GetValue<uint>())];
}
