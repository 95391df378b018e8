using Microsoft.Data.Sqlite;
using SecureFedRec.Coordinator.Storage;

namespace SecureFedRec.Integration.Tests;

/// <summary>The <c>securefedrec roster</c>, <c>ledger</c> and <c>keygen</c> commands as separate processes: exit codes,
/// refusals named on stderr, key files never written through a symbolic link.</summary>
public sealed class RosterAndLedgerCliTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sfr-cli-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string P(string name) => Path.Combine(_dir.FullName, name);

    private static async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        using CliProcess process = CliProcess.Start(args);
        int code = await process.WaitAsync(Timeout);
        return (code, process.Output);
    }

    [Theory]
    [InlineData("dev-cert", "coordinator.key")]
    [InlineData("dev-cert", "coordinator.crt")]
    [InlineData("client", "client.key")]
    [InlineData("identity", "identity.key")]
    public async Task Keygen_refuses_a_symbolic_link_at_an_output_path(string kind, string linked)
    {
        string victim = P("victim");
        File.CreateSymbolicLink(P(linked), victim);
        (int code, string output) = await RunAsync("keygen", kind, "--out", _dir.FullName);
        Assert.Equal(2, code);
        Assert.Contains("link", output, StringComparison.Ordinal);
        Assert.False(File.Exists(victim), "a key was written through the link");
    }

    [Fact]
    public async Task Keygen_writes_keys_with_mode_0600_and_never_overwrites_them()
    {
        Assert.Equal(0, (await RunAsync("keygen", "dev-cert", "--out", _dir.FullName)).Code);
        Assert.Equal(0, (await RunAsync("keygen", "identity", "--out", _dir.FullName, "--name", "m1")).Code);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(P("coordinator.key")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(P("m1.key")));
        }

        string key = await File.ReadAllTextAsync(P("m1.key"));
        Assert.Equal(2, (await RunAsync("keygen", "identity", "--out", _dir.FullName, "--name", "m1")).Code);
        Assert.Equal(2, (await RunAsync("keygen", "dev-cert", "--out", _dir.FullName)).Code);
        Assert.Equal(key, await File.ReadAllTextAsync(P("m1.key")));
    }

    [Fact]
    public async Task A_roster_made_with_the_tool_verifies_only_under_its_authority()
    {
        (int code, string output) = await RunAsync("roster", "init", "--consortium", "demo", "--authority-key", P("auth.key"), "--draft", P("draft.json"));
        Assert.Equal(0, code);
        string pin = output.Split('\n').Single(l => l.StartsWith("authority pin", StringComparison.Ordinal)).Split(' ')[^1].Trim();
        Assert.Equal(0, (await RunAsync("keygen", "identity", "--out", _dir.FullName, "--name", "a")).Code);
        Assert.Equal(0, (await RunAsync("keygen", "identity", "--out", _dir.FullName, "--name", "b", "--suite", "ecdsa-p256-sha256")).Code);
        Assert.Equal(0, (await RunAsync("roster", "add", "--draft", P("draft.json"), "--organisation", "bank-a", "--client-id", "a", "--public-key-file", P("a.pub"))).Code);
        Assert.Equal(0, (await RunAsync("roster", "add", "--draft", P("draft.json"), "--organisation", "hosp-b", "--client-id", "b", "--public-key-file", P("b.pub"))).Code);
        (code, output) = await RunAsync("roster", "add", "--draft", P("draft.json"), "--organisation", "hosp-c", "--client-id", "b", "--public-key-file", P("b.pub"));
        Assert.Equal(8, code);
        Assert.Contains("refused: DuplicateKey", output, StringComparison.Ordinal);
        Assert.Equal(0, (await RunAsync("roster", "sign", "--draft", P("draft.json"), "--authority-key", P("auth.key"), "--out", P("roster.json"))).Code);

        (code, output) = await RunAsync("roster", "verify", "--roster", P("roster.json"), "--authority", pin, "--member", "hosp-b/b");
        Assert.Equal(0, code);
        Assert.Contains("2 members in 2 organisations", output, StringComparison.Ordinal);

        (code, output) = await RunAsync("roster", "verify", "--roster", P("roster.json"), "--authority", "ed25519:" + new string('1', 63) + "0");
        Assert.NotEqual(0, code);
        (code, output) = await RunAsync("keygen", "identity", "--out", _dir.FullName, "--name", "other");
        string other = "ed25519:" + (await File.ReadAllTextAsync(P("other.pub"))).Split(' ')[1].Trim();
        (code, output) = await RunAsync("roster", "verify", "--roster", P("roster.json"), "--authority", other);
        Assert.Equal(8, code);
        Assert.Contains("refused: UnknownAuthority", output, StringComparison.Ordinal);

        // Revoke, sign version 2; a verifier that saw version 2 refuses version 1 (rollback).
        await File.WriteAllBytesAsync(P("roster-v1.json"), await File.ReadAllBytesAsync(P("roster.json")));
        Assert.Equal(0, (await RunAsync("roster", "revoke", "--draft", P("draft.json"), "--organisation", "hosp-b", "--client-id", "b")).Code);
        (code, output) = await RunAsync("roster", "sign", "--draft", P("draft.json"), "--authority-key", P("auth.key"), "--out", P("roster.json"));
        Assert.Equal(0, code);
        (code, output) = await RunAsync("roster", "verify", "--roster", P("roster.json"), "--authority", pin);
        string checkpoint = output.Split('\n').Single(l => l.StartsWith("checkpoint", StringComparison.Ordinal)).Split(' ')[^1].Trim();
        (code, output) = await RunAsync("roster", "verify", "--roster", P("roster-v1.json"), "--authority", pin, "--last-seen", checkpoint);
        Assert.Equal(8, code);
        Assert.Contains("refused: Rollback", output, StringComparison.Ordinal);
        (code, output) = await RunAsync("roster", "verify", "--roster", P("roster.json"), "--authority", pin, "--member", "hosp-b/b");
        Assert.Equal(8, code);
        Assert.Contains("refused: Revoked", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ledger_verify_exits_0_when_intact_and_8_naming_the_row_when_truncated()
    {
        string db = P("coordinator.db");
        LedgerHead head;
        await using (var store = new SqliteCoordinatorStore(db))
        {
            await store.InitializeAsync();
            DateTimeOffset t = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
            await store.AppendModelAsync(0, [0], "0", t);
            for (int i = 1; i <= 3; i++)
            {
                await store.AppendLedgerAsync(new LedgerRecord(0, "round-" + i, t.AddMinutes(i), "{}", 5, 0.5, 0.5 * i));
                await store.AppendModelAsync(i, [(byte)i], "0.5", t.AddMinutes(i).AddSeconds(1));
            }

            head = await store.GetLedgerHeadAsync();
        }

        (int code, string output) = await RunAsync("ledger", "verify", "--store", "sqlite:" + db, "--all-models");
        Assert.Equal(0, code);
        Assert.Contains("intact: 3 ledger rows, 4 model versions", output, StringComparison.Ordinal);
        (code, output) = await RunAsync("ledger", "head", "--store", "sqlite:" + db);
        Assert.Equal((0, head.ToString()), (code, output.Trim()));

        await using (var connection = new SqliteConnection("Data Source=" + db + ";Pooling=false"))
        {
            await connection.OpenAsync();
            await using SqliteCommand delete = connection.CreateCommand();
            delete.CommandText = "DELETE FROM ledger WHERE sequence = 3";
            await delete.ExecuteNonQueryAsync();
        }

        (code, output) = await RunAsync("ledger", "verify", "--store", "sqlite:" + db);
        Assert.Equal(8, code);
        Assert.Contains("ledger BROKEN at ledger row 3", output, StringComparison.Ordinal);
        (code, _) = await RunAsync("ledger", "verify", "--store", "sqlite:" + P("missing.db"));
        Assert.Equal(7, code);
        Assert.False(File.Exists(P("missing.db")));
        (code, _) = await RunAsync("ledger", "verify", "--store", "sqlite:" + db, "--expect-head", "not-a-head");
        Assert.Equal(2, code);
    }
}
