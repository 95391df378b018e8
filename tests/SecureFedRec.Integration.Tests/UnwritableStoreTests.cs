using System.Diagnostics;
using SecureFedRec.Coordinator;
using SecureFedRec.Coordinator.Storage;
using SecureFedRec.Privacy;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds;
using SecureFedRec.Rounds.Client;
using SecureFedRec.Wire;
using SecureFedRec.Wire.Client;

namespace SecureFedRec.Integration.Tests;

/// <summary>
/// Files the kernel refuses to write (<c>chattr +i</c>: even root's writes, and writes through descriptors already open,
/// fail with EPERM): a real "SQLite made unwritable" outage under a running coordinator.
/// </summary>
internal static class Immutable
{
    private static readonly Lazy<string?> Problem = new(() =>
    {
        string probe = Path.Combine(Path.GetTempPath(), "sfr-immutable-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(probe, "x");
        try
        {
            if (Chattr("+i", probe) is { } failed)
            {
                return failed;
            }

            try
            {
                File.AppendAllText(probe, "y");
                return "chattr +i did not make the file unwritable";
            }
            catch (UnauthorizedAccessException)
            {
                return null;
            }
            catch (IOException)
            {
                return null;
            }
        }
        finally
        {
            Chattr("-i", probe);
            File.Delete(probe);
        }
    });

    /// <summary>Whether immutable files can be made here; fails in CI when they cannot (the outage tests must run there).</summary>
    public static bool Require()
    {
        if (Problem.Value is null)
        {
            return true;
        }

        string message = "Cannot make files immutable (chattr +i needs CAP_LINUX_IMMUTABLE on ext4/xfs): " + Problem.Value;
        if (Prerequisites.InCi)
        {
            Assert.Fail(message);
        }

        Console.Error.WriteLine("SKIPPED (not CI): " + message);
        return false;
    }

    /// <summary>
    /// The SQLite store's database and WAL files (those that exist). Not the <c>-shm</c> index: SQLite maps it into memory,
    /// and a store through a mapping of an immutable file is a SIGBUS, not an I/O error (a dead process, not an outage).
    /// </summary>
    public static string[] StoreFiles(string db) => new[] { db, db + "-wal" }.Where(File.Exists).ToArray();

    public static void Set(bool immutable, params string[] paths)
    {
        foreach (string path in paths)
        {
            Assert.Null(Chattr(immutable ? "+i" : "-i", path));
        }
    }

    private static string? Chattr(string flag, string path)
    {
        try
        {
            using Process process = Process.Start(new ProcessStartInfo("chattr", [flag, path]) { RedirectStandardError = true })!;
            string error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? null : "chattr " + flag + ": " + error.Trim();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return "no chattr: " + ex.Message;
        }
    }
}

/// <summary>
/// The SQLite store made unwritable mid-round (every write fails; reads go on): the round waits — submissions end
/// UNAVAILABLE and are retried, the phase is not published — and completes once the store is writable again, charged
/// once; start-up on an unwritable store that has a round to settle is one line on standard error and exit code 7.
/// </summary>
public sealed class UnwritableStoreTests
{
    [Theory]
    [InlineData(Phase.ShareKeys)]
    [InlineData(Phase.Unmasking)]
    public async Task A_sqlite_store_made_unwritable_mid_round_delays_the_round_which_completes_once_it_is_writable(Phase during)
    {
        if (!Immutable.Require())
        {
            return;
        }

        await using var federation = new Federation(clients: 3, roster: false);
        CoordinatorOptions options = federation.Options(r =>
        {
            r.CohortSize = 3;
            r.MinClients = 3;
            r.PhaseSeconds = 60;
        });
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(options, null);
        var channels = new List<CoordinatorChannel>();
        string[] files = [];
        try
        {
            var transports = new List<HoldingTransport>();
            var runs = new List<Task<ClientRoundResult>>();
            for (int i = 0; i < 3; i++)
            {
                using (var enrolling = federation.Client(i, host.Address))
                {
                    await enrolling.EnrolAsync();
                }

                var channel = new CoordinatorChannel(host.Address, new CoordinatorChannelOptions
                {
                    Pin = CertificatePin.ForCertificate(federation.PublicCertificate),
                    Authenticator = federation.Identities[i],
                    MaxAttempts = 0, // patience: keep trying (bounded by the test's own timeout)
                    InitialBackoff = TimeSpan.FromMilliseconds(100),
                    MaxBackoff = TimeSpan.FromMilliseconds(400),
                });
                channels.Add(channel);
                ClientPrivacyPolicy policy = Federation.Policy;
                int index = i;
                var round = new ClientRound(new ClientRoundOptions
                {
                    Guard = new ClientPrivacyGuard(policy, new MemoryPrivacyLedger(new PrivacyBudget(policy.MaxTotalEpsilon, policy.Delta))),
                    UpdateSource = (request, _) => Task.FromResult(LocalUpdate.FromTotal(request.Model.Values.Select(v => 0.05 * (index + 1)).ToArray())),
                });
                var transport = new HoldingTransport(new GrpcRoundTransport(channel), i == 0 ? during : Phase.Unspecified);
                transports.Add(transport);
                runs.Add(Task.Run(() => round.RunAsync(transport)));
            }

            await transports[0].Reached.WaitAsync(TimeSpan.FromSeconds(30));
            await Task.Delay(500);
            files = Immutable.StoreFiles(options.Store);
            Immutable.Set(true, files);
            transports[0].Release();

            // While the store cannot be written, the held client's message is not acknowledged and the next phase is not
            // published (in memory the session may have closed the phase; the store still says it is open).
            await Task.Delay(2500);
            await using (var reader = new SqliteCoordinatorStore(options.Store))
            {
                Assert.Equal(during.ToString(), (await reader.GetRoundAsync(1))!.Phase);
            }

            Assert.All(runs, r => Assert.False(r.IsCompleted));
            Immutable.Set(false, files);
            files = [];

            ClientRoundResult[] results = await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(90));
            Assert.All(results, r => Assert.Equal((ClientRoundOutcome.Completed, 1UL), (r.Outcome, r.RoundId)));
            Assert.Equal(2, host.Engine.ModelVersion);
        }
        finally
        {
            Immutable.Set(false, files);
            channels.ForEach(c => c.Dispose());
        }

        await using var store = new SqliteCoordinatorStore(options.Store);
        Assert.Equal(["round-1"], (await store.ListLedgerAsync()).Select(e => e.RoundId));
        Assert.Equal([1L, 2L], (await store.ListModelsAsync()).Select(m => m.Version));
        Assert.Equal("Completed", (await store.GetRoundAsync(1))!.Outcome);
        Assert.True((await store.VerifyLedgerAsync(allModelBytes: true)).Intact);
    }

    [Fact]
    public async Task Start_up_on_an_unwritable_store_with_a_round_to_settle_is_one_line_and_exit_code_7()
    {
        if (!Immutable.Require())
        {
            return;
        }

        await using var federation = new Federation(clients: 1);
        string config = ProcessTests.WriteCoordinatorConfig(federation, cohort: 3, phaseSeconds: 5);
        string db = Path.Combine(federation.Directory, "coordinator.db");
        await using (var store = new SqliteCoordinatorStore(db))
        {
            await store.InitializeAsync();
            await store.AppendModelAsync(0, RoundCodec.EncodeModel(new double[4]), "0", DateTimeOffset.UtcNow);
            await store.CreateRoundAsync(1, "{}", "ShareKeys", DateTimeOffset.UtcNow);
        }

        string[] files = Immutable.StoreFiles(db);
        Immutable.Set(true, files);
        try
        {
            using CliProcess coordinator = CliProcess.Start("coordinator", "--config", config);
            int code = await coordinator.WaitAsync(TimeSpan.FromSeconds(60));
            string[] lines = coordinator.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.True(code == 7, $"exit {code}:\n{coordinator.Output}");
            string error = Assert.Single(lines, l => l.StartsWith("error:", StringComparison.Ordinal));
            Assert.Contains("readonly", error, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(lines, l => l.StartsWith("at ", StringComparison.Ordinal));
            Assert.DoesNotContain("aborted", coordinator.Output, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            Immutable.Set(false, files);
        }

        // Nothing was written: the round is still open, to be settled by the next start.
        await using var reopened = new SqliteCoordinatorStore(db);
        Assert.Equal([1L], (await reopened.ListOpenRoundsAsync()).Select(r => r.RoundId));
    }
}
