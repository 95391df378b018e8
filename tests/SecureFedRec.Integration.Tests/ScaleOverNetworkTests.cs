using Microsoft.Extensions.Logging.Abstractions;
using SecureFedRec.Client;
using SecureFedRec.Coordinator;
using SecureFedRec.Coordinator.Storage;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Transport;
using GraphKind = SecureFedRec.Protocol.Graph.GraphKind;

namespace SecureFedRec.Integration.Tests;

/// <summary>Graph choice, deadlines and late clients of the coordinator: at the engine, then over TLS on loopback.</summary>
public sealed class ScaleOverNetworkTests
{
    private static double[] LocalUpdate(int index, RoundContext context) =>
        Enumerable.Range(0, context.Model.Values.Length).Select(j => (0.05 * ((index % 3) + 1)) - context.Model.Values[j]).ToArray();

    // A Harary graph's threshold is a fraction of a neighbourhood, not of the cohort: these clients accept it.
    private static FederationClient Client(Federation federation, int index, Uri coordinator) =>
        new(federation.ClientOptions(index, coordinator, Federation.Policy with { MinThresholdFraction = 0.1 }));

    [Theory]
    [InlineData("Auto", 4, GraphKind.Harary)]
    [InlineData("Auto", 5, GraphKind.Full)]
    [InlineData("Full", 2, GraphKind.Full)]
    [InlineData("Harary", 500, GraphKind.Harary)]
    public async Task The_engine_plans_a_cohort_at_or_above_the_threshold_on_a_Harary_graph(string graph, int from, GraphKind expected)
    {
        string dir = Directory.CreateTempSubdirectory("sfr-scale-").FullName;
        try
        {
            var options = new CoordinatorOptions { InsecureDev = true };
            options.Rounds.CohortSize = 4;
            options.Rounds.MinClients = 4;
            options.Rounds.Dimension = 4;
            options.Rounds.RecruitSeconds = 0;
            options.Rounds.Graph = graph;
            options.Rounds.HararyFromClients = from;
            options.Rounds.PhaseSeconds = 30;
            options.Rounds.PhaseSecondsPerClient = 2;
            options.Rounds.ShareKeysSeconds = 7;
            options.Rounds.ThreatMode = "HonestButCurious"; // no roster identities here: the planner's graph choice is what is tested
            options.Rounds.AllowHonestButCurious = true;
            options.Validate();
            await using var store = new SqliteCoordinatorStore(Path.Combine(dir, "c.db"));
            await store.InitializeAsync();
            StorePrivacyLedger ledger = await StorePrivacyLedger.OpenAsync(store, new PrivacyBudget(10, 1e-5));
            var engine = new RoundEngine(options, store, ledger, new CoordinatorMetrics(), NullLogger.Instance, TimeProvider.System);
            await engine.RecoverAsync(CancellationToken.None);
            Assert.Equal(TimeSpan.FromSeconds(38), engine.Host.Options.TimeoutOf(Phase.AdvertiseKeys, 4));
            Assert.Equal(TimeSpan.FromSeconds(7), engine.Host.Options.TimeoutOf(Phase.ShareKeys, 4));
            for (int i = 0; i < 4; i++)
            {
                Assert.Equal(JoinOutcome.Wait, engine.Service.Join("client-" + i).Outcome);
            }

            await engine.TickAsync(CancellationToken.None);
            JoinReply selected = engine.Service.Join("client-0");
            Assert.Equal(JoinOutcome.Selected, selected.Outcome);
            Assert.Equal(expected, engine.Host.LastPlan!.Graph);
            Assert.Equal(expected == GraphKind.Harary ? Protocol.Wire.GraphKind.Harary : Protocol.Wire.GraphKind.Full,
                selected.Invitation!.Opening.BeginRound.Parameters.GraphKind);
            Assert.InRange(selected.Invitation.Deadline - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(38));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("Harary", 0.5, 0.5)]
    [InlineData("Auto", 0.6, 0.35)]
    public void Fractions_without_a_secure_graph_for_the_cohort_are_refused_at_start_up(string graph, double gamma, double delta)
    {
        var rounds = new RoundOptions { CohortSize = 600, MinClients = 3, Graph = graph, CollusionFraction = gamma, DropoutFraction = delta };
        var ex = Assert.Throws<ArgumentException>(rounds.Validate);
        Assert.StartsWith("Coordinator:Rounds:DropoutFraction: with CollusionFraction", ex.Message, StringComparison.Ordinal);
        rounds.Graph = "Full";
        rounds.Validate();
    }

    [Fact]
    public async Task A_networked_round_over_tls_completes_on_a_Harary_graph()
    {
        await using var federation = new Federation(clients: 6);
        CoordinatorOptions options = federation.Options(r =>
        {
            r.CohortSize = 6;
            r.MinClients = 6;
            r.HararyFromClients = 6;
            r.PhaseSeconds = 5;
            r.PhaseSecondsPerClient = 0.5;
        });
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(options);
        var clients = Enumerable.Range(0, 6).Select(i => Client(federation, i, host.Address)).ToList();
        try
        {
            await Task.WhenAll(clients.Select(c => c.EnrolAsync()));
            ClientRoundResult[] results = await Task.WhenAll(clients.Select((c, i) => c.RunRoundAsync(ctx => LocalUpdate(i, ctx))));
            Assert.All(results, r => Assert.Equal(RoundOutcomeKind.Completed, r.Kind));
            Rounds.RoundPlan plan = host.Engine.Host.LastPlan!;
            Assert.Equal(GraphKind.Harary, plan.Graph);
            Assert.True(plan.Degree < 5, $"degree {plan.Degree}");
            ModelSnapshot model = await clients[0].GetModelAsync();
            Assert.Equal(2UL, model.Version);
            Assert.Equal(results[0].RoundId, model.RoundId);
            Assert.All(clients, c => Assert.Single(c.Ledger.Entries));
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_client_that_misses_a_deadline_over_grpc_learns_it_was_dropped_and_why()
    {
        await using var federation = new Federation(clients: 4);
        CoordinatorOptions options = federation.Options(r =>
        {
            r.CohortSize = 4;
            r.MinClients = 4;
            r.PhaseSeconds = 5;
            r.AdvertiseKeysSeconds = 1.5;
            r.PhaseSecondsPerClient = 0;
        });
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(options);
        var clients = Enumerable.Range(0, 4).Select(i => federation.Client(i, host.Address)).ToList();
        try
        {
            await Task.WhenAll(clients.Select(c => c.EnrolAsync()));
            // Client 3 stalls computing its update past the AdvertiseKeys deadline, then submits its keys.
            ClientRoundResult[] results = await Task.WhenAll(clients.Select((c, i) => c.RunRoundAsync(ctx =>
            {
                if (i == 3)
                {
                    Thread.Sleep(TimeSpan.FromSeconds(3));
                }

                return LocalUpdate(i, ctx);
            })));
            Assert.All(results.Take(3), r => Assert.Equal(RoundOutcomeKind.Completed, r.Kind));
            Assert.Equal(RoundOutcomeKind.Dropped, results[3].Kind);
            Assert.Equal(DropReason.TimedOut, results[3].Drop);
            Assert.Equal(results[0].RoundId, results[3].RoundId);

            // Fetching afterwards (the next phase, over gRPC) is a typed Dropped answer too, not an exception.
            FetchReply late = await clients[3].RoundTransport.FetchAsync(results[3].RoundId, Phase.MaskedInput, CancellationToken.None);
            Assert.Equal((FetchOutcome.Dropped, DropReason.TimedOut), (late.Outcome, late.DropReason));
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }
}
