using SecureFedRec.Privacy.Accounting;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Policy;

namespace SecureFedRec.Privacy.Tests.Policy;

public sealed class ClientPolicyTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sfr-policy-" + Guid.NewGuid().ToString("N"));

    public ClientPolicyTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static MechanismParameters P(ulong sigmaSq = 400, double clip = 1.0, int n = 10, int t = 7, double delta = 1e-5) =>
        TestData.Parameters(d: 64, gamma: 0.01, sigmaSqNum: sigmaSq, n: n, t: t, clip: clip) with { Delta = delta };

    private static double Eps(MechanismParameters p, int rounds = 1) => DistributedDiscreteGaussianAccountant.RoundCurve(p, p.MinClients).Compose(rounds).ToEpsilon(p.Delta).Epsilon;

    private static double BetweenTwoAndThreeRounds => (Eps(P(), 2) + Eps(P(), 3)) / 2;

    private static ClientPrivacyPolicy Policy(double maxEps = 100) => new()
    {
        MaxTotalEpsilon = maxEps,
        Delta = 1e-5,
        MinNoiseMultiplier = 0.3,
        MaxClip = 1.0,
        AcceptedThreatModes = new HashSet<ThreatMode> { ThreatMode.SemiMalicious },
        MinThresholdFraction = 0.6,
    };

    private FilePrivacyLedger Ledger(double budget = 100) => FilePrivacyLedger.Open(Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".jsonl"), new PrivacyBudget(budget, 1e-5));

    private static RoundAnnouncement A(MechanismParameters p, string id = "r1", ThreatMode mode = ThreatMode.SemiMalicious, double? claimed = null) =>
        new(id, p, mode, claimed ?? Eps(p));

    [Fact]
    public void A_round_within_policy_is_accepted_with_the_recomputed_epsilon()
    {
        using var ledger = Ledger();
        var d = Policy().Evaluate(A(P()), ledger);
        Assert.True(d.Accepted, d.Message);
        Assert.Equal(Eps(P()), d.RoundEpsilon, 9);
    }

    public static TheoryData<string, DeclineReason> Declines => new()
    {
        { "low-noise", DeclineReason.NoiseBelowPolicy },
        { "large-clip", DeclineReason.ClipAbovePolicy },
        { "curious-mode", DeclineReason.ThreatModeNotAccepted },
        { "low-threshold", DeclineReason.ThresholdBelowPolicy },
        { "large-delta", DeclineReason.DeltaAbovePolicy },
        { "understated", DeclineReason.ClaimedEpsilonUnderstated },
        { "invalid", DeclineReason.InvalidParameters },
        { "over-budget", DeclineReason.BudgetExceeded },
    };

    [Theory]
    [MemberData(nameof(Declines))]
    public void A_round_outside_policy_is_declined_with_its_reason(string scenario, DeclineReason expected)
    {
        using var ledger = Ledger();
        var policy = Policy();
        var announcement = scenario switch
        {
            // √7·σ·γ/c = √7·1·0.01/1 = 0.026 < 0.3
            "low-noise" => A(P(sigmaSq: 1)),
            "large-clip" => A(P(clip: 2.0)),
            "curious-mode" => A(P(), mode: ThreatMode.CuriousServer),
            "low-threshold" => A(P(t: 5)),
            "large-delta" => A(P(delta: 1e-3)),
            "understated" => A(P(), claimed: Eps(P()) / 2),
            "invalid" => A(P() with { Bits = 40 }, claimed: 1.0),
            "over-budget" => A(P()),
            _ => throw new ArgumentOutOfRangeException(nameof(scenario)),
        };
        if (scenario == "over-budget")
        {
            policy = Policy(maxEps: Eps(P()) / 2);
        }

        var d = policy.Evaluate(announcement, ledger);
        Assert.False(d.Accepted);
        Assert.Equal(expected, d.Reason);
        Assert.Empty(ledger.Entries);
    }

    [Fact]
    public void Consent_records_the_spend_before_handing_out_the_mechanism_and_only_once()
    {
        using var ledger = Ledger();
        var guard = new ClientPrivacyGuard(Policy(), ledger);
        var (decision, mechanism) = guard.Consent(A(P()));
        Assert.True(decision.Accepted);
        Assert.NotNull(mechanism);
        Assert.Single(ledger.Entries);
        Assert.Equal(7, ledger.Entries[0].ContributingClients);

        var (again, none) = guard.Consent(A(P()));
        Assert.Equal(DeclineReason.RoundAlreadyContributed, again.Reason);
        Assert.Null(none);
        Assert.Single(ledger.Entries);
    }

    [Fact]
    public void A_client_stops_consenting_when_its_budget_is_spent()
    {
        using var ledger = Ledger(budget: BetweenTwoAndThreeRounds);
        var guard = new ClientPrivacyGuard(Policy(), ledger);
        Assert.True(guard.Consent(A(P(), "r1")).Decision.Accepted);
        Assert.True(guard.Consent(A(P(), "r2")).Decision.Accepted);
        var (d, m) = guard.Consent(A(P(), "r3"));
        Assert.Equal(DeclineReason.BudgetExceeded, d.Reason);
        Assert.Null(m);
        Assert.Equal(2, ledger.Entries.Count);
    }

    [Fact]
    public void The_client_budget_survives_a_restart()
    {
        var path = Path.Combine(_dir, "client.jsonl");
        var budget = new PrivacyBudget(BetweenTwoAndThreeRounds, 1e-5);
        using (var ledger = FilePrivacyLedger.Open(path, budget))
        {
            var guard = new ClientPrivacyGuard(Policy(), ledger);
            Assert.True(guard.Consent(A(P(), "r1")).Decision.Accepted);
            Assert.True(guard.Consent(A(P(), "r2")).Decision.Accepted);
        }

        using var reopened = FilePrivacyLedger.Open(path, budget);
        var again = new ClientPrivacyGuard(Policy(), reopened);
        Assert.Equal(DeclineReason.RoundAlreadyContributed, again.Consent(A(P(), "r2")).Decision.Reason);
        Assert.Equal(DeclineReason.BudgetExceeded, again.Consent(A(P(), "r3")).Decision.Reason);
    }

    [Fact]
    public void The_guard_refuses_a_ledger_measured_at_another_delta()
    {
        using var ledger = FilePrivacyLedger.Open(Path.Combine(_dir, "d.jsonl"), new PrivacyBudget(1, 1e-6));
        Assert.Throws<ArgumentException>(() => new ClientPrivacyGuard(Policy(), ledger));
    }
}
