using System.Net;
using System.Net.Sockets;
using SecureFedRec.Client;
using SecureFedRec.Coordinator;

namespace SecureFedRec.Integration.Tests;

/// <summary>
/// Clients that wait: SDK clients with the default patience (keep trying) against a real Kestrel coordinator on
/// loopback that is not there yet, then goes away between rounds and comes back on the same port and store.
/// </summary>
public sealed class CoordinatorRestartTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(40);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static double[] Update(RoundContext context) => context.Model.Values.Select(v => 0.1 - v).ToArray();

    [Fact]
    public async Task A_client_started_before_its_coordinator_joins_and_a_coordinator_restarted_between_rounds_is_rejoined()
    {
        await using var federation = new Federation(clients: 3);
        CoordinatorOptions options = federation.Options(r =>
        {
            r.CohortSize = 3;
            r.MinClients = 3;
            r.PhaseSeconds = 10;
        });
        options.Port = FreePort();
        var address = new Uri($"https://127.0.0.1:{options.Port}/");
        using var log = new EventCapture();
        var clients = Enumerable.Range(0, 3)
            .Select(i => federation.Client(i, address, patience: Timeout.InfiniteTimeSpan, logger: log.CreateLogger("SecureFedRec.Client"))).ToList();
        try
        {
            // Nothing listens yet: enrolment and the first round wait.
            Task<ClientRoundResult>[] round1 = clients.Select(async c =>
            {
                await c.EnrolAsync();
                return await c.RunRoundAsync(Update);
            }).ToArray();
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            Assert.All(round1, t => Assert.False(t.IsCompleted, t.Exception?.ToString()));
            Assert.NotEmpty(log.Of(3007)); // "Waiting for the coordinator at …"

            ClientRoundResult[] results1;
            await using (CoordinatorHost host = await CoordinatorHost.StartAsync(options))
            {
                Assert.Equal(address, host.Address);
                results1 = await Task.WhenAll(round1).WaitAsync(Bound);
            }

            Assert.All(results1, r => Assert.Equal((1UL, RoundOutcomeKind.Completed), (r.RoundId, r.Kind)));
            Assert.NotEmpty(log.Of(3008)); // "… answered … again after N attempts"

            // The coordinator is gone between rounds; the next round is asked for while it is down.
            int waitingBefore = log.Of(3007).Count;
            Task<ClientRoundResult>[] round2 = clients.Select(c => c.RunRoundAsync(Update)).ToArray();
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            Assert.All(round2, t => Assert.False(t.IsCompleted, t.Exception?.ToString()));
            Assert.True(log.Of(3007).Count > waitingBefore);

            await using (CoordinatorHost again = await CoordinatorHost.StartAsync(options))
            {
                ClientRoundResult[] results2 = await Task.WhenAll(round2).WaitAsync(Bound);
                Assert.All(results2, r => Assert.Equal((2UL, RoundOutcomeKind.Completed), (r.RoundId, r.Kind)));
                ModelSnapshot model = await clients[0].GetModelAsync();
                Assert.Equal((3UL, 2UL), (model.Version, model.RoundId));
            }

            Assert.All(clients, c => Assert.Equal(2, c.Ledger.Entries.Count));
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_client_with_a_finite_patience_gives_up_with_a_message_saying_so()
    {
        await using var federation = new Federation(clients: 1);
        var address = new Uri($"https://127.0.0.1:{FreePort()}/");
        using FederationClient client = federation.Client(0, address, patience: TimeSpan.FromSeconds(1));
        var started = System.Diagnostics.Stopwatch.StartNew();
        Grpc.Core.RpcException ex = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => client.EnrolAsync());
        Assert.Equal(Grpc.Core.StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("(patience 1.0 s)", ex.Status.Detail, StringComparison.Ordinal);
        Assert.InRange(started.Elapsed.TotalSeconds, 0.9, 20);
    }
}
