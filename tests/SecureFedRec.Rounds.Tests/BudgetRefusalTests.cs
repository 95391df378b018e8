using SecureFedRec.Rounds.Client;
using SecureFedRec.Rounds.Server;
using SecureFedRec.Rounds.Transport;

namespace SecureFedRec.Rounds.Tests;

/// <summary>The host refuses to open a round its own ledger could not release, so no client spends ε on it.</summary>
public sealed class BudgetRefusalTests
{
    private sealed class ExhaustionEvents : RoundHostEvents
    {
        public List<BudgetExhaustion> Exhaustions { get; } = [];

        public int Opened { get; private set; }

        public List<RoundFinished> Finished { get; } = [];

        public override void OnBudgetExhausted(BudgetExhaustion exhaustion) => Exhaustions.Add(exhaustion);

        public override Task OnRoundOpenedAsync(RoundOpened opened, CancellationToken cancellationToken)
        {
            Opened++;
            return Task.CompletedTask;
        }

        public override Task OnRoundFinishedAsync(RoundFinished finished, CancellationToken cancellationToken)
        {
            Finished.Add(finished);
            return Task.CompletedTask;
        }
    }

    private static double[] Update(int i) => Enumerable.Range(0, Harness.Dimension).Select(j => 0.01 * (i + j)).ToArray();

    [Fact]
    public async Task A_round_over_the_budget_is_not_opened_and_joiners_are_told_the_coordinator_finished()
    {
        // The round targets ε = 10 over 5 rounds (about 2 per round); the coordinator's own budget is 0.5.
        var ledger = new CountingLedger(budget: 0.5);
        var events = new ExhaustionEvents();
        RoundHost host = Harness.Host(Harness.Settings(epsilon: 10), 3, ledger, events);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(JoinOutcome.Wait, host.Join(Harness.Caller(i)).Outcome);
        }

        Assert.Equal(RoundHostTick.BudgetExhausted, await host.TickAsync());

        Assert.Equal(0, events.Opened);
        Assert.Empty(ledger.Charges);
        Assert.True(host.Finished);
        Assert.Equal((0UL, Protocol.Wire.Phase.Unspecified), host.Current);
        BudgetExhaustion exhaustion = Assert.Single(events.Exhaustions);
        Assert.Equal(exhaustion, host.BudgetExhausted);
        Assert.Equal(1UL, exhaustion.RoundId);
        Assert.Equal(3, exhaustion.Cohort);
        Assert.Equal(0.5, exhaustion.Budget);
        Assert.Equal(0, exhaustion.TotalEpsilon);
        Assert.True(exhaustion.RoundEpsilon > 0.5, exhaustion.ToString());
        Assert.InRange(exhaustion.Contributors, 2, 3);
        Assert.Contains("budget", exhaustion.Reason, StringComparison.Ordinal);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(JoinOutcome.Finished, host.Join(Harness.Caller(i)).Outcome);
        }

        // Later ticks open nothing and report the exhaustion only once.
        Assert.Equal(RoundHostTick.Idle, await host.TickAsync());
        Assert.Single(events.Exhaustions);
    }

    [Fact]
    public async Task Client_rounds_end_as_coordinator_finished_without_spending_anything()
    {
        var ledger = new CountingLedger(budget: 0.5);
        var events = new ExhaustionEvents();
        RoundHost host = Harness.Host(Harness.Settings(epsilon: 10), 3, ledger, events);
        var clientLedgers = Enumerable.Range(0, 3).Select(_ => new MemoryPrivacyLedger(new Privacy.Ledger.PrivacyBudget(1e6, 1e-3))).ToArray();
        ClientRound[] clients = Enumerable.Range(0, 3).Select(i => new ClientRound(new ClientRoundOptions
        {
            Guard = new Privacy.Policy.ClientPrivacyGuard(Harness.PermissivePolicy(), clientLedgers[i]),
            UpdateSource = (_, _) => Task.FromResult(LocalUpdate.FromTotal(Update(i))),
            JoinTimeout = TimeSpan.FromSeconds(30),
        })).ToArray();

        InProcessRoundResult result = await Harness.Run(host, clients);

        Assert.All(result.Clients, r =>
        {
            Assert.Equal(ClientRoundOutcome.NotSelected, r.Outcome);
            Assert.Equal(ClientRoundReason.CoordinatorFinished, r.Reason);
        });
        Assert.All(clientLedgers, l => Assert.Empty(l.Entries));
        Assert.Empty(ledger.Charges);
        Assert.Empty(events.Finished);
    }

    [Fact]
    public async Task Every_round_opened_until_the_budget_is_spent_is_released_and_the_next_is_refused()
    {
        // A budget that fits a few rounds of the plan: each round the host opens is released (none withheld by the
        // ledger after the clients spent their ε on it), and the first that would not fit is never opened.
        var ledger = new CountingLedger(budget: 4);
        var events = new ExhaustionEvents();
        RoundHost host = Harness.Host(Harness.Settings(epsilon: 10), 3, ledger, events);
        int released = 0;
        for (int round = 0; round < 12 && !host.Finished; round++)
        {
            ClientRound[] clients = Enumerable.Range(0, 3).Select(i => Harness.Client(i, _ => Update(i), seed: (ulong)round + 1)).ToArray();
            InProcessRoundResult result = await Harness.Run(host, clients);
            released += result.Clients.All(r => r.Outcome == ClientRoundOutcome.Completed) ? 1 : 0;
        }

        Assert.True(host.Finished);
        Assert.NotNull(host.BudgetExhausted);
        Assert.True(released >= 1, "at least one round fits a budget of 4");
        Assert.Equal(released, events.Opened);
        Assert.All(events.Finished, f => Assert.Equal(ServerRoundOutcome.Released, f.Outcome));
        Assert.Equal(released, ledger.Entries.Count);
        Assert.True(ledger.TotalEpsilon <= 4);
        BudgetExhaustion refused = host.BudgetExhausted!;
        Assert.Equal(ledger.TotalEpsilon, refused.TotalEpsilon, 9);
        Assert.True(refused.TotalEpsilon + refused.RoundEpsilon > 4, refused.ToString());
    }

    [Fact]
    public async Task A_round_within_the_budget_opens()
    {
        var ledger = new CountingLedger(budget: 1000);
        var events = new ExhaustionEvents();
        RoundHost host = Harness.Host(Harness.Settings(epsilon: 10), 3, ledger, events);
        for (int i = 0; i < 3; i++)
        {
            host.Join(Harness.Caller(i));
        }

        Assert.Equal(RoundHostTick.Opened, await host.TickAsync());
        Assert.Null(host.BudgetExhausted);
        Assert.False(host.Finished);
        Assert.Empty(events.Exhaustions);
    }
}
