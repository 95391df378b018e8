using SecureFedRec.Client;
using SecureFedRec.Coordinator;
using SecureFedRec.Coordinator.Storage;
using Grpc.Core;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Integration.Tests;

/// <summary>Coordinator on a real Kestrel over TLS on 127.0.0.1 and in-process clients over HTTP/2.</summary>
public sealed class LoopbackFederationTests
{
    private static double[] LocalUpdate(int index, RoundContext context)
    {
        // Each institution pulls the model towards its own local vector; the update is clipped by the mechanism.
        double[] target = Enumerable.Range(0, context.Model.Values.Length).Select(j => 0.05 * ((index % 3) + 1)).ToArray();
        return target.Select((t, j) => t - context.Model.Values[j]).ToArray();
    }

    [Fact]
    public async Task Ten_clients_complete_two_rounds_over_tls_with_clients_killed_mid_round()
    {
        await using var federation = new Federation(clients: 12);
        CoordinatorOptions options = federation.Options(r =>
        {
            r.CohortSize = 12;
            r.MinClients = 8;
            r.PhaseSeconds = 5;
        });
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(options);
        Assert.Equal("https", host.Address.Scheme);

        var clients = Enumerable.Range(0, 12).Select(i => federation.Client(i, host.Address)).ToList();
        try
        {
            await Task.WhenAll(clients.Select(c => c.EnrolAsync()));

            // Round 1: all 12 join; clients 9, 10, 11 are killed once the round reaches its masked-input phase.
            using var kill = new CancellationTokenSource();
            var round1 = clients.Select((c, i) => i >= 9
                ? RunUntilKilledAsync(c, i, kill.Token)
                : RunAsync(c, i)).ToList();
            await WaitForPhaseAsync(host, Phase.MaskedInput, TimeSpan.FromSeconds(30));
            await kill.CancelAsync();
            ClientRoundResult?[] results1 = await Task.WhenAll(round1);
            Assert.All(results1.Take(9), r => Assert.Equal(RoundOutcomeKind.Completed, r!.Kind));
            Assert.All(results1.Skip(9), Assert.Null);

            // Round 2: the 9 survivors only.
            ClientRoundResult[] results2 = await Task.WhenAll(clients.Take(9).Select((c, i) => c.RunRoundAsync(ctx => LocalUpdate(i, ctx))));
            Assert.All(results2, r => Assert.Equal(RoundOutcomeKind.Completed, r.Kind));
            Assert.NotEqual(results1[0]!.RoundId, results2[0].RoundId);

            ModelSnapshot model = await clients[0].GetModelAsync();
            Assert.Equal(3UL, model.Version);
            Assert.Equal(results2[0].RoundId, model.RoundId);
            Assert.True(model.TotalEpsilon > model.RoundEpsilon && model.RoundEpsilon > 0);
            // Both rounds were charged to every surviving client's local ledger when it sent its masked input. The client
            // killed in the masked-input phase is charged if its masked input had been handed over, else its reservation
            // was released (a kill of the process would have left it pending: charged).
            Assert.Equal(2, clients[0].Ledger.Entries.Count);
            Privacy.Ledger.Reservation killed = Assert.Single(((Privacy.Ledger.IDisclosureLedger)clients[10].Ledger).Reservations);
            Assert.Contains(killed.State, new[] { Privacy.Ledger.ReservationState.Disclosed, Privacy.Ledger.ReservationState.Released });
            Assert.Equal(killed.State == Privacy.Ledger.ReservationState.Disclosed ? 1 : 0, clients[10].Ledger.Entries.Count);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_round_completes_with_the_coordinator_on_postgresql_and_survives_a_restart()
    {
        if (!Prerequisites.RequirePostgres())
        {
            return;
        }

        string schema = "sfr_e2e_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = new Npgsql.NpgsqlConnection(Prerequisites.PostgresConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new Npgsql.NpgsqlCommand("CREATE SCHEMA " + schema, admin);
            await create.ExecuteNonQueryAsync();
        }

        try
        {
            await using var federation = new Federation(clients: 3);
            CoordinatorOptions options = federation.Options(r => r.MinClients = 3);
            options.StoreProvider = "postgres";
            options.Store = Prerequisites.PostgresConnectionString + ";Search Path=" + schema;
            await using (CoordinatorHost host = await CoordinatorHost.StartAsync(options))
            {
                var clients = Enumerable.Range(0, 3).Select(i => federation.Client(i, host.Address)).ToList();
                await Task.WhenAll(clients.Select(c => c.EnrolAsync()));
                ClientRoundResult[] results = await Task.WhenAll(clients.Select((c, i) => c.RunRoundAsync(ctx => LocalUpdate(i, ctx))));
                Assert.All(results, r => Assert.Equal(RoundOutcomeKind.Completed, r.Kind));
                clients.ForEach(c => c.Dispose());
            }

            await using CoordinatorHost restarted = await CoordinatorHost.StartAsync(options);
            Assert.Equal(2L, restarted.Engine.ModelVersion);
            await using var store = new PostgresCoordinatorStore(options.Store);
            Assert.Equal(["round-1"], (await store.ListLedgerAsync()).Select(e => e.RoundId));
            Assert.Equal(3, (await store.ListEnrolmentsAsync()).Count);
        }
        finally
        {
            await using var admin = new Npgsql.NpgsqlConnection(Prerequisites.PostgresConnectionString);
            await admin.OpenAsync();
            await using var drop = new Npgsql.NpgsqlCommand("DROP SCHEMA IF EXISTS " + schema + " CASCADE", admin);
            await drop.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task An_unenrolled_client_gets_permission_denied_and_nothing_else()
    {
        await using var federation = new Federation(clients: 2, allowListed: 1);
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(federation.Options());
        using FederationClient outsider = federation.Client(1, host.Address);
        // The SDK sees it is not in the verified roster and sends no enrolment at all.
        var self = await Assert.ThrowsAsync<Roster.RosterRefusedException>(() => outsider.EnrolAsync());
        Assert.Equal(Roster.RosterRefusal.NotInRoster, self.Refusal);
        // The coordinator refuses its signed calls, with the one fixed denial.
        var model = await Assert.ThrowsAsync<RpcException>(() => outsider.GetModelAsync());
        Assert.Equal("Permission denied.", model.Status.Detail);
        Assert.Equal(StatusCode.PermissionDenied, model.StatusCode);

        using FederationClient insider = federation.Client(0, host.Address);
        await insider.EnrolAsync();
        Assert.Equal(1UL, (await insider.GetModelAsync()).Version);
    }

    private static async Task<ClientRoundResult?> RunAsync(FederationClient client, int index) =>
        await client.RunRoundAsync(ctx => LocalUpdate(index, ctx));

    private static async Task<ClientRoundResult?> RunUntilKilledAsync(FederationClient client, int index, CancellationToken kill)
    {
        try
        {
            return await client.RunRoundAsync(ctx => LocalUpdate(index, ctx), kill);
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            return null;
        }
    }

    private static async Task WaitForPhaseAsync(CoordinatorHost host, Phase phase, TimeSpan timeout)
    {
        DateTime giveUp = DateTime.UtcNow + timeout;
        while (host.Engine.Current.Phase < phase)
        {
            Assert.True(DateTime.UtcNow < giveUp, $"The round did not reach {phase}; it is in {host.Engine.Current.Phase}.");
            await Task.Delay(20);
        }
    }
}
