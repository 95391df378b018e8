using System.Text.Json;
using SecureFedRec.Client;
using SecureFedRec.Coordinator.Storage;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Wire.Client;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Integration.Tests;

/// <summary>The coordinator and clients as separate <c>securefedrec</c> processes over TLS on loopback.</summary>
public sealed class ProcessTests
{
    internal static string WriteCoordinatorConfig(Federation federation, int cohort, double phaseSeconds)
    {
        string path = Path.Combine(federation.Directory, "coordinator.json");
        Dictionary<string, object> coordinator = federation.AdmissionSettings();
        coordinator["Port"] = 0;
        coordinator["CertificatePath"] = "coordinator.crt";
        coordinator["CertificateKeyPath"] = "coordinator.key";
        coordinator["Store"] = "coordinator.db";
        coordinator["Rounds"] = federation.UsesRoster
            ? (object)new { CohortSize = cohort, MinClients = cohort, Dimension = 4, PhaseSeconds = phaseSeconds, RecruitSeconds = 1 }
            : new { CohortSize = cohort, MinClients = cohort, Dimension = 4, PhaseSeconds = phaseSeconds, RecruitSeconds = 1, ThreatMode = "HonestButCurious", AllowHonestButCurious = true };
        File.WriteAllText(path, JsonSerializer.Serialize(new { Coordinator = coordinator }));
        return path;
    }

    /// <summary>Journaled client messages of a round, read from the live SQLite store (WAL: readers do not block the writer).</summary>
    private static long JournalMessages(string db, long round)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using Microsoft.Data.Sqlite.SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM round_journal WHERE round_id = $round AND kind = 'message'";
        command.Parameters.AddWithValue("$round", round);
        return (long)command.ExecuteScalar()!;
    }

    private static string WriteClientConfig(Federation federation, int index, Uri coordinator)
    {
        File.WriteAllText(Path.Combine(federation.Directory, $"data-{index}.json"), $"[0.{index + 1}, 0.2, -0.1, 0.0]");
        string path = Path.Combine(federation.Directory, $"client-{index}.json");
        Dictionary<string, object> client = federation.IdentitySettings(index);
        client["Coordinator"] = coordinator.ToString();
        client["TrustedCertificatePath"] = "coordinator.crt";
        client["LedgerPath"] = $"client-{index}.process-ledger";
        client["DisplayName"] = $"institution {index}";
        client["DataPath"] = $"data-{index}.json";
        client["Policy"] = new { MaxTotalEpsilon = 100, MinCohortSize = 2, MinThreshold = 2, MinDistinctOrganisations = 2 };
        File.WriteAllText(path, JsonSerializer.Serialize(new { Client = client }));
        return path;
    }

    [Fact]
    public async Task A_coordinator_and_three_client_processes_complete_a_round()
    {
        await using var federation = new Federation(clients: 3);
        using CliProcess coordinator = CliProcess.Start("coordinator", "--config", WriteCoordinatorConfig(federation, cohort: 3, phaseSeconds: 20));
        Uri address = await coordinator.ListeningAsync(TimeSpan.FromSeconds(60));
        Assert.Equal("https", address.Scheme);

        var clients = Enumerable.Range(0, 3).Select(i => CliProcess.Start("client", "--config", WriteClientConfig(federation, i, address))).ToList();
        try
        {
            int[] codes = await Task.WhenAll(clients.Select(c => c.WaitAsync(TimeSpan.FromSeconds(90))));
            for (int i = 0; i < clients.Count; i++)
            {
                Assert.True(codes[i] == 0, $"client {i} exited {codes[i]}:\n{clients[i].Output}\ncoordinator:\n{coordinator.Output}");
                Assert.Contains(": Completed;", clients[i].Output, StringComparison.Ordinal);
                Assert.Contains("model version 2 (round 1", clients[i].Output, StringComparison.Ordinal);
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_coordinator_killed_mid_round_whose_clients_are_gone_resumes_it_aborts_it_at_its_deadlines_and_loses_nothing()
    {
        await using var federation = new Federation(clients: 3, roster: false);
        string config = WriteCoordinatorConfig(federation, cohort: 3, phaseSeconds: 30);
        string db = Path.Combine(federation.Directory, "coordinator.db");

        // Round 1 completes.
        Uri address;
        using (CliProcess first = CliProcess.Start("coordinator", "--config", config))
        {
            address = await first.ListeningAsync(TimeSpan.FromSeconds(60));
            var clients = Enumerable.Range(0, 3).Select(i => federation.Client(i, address)).ToList();
            await Task.WhenAll(clients.Select(c => c.EnrolAsync()));
            ClientRoundResult[] round1 = await Task.WhenAll(clients.Select(c => c.RunRoundAsync(ctx => new double[ctx.Model.Values.Length])));
            Assert.All(round1, r => Assert.Equal(RoundOutcomeKind.Completed, r.Kind));

            // Round 2: two clients take part, the third joins but never answers, so the round waits in its first phase; kill -9.
            var stuck = clients.Take(2).Select(c => c.RunRoundAsync(ctx => new double[ctx.Model.Values.Length])).ToList();
            using var silent = new CoordinatorChannel(address, new CoordinatorChannelOptions { Pin = CertificatePin.ForCertificate(federation.PublicCertificate), Authenticator = federation.Identities[2] });
            DateTime giveUp = DateTime.UtcNow.AddSeconds(30);
            JoinRoundResponse joined;
            do
            {
                Assert.True(DateTime.UtcNow < giveUp, "round 2 did not open");
                await Task.Delay(50);
                joined = await silent.Rounds.JoinRoundAsync(new JoinRoundRequest());
            }
            while (joined.Outcome != JoinRoundResponse.Types.Outcome.Selected);
            Assert.Equal(2UL, joined.Round.RoundId);
            GetStatusResponse status = await silent.Status.GetStatusAsync(new GetStatusRequest());
            Assert.Equal((2UL, Phase.AdvertiseKeys), (status.CurrentRound, status.CurrentPhase));

            // The two taking part have advertised their keys (journaled) before the kill.
            DateTime journaled = DateTime.UtcNow.AddSeconds(30);
            while (JournalMessages(db, 2) < 2)
            {
                Assert.True(DateTime.UtcNow < journaled, "the two clients' AdvertiseKeys messages were not journaled");
                await Task.Delay(50);
            }

            first.Kill();
            foreach (Task<ClientRoundResult> t in stuck)
            {
                await Assert.ThrowsAnyAsync<Exception>(() => t);
            }

            clients.ForEach(c => c.Dispose());
        }

        // Nothing released by round 1 is lost; round 2 is still open in the store, with its journal (plan and two messages).
        await using (var store = new SqliteCoordinatorStore(db))
        {
            Assert.Equal([1L, 2L], (await store.ListModelsAsync()).Select(m => m.Version));
            Assert.Equal(["round-1"], (await store.ListLedgerAsync()).Select(e => e.RoundId));
            Assert.Equal([2L], (await store.ListOpenRoundsAsync()).Select(r => r.RoundId));
            Assert.Equal(["open", "message", "message"], (await store.ListJournalAsync(2)).Select(e => e.Kind));
        }

        // Restart on the same store (short deadlines): round 2 is resumed, and with its clients gone it aborts at its
        // re-armed deadlines, nothing charged; then round 3 completes.
        config = WriteCoordinatorConfig(federation, cohort: 3, phaseSeconds: 2);
        using CliProcess second = CliProcess.Start("coordinator", "--config", config);
        address = await second.ListeningAsync(TimeSpan.FromSeconds(60));
        await using (var store = new SqliteCoordinatorStore(db))
        {
            DateTime until = DateTime.UtcNow.AddSeconds(20);
            while ((await store.GetRoundAsync(2))!.Outcome is null)
            {
                Assert.True(DateTime.UtcNow < until, "round 2 did not end:\n" + second.Output);
                await Task.Delay(100);
            }
        }

        Assert.Contains("Round 2 was open at start-up; resumed from its journal (2 entries) in phase AdvertiseKeys", second.Output, StringComparison.Ordinal);
        var again = Enumerable.Range(0, 3).Select(i => federation.Client(i, address)).ToList();
        try
        {
            await Task.WhenAll(again.Select(c => c.EnrolAsync()));
            ClientRoundResult[] round3 = await Task.WhenAll(again.Select(c => c.RunRoundAsync(ctx => new double[ctx.Model.Values.Length])));
            Assert.All(round3, r => Assert.Equal((3UL, RoundOutcomeKind.Completed), (r.RoundId, r.Kind)));
            ModelSnapshot model = await again[0].GetModelAsync();
            Assert.Equal((3UL, 3UL), (model.Version, model.RoundId));
        }
        finally
        {
            again.ForEach(c => c.Dispose());
        }

        second.Kill();
        await using (var store = new SqliteCoordinatorStore(db))
        {
            Assert.Equal([1L, 2L, 3L], (await store.ListModelsAsync()).Select(m => m.Version));
            Assert.Equal(["round-1", "round-3"], (await store.ListLedgerAsync()).Select(e => e.RoundId));
            RoundRecord aborted = (await store.GetRoundAsync(2))!;
            Assert.Equal("AbortedTooFewClients", aborted.Outcome);
            Assert.Empty(await store.ListJournalAsync(2));
            Assert.Empty(await store.ListOpenRoundsAsync());
        }
    }
}
