namespace SecureFedRec.Cli.Tests;

/// <summary>docs/configuration.md is generated from the settings types and the exit-code table; stale means failed.</summary>
public sealed class DocsTests
{
    private static string Path => System.IO.Path.Combine(Cli.RepoRoot(), "docs", "configuration.md");

    [Fact]
    public void The_configuration_reference_is_up_to_date()
    {
        string expected = ConfigurationDocument.Generate();
        if (Environment.GetEnvironmentVariable("SECUREFEDREC_UPDATE_DOCS") == "1")
        {
            File.WriteAllText(Path, expected);
        }

        Assert.True(File.ReadAllText(Path).ReplaceLineEndings("\n") == expected,
            "docs/configuration.md is stale: run `securefedrec config docs --out docs/configuration.md` (or this test with SECUREFEDREC_UPDATE_DOCS=1).");
    }

    [Fact]
    public void The_reference_names_every_setting_with_its_default()
    {
        string doc = ConfigurationDocument.Generate();
        Assert.Contains("| `Client:Policy:MaxTotalEpsilon` | a number | `10` | > 0 |", doc, StringComparison.Ordinal);
        Assert.Contains("| `Coordinator:Rounds:CohortSize` | a whole number | `10` | in [2, 1000000] |", doc, StringComparison.Ordinal);
        Assert.Contains("| `Coordinator:StoreProvider` | text | `sqlite` | `sqlite`, `postgres` |", doc, StringComparison.Ordinal);
        Assert.Contains("| `Client:Recommender` | section | absent |", doc, StringComparison.Ordinal);
    }

    [Fact]
    public void The_docs_command_prints_the_same_text()
    {
        Cli.Result r = Cli.Run("config", "docs");
        Assert.Equal(ExitCodes.Ok, r.Code);
        Assert.Equal(ConfigurationDocument.Generate(), r.Out.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Config_check_accepts_a_valid_file()
    {
        using var dir = new TempDir();
        string file = ConfigFiles.Write(dir, "client.json", ConfigFiles.Client(dir));
        Cli.Result r = Cli.Run("config", "check", "--client", file);
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
        Assert.StartsWith("ok: " + file, r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_check_prints_every_problem_and_exits_2()
    {
        using var dir = new TempDir();
        Dictionary<string, string> keys = ConfigFiles.Client(dir);
        keys["Client:Policy:MaxTotalEpsilonn"] = "0.5";
        keys["Client:Policy:Delta"] = "\"x\"";
        Cli.Result r = Cli.Run("config", "check", "--client", ConfigFiles.Write(dir, "client.json", keys));
        Assert.True(r.Code == ExitCodes.Usage, r.ToString());
        Assert.Contains("error: Client:Policy:MaxTotalEpsilonn is not a setting (in client.json); did you mean Client:Policy:MaxTotalEpsilon?", r.ErrorLines);
        Assert.Contains("error: Client:Policy:Delta: 'x' is not a number (in client.json).", r.ErrorLines);
    }
}
