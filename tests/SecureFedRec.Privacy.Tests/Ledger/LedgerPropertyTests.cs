using FsCheck;
using FsCheck.Fluent;
using SecureFedRec.Privacy.Accounting;
using SecureFedRec.Privacy.Ledger;

namespace SecureFedRec.Privacy.Tests.Ledger;

/// <summary>Any sequence of charges keeps the ledger within budget, charges each round once, and survives a reopen.</summary>
public sealed class LedgerPropertyTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sfr-ledger-prop-" + Guid.NewGuid().ToString("N"));

    public LedgerPropertyTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Random_charge_sequences_respect_budget_idempotence_and_restart()
    {
        var charge = Gen.Choose(0, 5).SelectMany(_ => Gen.Choose(0, 2), (id, s) => (id, s))
            .SelectMany(_ => Gen.Choose(7, 10), (x, m) => (Round: x.id, Sigma: x.s, M: m));
        var arb = Gen.ListOf(charge).Select(l => l.Take(12).ToArray()).ToArbitrary();
        // Per-round ε ≈ 0.3–1.1 at δ = 1e-5, so a 2.0 budget admits a few rounds and refuses the rest.
        ulong[] sigmas = [20_000, 50_000, 200_000];
        var seen = new List<LedgerOutcome>();
        var run = 0;
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(25), Prop.ForAll(arb, charges =>
        {
            var path = Path.Combine(_dir, $"p{run++}.jsonl");
            var budget = new PrivacyBudget(2.0, 1e-5);
            var outcomes = new List<LedgerOutcome>();
            using (var ledger = FilePrivacyLedger.Open(path, budget))
            {
                foreach (var c in charges)
                {
                    var p = TestData.Parameters(d: 64, gamma: 0.01, sigmaSqNum: sigmas[c.Sigma], n: 10, t: 7);
                    outcomes.Add(ledger.Charge(new RoundCharge($"r{c.Round}", p, c.M)).Outcome);
                    seen.Add(outcomes[^1]);
                    if (ledger.TotalEpsilon > budget.Epsilon)
                    {
                        return false;
                    }
                }

                var ids = ledger.Entries.Select(e => e.RoundId).ToList();
                if (ids.Count != ids.Distinct(StringComparer.Ordinal).Count() || outcomes.Count(o => o == LedgerOutcome.Charged) != ids.Count)
                {
                    return false;
                }
            }

            using var reopened = FilePrivacyLedger.Open(path, budget);
            var recomputed = reopened.Entries
                .Select(e => DistributedDiscreteGaussianAccountant.RoundCurve(e.Parameters, e.ContributingClients))
                .Aggregate((RdpCurve?)null, (acc, c) => acc is null ? c : acc.Plus(c));
            var expected = recomputed is null ? 0 : recomputed.ToEpsilon(budget.Delta).Epsilon;
            return Math.Abs(reopened.TotalEpsilon - expected) < 1e-12;
        }));
        Assert.Contains(LedgerOutcome.Charged, seen);
        Assert.Contains(LedgerOutcome.BudgetExceeded, seen);
        Assert.Contains(LedgerOutcome.AlreadyCharged, seen);
        Assert.Contains(LedgerOutcome.ConflictingRecord, seen);
    }
}
