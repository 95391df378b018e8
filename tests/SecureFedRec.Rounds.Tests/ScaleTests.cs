using SecureFedRec.Protocol.Wire;
using GraphKind = SecureFedRec.Protocol.Graph.GraphKind;
using SecureFedRec.Rounds.Client;
using SecureFedRec.Rounds.Server;
using SecureFedRec.Rounds.Transport;

namespace SecureFedRec.Rounds.Tests;

/// <summary>Graph choice and phase deadlines of the round host (the settings large cohorts need).</summary>
public sealed class ScaleTests
{
    private static double[] Update(int index) => Enumerable.Range(0, Harness.Dimension).Select(j => 0.05 * (((index + j) % 5) - 2)).ToArray();

    public static TheoryData<string, Phase, int, double> Deadlines() => new()
    {
        { "base only", Phase.ShareKeys, 1000, 10 },
        { "scaled", Phase.MaskedInput, 500, 10 + (500 * 0.02) },
        { "scaled, other phase", Phase.Unmasking, 10, 10 + (10 * 0.02) },
        { "per-phase override", Phase.ShareKeys, 1000, 90 },
        { "override for another phase does not apply", Phase.AdvertiseKeys, 100, 10 + (100 * 0.02) },
    };

    [Theory]
    [MemberData(nameof(Deadlines))]
    public void A_phase_deadline_is_its_override_or_the_base_plus_a_per_client_share(string row, Phase phase, int cohort, double seconds)
    {
        var options = new RoundHostOptions
        {
            Settings = Harness.Settings(),
            CohortSize = 2,
            PhaseTimeout = TimeSpan.FromSeconds(10),
            PhaseTimeoutPerClient = row == "base only" ? TimeSpan.Zero : TimeSpan.FromSeconds(0.02),
            PhaseTimeouts = row.StartsWith("per-phase", StringComparison.Ordinal) || row.StartsWith("override", StringComparison.Ordinal)
                ? new Dictionary<Phase, TimeSpan> { [Phase.ShareKeys] = TimeSpan.FromSeconds(90) }
                : null,
        };
        Assert.Equal(seconds, options.TimeoutOf(phase, cohort).TotalSeconds, 6);
    }

    [Theory]
    [InlineData(GraphSelection.Auto, 6, 6, GraphKind.Harary)]
    [InlineData(GraphSelection.Auto, 7, 6, GraphKind.Full)]
    [InlineData(GraphSelection.Full, 2, 6, GraphKind.Full)]
    [InlineData(GraphSelection.Harary, 500, 6, GraphKind.Harary)]
    public async Task A_cohort_at_or_above_the_threshold_runs_on_a_Harary_graph_and_completes(GraphSelection graph, int from, int clients, GraphKind expected)
    {
        var ledger = new CountingLedger();
        var events = new RecordingEvents();
        RoundHost host = new(new RoundHostOptions
        {
            Settings = Harness.Settings(epsilon: 50) with { Graph = graph, HararyFromClients = from },
            CohortSize = clients,
            PhaseTimeout = TimeSpan.FromSeconds(30),
            PhaseTimeoutPerClient = TimeSpan.FromSeconds(1),
            Random = new Crypto.DeterministicRandomSource(Harness.Seed("cohort", 3)),
        }, new ModelRelease(1, 0, new double[Harness.Dimension], 0, 0), ledger, new FedAvgRule(), events);
        var invitations = new System.Collections.Concurrent.ConcurrentBag<RoundInvitation>();
        ClientRound[] round = Enumerable.Range(0, clients).Select(i => Harness.Client(i, _ => Update(i))).ToArray();
        DateTimeOffset before = DateTimeOffset.UtcNow;

        InProcessRoundResult result = await Harness.Run(host, round, wrap: (_, t) => new TamperingTransport(t, join: reply =>
        {
            if (reply.Invitation is { } invitation)
            {
                invitations.Add(invitation);
            }

            return reply;
        }));

        Assert.All(result.Clients, r => Assert.Equal(ClientRoundOutcome.Completed, r.Outcome));
        RoundPlan plan = host.LastPlan!;
        Assert.Equal(expected, plan.Graph);
        Assert.Equal(clients, invitations.Count);
        Protocol.Wire.GraphKind wire = expected == GraphKind.Harary ? Protocol.Wire.GraphKind.Harary : Protocol.Wire.GraphKind.Full;
        Assert.All(invitations, i => Assert.Equal(wire, i.Opening.BeginRound.Parameters.GraphKind));
        if (expected == GraphKind.Harary)
        {
            Assert.True(plan.Degree < clients - 1, $"degree {plan.Degree}");
            Assert.All(invitations, i => Assert.Equal((uint)plan.Degree, i.Opening.BeginRound.Parameters.GraphDegree));
        }

        // The AdvertiseKeys deadline scaled with the cohort: 30 s + n × 1 s.
        Assert.InRange(invitations.First().Deadline - before, TimeSpan.FromSeconds(30 + clients - 1), TimeSpan.FromSeconds(30 + clients + 5));
        Assert.Equal(ServerRoundOutcome.Released, Assert.Single(events.Finished).Outcome);
        Assert.Single(ledger.Charges);
    }
}
