using System.Text.Json.Nodes;
using SecureFedRec.Protocol.Conformance;

namespace SecureFedRec.Conformance.Tests;

/// <summary>
/// Replays protocol-spec/vectors/*.json: one row per published vector, each recomputed from its inputs by this
/// implementation (never the file compared with itself). The mutation tests show the replay can fail.
/// </summary>
public class VectorReplayTests
{
    internal static string VectorDirectory()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "protocol-spec", "vectors");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("protocol-spec/vectors not found above the test binaries.");
    }

    public static TheoryData<string, string> PublishedVectors()
    {
        var data = new TheoryData<string, string>();
        foreach (string path in Directory.GetFiles(VectorDirectory(), "*.json").Order(StringComparer.Ordinal))
        {
            foreach (JsonNode? vector in JsonNode.Parse(File.ReadAllText(path))!["vectors"]!.AsArray())
            {
                data.Add(Path.GetFileName(path), vector!["name"]!.GetValue<string>());
            }
        }

        return data;
    }

    private static JsonNode Load(string file, string name) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(VectorDirectory(), file)))!["vectors"]!.AsArray()
            .Single(v => v!["name"]!.GetValue<string>() == name)!;

    [Theory]
    [MemberData(nameof(PublishedVectors))]
    public void Published_vector_replays(string file, string name)
    {
        VectorCheck check = ConformanceVectors.VerifyOne(file, name, Load(file, name));
        Assert.True(check.Passed, check.Detail);
    }

    [Theory]
    [MemberData(nameof(PublishedVectors))]
    public void A_vector_with_one_changed_output_fails(string file, string name)
    {
        JsonNode vector = Load(file, name);
        Assert.True(Corrupt(vector["output"]!), "nothing to corrupt");
        VectorCheck check = ConformanceVectors.VerifyOne(file, name, vector);
        Assert.False(check.Passed);
    }

    [Fact]
    public void The_whole_directory_passes_and_covers_every_kind()
    {
        IReadOnlyList<VectorCheck> checks = ConformanceVectors.VerifyDirectory(VectorDirectory());
        Assert.All(checks, c => Assert.True(c.Passed, $"{c.File} {c.Name}: {c.Detail}"));
        Assert.Contains(checks, c => c.Name.StartsWith("round/n5-t3-d16-b16-malicious", StringComparison.Ordinal));
        Assert.True(checks.Count >= 19);
    }

    [Fact]
    public void The_published_files_are_what_the_generator_produces()
    {
        foreach ((string name, string text) in ConformanceVectors.Generate())
        {
            Assert.Equal(text + "\n", File.ReadAllText(Path.Combine(VectorDirectory(), name)));
        }
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("not json")]
    [InlineData("{\"vectors\":[{\"name\":\"x\",\"kind\":\"mask-prg\",\"input\":{\"seed\":\"zz\"}}]}")]
    [InlineData("{\"vectors\":[{\"name\":\"x\",\"kind\":\"no-such-kind\"}]}")]
    public void Malformed_vector_files_fail_without_throwing(string json)
    {
        IReadOnlyList<VectorCheck> checks = ConformanceVectors.VerifyFile("bad.json", json);
        Assert.NotEmpty(checks);
        Assert.All(checks, c => Assert.False(c.Passed));
    }

    /// <summary>Changes the last hex digit or number found in the output (depth-first, last field first).</summary>
    private static bool Corrupt(JsonNode node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (string key in obj.Select(kv => kv.Key).Reverse().ToList())
                {
                    JsonNode? child = obj[key];
                    if (child is JsonValue value && TryChange(value, out JsonNode? changed))
                    {
                        obj[key] = changed;
                        return true;
                    }

                    if (child is not null && Corrupt(child))
                    {
                        return true;
                    }
                }

                return false;
            case JsonArray array:
                for (int i = array.Count - 1; i >= 0; i--)
                {
                    if (array[i] is JsonValue value && TryChange(value, out JsonNode? changed))
                    {
                        array[i] = changed;
                        return true;
                    }

                    if (array[i] is not null && Corrupt(array[i]!))
                    {
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }

    private static bool TryChange(JsonValue value, out JsonNode? changed)
    {
        changed = null;
        if (value.TryGetValue(out string? text) && text.Length > 0 && Uri.IsHexDigit(text[^1]))
        {
            changed = JsonValue.Create(text[..^1] + (text[^1] == '0' ? '1' : '0'));
            return true;
        }

        if (value.TryGetValue(out long number))
        {
            changed = JsonValue.Create(number ^ 1);
            return true;
        }

        return false;
    }
}
