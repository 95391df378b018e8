using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SecureFedRec.Cli.Tests;

/// <summary><c>simulate</c>: the ranking path end to end on a tiny data set, the MF path's JSON, and the flags that belong to one path only.</summary>
public sealed class SimulateTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("sfr-simulate-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    /// <summary>40 users × 30 items in 3 taste groups (items i ≡ group mod 3 are liked), timestamps in order.</summary>
    private string TinyRatings()
    {
        var path = Path.Combine(folder, "ratings.csv");
        var b = new StringBuilder("userId,movieId,rating,timestamp\n");
        var t = 1;
        for (var u = 1; u <= 40; u++)
        {
            for (var i = 1; i <= 30; i++)
            {
                if (i % 3 == u % 3 && (i + u) % 4 != 0)
                {
                    b.Append(CultureInfo.InvariantCulture, $"{u},{i},{(i % 2 == 0 ? 4.5 : 4.0)},{t++}\n");
                }
            }
        }

        File.WriteAllText(path, b.ToString());
        return path;
    }

    private const string Tiny = "--clients 3 --rounds 2 --dp-rounds 1 --factors 8 --dropout 0 --negatives 10";

    [Fact]
    public void Simulate_model_ials_on_a_tiny_set_prints_the_comparison_table_and_writes_the_json()
    {
        var json = Path.Combine(folder, "s.json");
        Cli.Result r = Cli.Run([.. $"simulate --model ials --dataset {TinyRatings()} {Tiny} --json {json}".Split(' ')]);
        Assert.True(r.Code == 0, r.ToString());
        foreach (var expected in new[] { "setting", "HR@10 full", "most popular", "DP popularity", "iALS, centralized", "iALS, federated + secure aggregation", "institution", "model ials, clients 3, rounds 2 (DP rows 1)" })
        {
            Assert.Contains(expected, r.Out, StringComparison.Ordinal);
        }

        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal("ials", doc.RootElement.GetProperty("model").GetString());
        var rows = doc.RootElement.GetProperty("report").GetProperty("rows");
        Assert.Equal(7, rows.GetArrayLength());
        var hr = rows[0].GetProperty("metrics").GetProperty("fullHr10").GetDouble();
        Assert.InRange(hr, 0, 1);
        Assert.Equal(2, doc.RootElement.GetProperty("options").GetProperty("rounds").GetInt32());
    }

    [Fact]
    public void The_epsilon_sweep_writes_the_svg_beside_the_json_and_the_infinite_point_as_a_named_literal()
    {
        var json = Path.Combine(folder, "sweep.json");
        Cli.Result r = Cli.Run([.. $"simulate --model bpr --dataset {TinyRatings()} {Tiny} --epsilon-sweep 1 --json {json}".Split(' ')]);
        Assert.True(r.Code == 0, r.ToString());
        var svg = Path.Combine(folder, "epsilon-sweep.svg");
        Assert.Contains($"privacy–utility plot (SVG) written to {svg}", r.Out, StringComparison.Ordinal);
        Assert.StartsWith("<svg", File.ReadAllText(svg), StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var sweep = doc.RootElement.GetProperty("report").GetProperty("sweep");
        Assert.Equal(2, sweep.GetArrayLength());
        Assert.Equal("Infinity", sweep[0].GetProperty("epsilon").GetString());
        Assert.Equal(1, sweep[1].GetProperty("epsilon").GetDouble());
    }

    [Fact]
    public void The_mf_json_keeps_its_field_names()
    {
        var json = Path.Combine(folder, "mf.json");
        Cli.Result r = Cli.Run([.. $"simulate --model mf --dataset {TinyRatings()} --clients 3 --rounds 1 --dropout 0 --json {json}".Split(' ')]);
        Assert.True(r.Code == 0, r.ToString());
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.Equal(40, root.GetProperty("users").GetInt32());
        Assert.True(root.GetProperty("split").GetProperty("ratingTest").GetInt32() > 0);
        Assert.Equal(1, root.GetProperty("options").GetProperty("rounds").GetInt32());
        var results = root.GetProperty("results");
        Assert.Equal(4, results.GetArrayLength());
        foreach (var name in new[] { "setting", "rmse", "mae", "hr10Sampled", "ndcg10Sampled", "hr10Full", "ndcg10Full", "epsilonSpent", "secondsPerRound", "bytesPerClient", "totalSeconds", "rounds" })
        {
            Assert.True(results[1].TryGetProperty(name, out _), name);
        }

        Assert.Equal(JsonValueKind.Null, results[0].GetProperty("epsilonSpent").ValueKind);
        Assert.True(results[3].GetProperty("epsilonSpent").GetDouble() > 0);
        Assert.Equal(1, results[1].GetProperty("rounds")[0].GetProperty("round").GetInt32());
    }

    [Theory]
    [InlineData("simulate --model mf --plot x.svg", "--plot applies to the ranking models (--model bpr|ials|neural|knn), not to --model mf.")]
    [InlineData("simulate --model mf --personalize", "--personalize applies to the ranking models (--model bpr|ials|neural|knn), not to --model mf.")]
    [InlineData("simulate --model mf --prior-weight 1", "--prior-weight applies to the ranking models (--model bpr|ials|neural|knn), not to --model mf.")]
    [InlineData("simulate --model mf --dp-factors 8", "--dp-factors applies to the ranking models (--model bpr|ials|neural|knn), not to --model mf.")]
    [InlineData("simulate --model ials --shape device", "--shape applies to --model mf only.")]
    [InlineData("simulate --groups g.csv", "--groups applies to --model mf only.")]
    [InlineData("simulate --epsilon inf", "--epsilon inf applies to --model mf only")]
    [InlineData("simulate --plot p.svg", "--plot needs --epsilon-sweep")]
    public void A_flag_of_the_other_path_is_refused_before_any_training(string commandLine, string message)
    {
        Cli.Result r = Cli.Run(commandLine.Split(' '));
        Assert.True(r.Code == ExitCodes.Usage, r.ToString());
        Assert.Contains(r.ErrorLines, l => l.StartsWith(message, StringComparison.Ordinal));
        Assert.DoesNotContain("training", r.Out, StringComparison.Ordinal);
    }
}
