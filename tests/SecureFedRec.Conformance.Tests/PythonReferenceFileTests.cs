using System.Diagnostics;
using System.Text.Json.Nodes;
using SecureFedRec.Coordinator.Storage;

namespace SecureFedRec.Conformance.Tests;

/// <summary>
/// The independent implementation (python/sfr_ref.py, written from protocol-spec alone) verifies the files the product
/// writes, and refuses tampered copies with the same refusal as the product's own verifier: a roster made and signed
/// with <c>securefedrec roster init|add|sign</c> (roster.md §5; compared with <c>securefedrec roster verify</c>) and a
/// coordinator store (the SQLite file the coordinator writes, ledger.md §2; compared with
/// <c>securefedrec ledger verify</c>). Python missing: skipped locally, failed under CI=true.
/// </summary>
public sealed class PythonReferenceFileTests : IClassFixture<PythonReferenceFileTests.Files>
{
    private readonly Files _files;

    public PythonReferenceFileTests(Files files) => _files = files;

    /// <summary>A roster and a store made once by the product for the whole class.</summary>
    public sealed class Files : IDisposable
    {
        public DirectoryInfo Dir { get; } = Directory.CreateTempSubdirectory("sfr-ref-files-");

        public string P(string name) => Path.Combine(Dir.FullName, name);

        private readonly Lazy<string> _pin;
        private readonly Lazy<string> _store;

        public Files()
        {
            _pin = new Lazy<string>(MakeRoster);
            _store = new Lazy<string>(() => MakeStoreAsync().GetAwaiter().GetResult());
        }

        /// <summary>The authority pin (SUITE:HEX) of roster.json, signed by the CLI; roster-v1.json is its first version.</summary>
        public string Pin => _pin.Value;

        /// <summary>A schema-2 SQLite store with 3 charged rounds and 4 released models.</summary>
        public string Store => _store.Value;

        private string MakeRoster()
        {
            string init = Cli.Ok("roster", "init", "--consortium", "demo", "--authority-key", P("auth.key"), "--draft", P("draft.json"));
            string pin = init.Split('\n').Single(l => l.StartsWith("authority pin", StringComparison.Ordinal)).Split(' ')[^1].Trim();
            Cli.Ok("keygen", "identity", "--out", Dir.FullName, "--name", "a");
            Cli.Ok("keygen", "identity", "--out", Dir.FullName, "--name", "b", "--suite", "ecdsa-p256-sha256");
            Cli.Ok("keygen", "identity", "--out", Dir.FullName, "--name", "c");
            Cli.Ok("keygen", "identity", "--out", Dir.FullName, "--name", "d");
            Cli.Ok("roster", "add", "--draft", P("draft.json"), "--organisation", "bank-a", "--client-id", "a", "--public-key-file", P("a.pub"));
            Cli.Ok("roster", "add", "--draft", P("draft.json"), "--organisation", "hosp-b", "--client-id", "b", "--public-key-file", P("b.pub"));
            Cli.Ok("roster", "sign", "--draft", P("draft.json"), "--authority-key", P("auth.key"), "--out", P("roster.json"));
            File.Copy(P("roster.json"), P("roster-v1.json"));
            Cli.Ok("roster", "add", "--draft", P("draft.json"), "--organisation", "ins-c", "--client-id", "c", "--public-key-file", P("c.pub"));
            Cli.Ok("roster", "revoke", "--draft", P("draft.json"), "--organisation", "bank-a", "--client-id", "a");
            Cli.Ok("roster", "sign", "--draft", P("draft.json"), "--authority-key", P("auth.key"), "--out", P("roster.json"));
            return pin;
        }

        private async Task<string> MakeStoreAsync()
        {
            string db = P("coordinator.db");
            await using var store = new SqliteCoordinatorStore(db);
            await store.InitializeAsync();
            DateTimeOffset t = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
            await store.AppendModelAsync(0, [0], "0", t);
            for (int i = 1; i <= 3; i++)
            {
                await store.AppendLedgerAsync(new LedgerRecord(0, "round-" + i, t.AddMinutes(i), "{\"sigma\":2.5}", 5 + i, 0.5, 0.5 * i));
                await store.AppendModelAsync(i, [(byte)i, 2, 3], (0.5 * i).ToString("R", System.Globalization.CultureInfo.InvariantCulture), t.AddMinutes(i).AddSeconds(1));
            }

            return db;
        }

        public void Dispose() => Dir.Delete(recursive: true);
    }

    /// <summary>Tampering applied to the CLI's signed roster (JSON edits), the pin used, the checkpoint, and the refusal both verifiers must name.</summary>
    public static TheoryData<string, string> RosterCases() => new()
    {
        { "as signed", "None" },
        { "member key replaced", "BadSignature" },
        { "signature bit flipped", "BadSignature" },
        { "version bumped", "BadSignature" },
        { "validity extended", "BadSignature" },
        { "revocation removed", "BadSignature" },
        { "unknown field", "Malformed" },
        { "uppercase hex", "Malformed" },
        { "another authority pinned", "UnknownAuthority" },
        { "older version after the newer", "Rollback" },
        { "revoked member asked for", "Revoked" },
    };

    [Theory]
    [MemberData(nameof(RosterCases))]
    public void The_independent_verifier_agrees_with_the_product_on_a_CLI_signed_roster(string tampering, string refusal)
    {
        if (PythonReferenceTests.Python.Require() is not { } python)
        {
            return;
        }

        string pin = _files.Pin;
        string path = _files.P("roster.json");
        var extra = new List<string>();
        JsonObject doc = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        JsonObject member = doc["members"]!.AsArray().Single(m => m!["suite"]!.GetValue<string>() == "ed25519")!.AsObject();
        switch (tampering)
        {
            case "member key replaced":
                member["publicKey"] = File.ReadAllText(_files.P("d.pub")).Split(' ')[1].Trim();
                break;
            case "signature bit flipped":
                string sig = doc["signature"]!.GetValue<string>();
                doc["signature"] = (sig[0] == '0' ? "1" : "0") + sig[1..];
                break;
            case "version bumped":
                doc["version"] = doc["version"]!.GetValue<long>() + 1;
                break;
            case "validity extended":
                doc["notAfter"] = "2099-01-01T00:00:00Z";
                break;
            case "revocation removed":
                doc["revocations"] = new JsonArray();
                break;
            case "unknown field":
                doc["comment"] = "hello";
                break;
            case "uppercase hex":
                member["publicKey"] = member["publicKey"]!.GetValue<string>().ToUpperInvariant();
                break;
            case "another authority pinned":
                pin = "ed25519:" + File.ReadAllText(_files.P("d.pub")).Split(' ')[1].Trim();
                break;
            case "older version after the newer":
                (_, string accepted) = Cli.Run("roster", "verify", "--roster", path, "--authority", pin);
                extra.AddRange(["--last-seen", accepted.Split('\n').Single(l => l.StartsWith("checkpoint", StringComparison.Ordinal)).Split(' ')[^1].Trim()]);
                path = _files.P("roster-v1.json");
                break;
            case "revoked member asked for":
                extra.AddRange(["--member", "bank-a/a"]);
                break;
        }

        if (tampering is not ("as signed" or "another authority pinned" or "older version after the newer" or "revoked member asked for"))
        {
            path = _files.P($"roster-{tampering.Replace(' ', '-')}.json");
            File.WriteAllText(path, doc.ToJsonString());
        }

        (int cliCode, string cliOut) = Cli.Run(["roster", "verify", "--roster", path, "--authority", pin, .. extra]);
        (int pyCode, string pyOut) = PythonReferenceTests.Python.Run(python, ["roster-verify", path, "--authority", pin, .. extra]);
        int expected = refusal == "None" ? 0 : 8;
        Assert.True(cliCode == expected, $"securefedrec roster verify exited {cliCode}:\n{cliOut}");
        Assert.True(pyCode == expected, $"sfr_ref.py roster-verify exited {pyCode}:\n{pyOut}");
        if (refusal == "None")
        {
            Assert.Contains("accepted: demo version 2, 2 members in 2 organisations", pyOut, StringComparison.Ordinal);
            string checkpoint(string output) => output.Split('\n').Single(l => l.StartsWith("checkpoint", StringComparison.Ordinal)).Split(' ')[^1].Trim();
            Assert.Equal(checkpoint(cliOut), checkpoint(pyOut));
        }
        else
        {
            Assert.Contains("refused: " + refusal + ":", cliOut, StringComparison.Ordinal);
            Assert.Contains("refused: " + refusal + ":", pyOut, StringComparison.Ordinal);
        }
    }

    /// <summary>SQL applied to a copy of the coordinator's store, and the row both verifiers must name (null: intact).</summary>
    public static TheoryData<string, string, string> StoreCases() => new()
    {
        { "as written", "", "" },
        { "a charged epsilon lowered", "UPDATE ledger SET round_epsilon = 0.25 WHERE sequence = 2", "ledger row 2" },
        { "a ledger row deleted", "DELETE FROM ledger WHERE sequence = 2", "ledger row 2" },
        { "the last ledger row deleted (anchored by the latest model)", "DELETE FROM ledger WHERE sequence = 3", "ledger row 3" },
        { "a model's epsilon text edited", "UPDATE models SET epsilon = '0.1' WHERE version = 3", "models row 3" },
        { "the latest model's bytes replaced", "UPDATE models SET model = X'000000' WHERE version = 4", "models row 4" },
        { "a model anchor lowered", "UPDATE models SET ledger_count = 1 WHERE version = 4", "models row 4" },
    };

    [Theory]
    [MemberData(nameof(StoreCases))]
    public void The_independent_verifier_agrees_with_the_product_on_a_coordinator_store(string tampering, string sql, string brokenAt)
    {
        if (PythonReferenceTests.Python.Require() is not { } python)
        {
            return;
        }

        string db = _files.P($"store-{Guid.NewGuid():N}.db");
        File.Copy(_files.Store, db);
        if (sql.Length > 0)
        {
            using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + db + ";Pooling=false");
            connection.Open();
            using Microsoft.Data.Sqlite.SqliteCommand command = connection.CreateCommand();
            command.CommandText = sql;
            Assert.Equal(1, command.ExecuteNonQuery());
        }

        (int cliCode, string cliOut) = Cli.Run("ledger", "verify", "--store", "sqlite:" + db);
        (int pyCode, string pyOut) = PythonReferenceTests.Python.Run(python, "ledger-verify", "--store", "sqlite:" + db);
        if (brokenAt.Length == 0)
        {
            Assert.True(cliCode == 0 && pyCode == 0, $"{tampering}: cli exit {cliCode}:\n{cliOut}\npython exit {pyCode}:\n{pyOut}");
            Assert.Contains("intact: 3 ledger rows, 4 model versions", cliOut, StringComparison.Ordinal);
            Assert.Contains("intact: 3 ledger rows, 4 model versions", pyOut, StringComparison.Ordinal);
        }
        else
        {
            Assert.True(cliCode == 8, $"{tampering}: securefedrec ledger verify exited {cliCode}:\n{cliOut}");
            Assert.True(pyCode == 8, $"{tampering}: sfr_ref.py ledger-verify exited {pyCode}:\n{pyOut}");
            Assert.Contains("BROKEN at " + brokenAt, cliOut, StringComparison.Ordinal);
            Assert.Contains("BROKEN at " + brokenAt, pyOut, StringComparison.Ordinal);
        }
    }

    /// <summary>The built securefedrec command, run as a process (its own deps.json).</summary>
    internal static class Cli
    {
        public static string Dll
        {
            get
            {
                string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
                string root = Path.GetDirectoryName(Path.GetDirectoryName(VectorReplayTests.VectorDirectory()))!;
                string dll = Path.Combine(root, "src", "SecureFedRec.Cli", "bin", configuration, "net10.0", "securefedrec.dll");
                Assert.True(File.Exists(dll), "securefedrec is not built: " + dll);
                return dll;
            }
        }

        public static (int Code, string Output) Run(params string[] args)
        {
            return ChildProcess.Run("dotnet", Dll, "securefedrec", args);
        }

        public static string Ok(params string[] args)
        {
            (int code, string output) = Run(args);
            Assert.True(code == 0, $"securefedrec {string.Join(' ', args)} exited {code}:\n{output}");
            return output;
        }
    }
}
