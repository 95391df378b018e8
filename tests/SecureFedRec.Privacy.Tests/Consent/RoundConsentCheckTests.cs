using SecureFedRec.Privacy.Policy;
using static SecureFedRec.Privacy.Tests.Disclosure.DisclosureTestSupport;

namespace SecureFedRec.Privacy.Tests.Consent;

/// <summary>The pure consent check: the secure-aggregation round is bound to the DP plan and the policy (dp.md §7.3).</summary>
public sealed class RoundConsentCheckTests
{
    internal static ClientPrivacyPolicy ConsentPolicy() => new()
    {
        MaxTotalEpsilon = 100,
        Delta = 1e-5,
        MinNoiseMultiplier = 0.05,
        MaxClip = 1.0,
        AcceptedThreatModes = new HashSet<ThreatMode> { ThreatMode.SemiMalicious, ThreatMode.CuriousServer },
        MinThresholdFraction = 0.5,
    };

    /// <summary>A valid malicious-mode offer: n = 10, t = 7, full graph (k = 9: 2t = 14 &gt; 10), four organisations.</summary>
    internal static RoundOffer Offer(string id = "r1", double q = 1.0) => new()
    {
        RoundId = id,
        Plan = Plan(q),
        Threshold = 7,
        CohortSize = 10,
        Graph = SecAggGraph.Full,
        GraphDegree = 9,
        ThreatMode = ThreatMode.SemiMalicious,
        CohortOrganisations = ["bank-a", "bank-a", "bank-b", "bank-b", "bank-c", "bank-c", "bank-d", "bank-d", "bank-d", "bank-d"],
    };

    [Fact]
    public void An_offer_bound_to_the_plan_and_within_policy_is_accepted_with_epsilon_at_q_equal_one()
    {
        var d = RoundConsentCheck.Evaluate(ConsentPolicy(), Offer(q: 0.01));
        Assert.True(d.Accepted, d.Message);
        Assert.Null(d.Rule);
        Assert.Equal(Eps(Plan(1.0)), d.RoundEpsilon, 9);
        Assert.Equal(Eps(Plan(0.01)), d.AmplifiedRoundEpsilon, 9);
        Assert.True(d.AmplifiedRoundEpsilon < d.RoundEpsilon);
        Assert.Contains("not charged", d.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, DeclineReason, string> Declines => new()
    {
        { "invalid-plan", DeclineReason.InvalidParameters, "plan-valid" },
        { "bad-round-id", DeclineReason.InvalidParameters, "round-id" },
        { "full-graph-wrong-degree", DeclineReason.InvalidGraph, "graph-shape" },
        { "harary-odd-odd", DeclineReason.InvalidGraph, "graph-shape" },
        { "threshold-above-degree", DeclineReason.InvalidGraph, "graph-shape" },
        { "unknown-graph", DeclineReason.InvalidGraph, "graph-shape" },
        { "mode-not-accepted", DeclineReason.ThreatModeNotAccepted, "threat-mode-accepted" },
        { "curious-without-opt-in", DeclineReason.HonestButCuriousNotOptedIn, "honest-but-curious-opt-in" },
        { "lowered-t", DeclineReason.ThresholdNotBound, "threshold-bound" },
        { "raised-t", DeclineReason.ThresholdNotBound, "threshold-bound" },
        { "cohort-shrunk", DeclineReason.CohortSizeNotBound, "cohort-bound" },
        { "cohort-grown", DeclineReason.CohortSizeNotBound, "cohort-bound" },
        { "malicious-2t-not-above-k-plus-1", DeclineReason.MaliciousThresholdTooLow, "malicious-threshold" },
        { "cohort-below-minimum", DeclineReason.CohortBelowPolicy, "min-cohort" },
        { "threshold-below-minimum", DeclineReason.ThresholdBelowMinimum, "min-threshold" },
        { "threshold-fraction", DeclineReason.ThresholdBelowPolicy, "threshold-fraction" },
        { "organisations-missing", DeclineReason.CohortRosterMismatch, "roster-cohort" },
        { "organisation-blank", DeclineReason.CohortRosterMismatch, "roster-cohort" },
        { "one-organisation-sybils", DeclineReason.TooFewOrganisations, "min-organisations" },
        { "large-clip", DeclineReason.ClipAbovePolicy, "max-clip" },
        { "large-delta", DeclineReason.DeltaAbovePolicy, "max-delta" },
        { "low-noise", DeclineReason.NoiseBelowPolicy, "min-noise" },
        { "understated-claim", DeclineReason.ClaimedEpsilonUnderstated, "claimed-epsilon" },
    };

    [Theory]
    [MemberData(nameof(Declines))]
    public void An_offer_that_breaks_a_rule_is_declined_with_its_reason_and_rule(string scenario, DeclineReason reason, string rule)
    {
        var policy = ConsentPolicy();
        var o = Offer();
        o = scenario switch
        {
            "invalid-plan" => o with { Plan = o.Plan with { Bits = 40 } },
            "bad-round-id" => o with { RoundId = "round 1" },
            "full-graph-wrong-degree" => o with { GraphDegree = 6 },
            "harary-odd-odd" => o with { Graph = SecAggGraph.Harary, CohortSize = 9, GraphDegree = 7, Plan = o.Plan with { PlannedClients = 9 }, CohortOrganisations = o.CohortOrganisations.Take(9).ToArray() },
            "threshold-above-degree" => o with { Graph = SecAggGraph.Harary, GraphDegree = 4 },
            "unknown-graph" => o with { Graph = (SecAggGraph)7 },
            "mode-not-accepted" => o with { ThreatMode = (ThreatMode)9 },
            "curious-without-opt-in" => o with { ThreatMode = ThreatMode.CuriousServer },
            "lowered-t" => o with { Threshold = 6 },
            "raised-t" => o with { Threshold = 8 },
            "cohort-shrunk" => o with { CohortSize = 9, GraphDegree = 8, CohortOrganisations = o.CohortOrganisations.Take(9).ToArray() },
            "cohort-grown" => o with { CohortSize = 11, GraphDegree = 10, CohortOrganisations = [.. o.CohortOrganisations, "bank-e"] },
            // Harary k = 8 on n = 10: t = 4 satisfies t ≤ k + 1 but not 2t > k + 1 (the DP plan is at t = 4 too).
            "malicious-2t-not-above-k-plus-1" => o with { Graph = SecAggGraph.Harary, GraphDegree = 8, Threshold = 4, Plan = o.Plan with { MinClients = 4 } },
            "cohort-below-minimum" => o,
            "threshold-below-minimum" => o,
            "threshold-fraction" => o,
            "organisations-missing" => o with { CohortOrganisations = o.CohortOrganisations.Take(9).ToArray() },
            "organisation-blank" => o with { CohortOrganisations = [.. o.CohortOrganisations.Take(9), " "] },
            "one-organisation-sybils" => o with { CohortOrganisations = [.. Enumerable.Repeat("bank-a", 8), "bank-b", "bank-b"] },
            "large-clip" => o with { Plan = o.Plan with { Clip = 2.0 } },
            "large-delta" => o with { Plan = o.Plan with { Delta = 1e-3 } },
            "low-noise" => o with { Plan = o.Plan with { SigmaSquaredNumerator = 1 } },
            "understated-claim" => o with { ClaimedRoundEpsilon = Eps(Plan()) / 2 },
            _ => throw new ArgumentOutOfRangeException(nameof(scenario)),
        };
        policy = scenario switch
        {
            "mode-not-accepted" => policy,
            "cohort-below-minimum" => policy with { MinCohortSize = 11 },
            "threshold-below-minimum" => policy with { MinThreshold = 8 },
            "threshold-fraction" => policy with { MinThresholdFraction = 0.75 },
            _ => policy,
        };

        var d = RoundConsentCheck.Evaluate(policy, o);
        Assert.False(d.Accepted);
        Assert.Equal(reason, d.Reason);
        Assert.Equal(rule, d.Rule);
        Assert.Contains($"rule '{rule}'", d.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string> Accepted => new()
    {
        "harary-malicious",
        "curious-with-opt-in",
        "cohort-within-tolerance",
        "honest-claim",
        "exactly-minimum-organisations",
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void Offers_inside_every_rule_are_accepted(string scenario)
    {
        var policy = ConsentPolicy();
        var o = Offer();
        switch (scenario)
        {
            case "harary-malicious":
                // n = 10, k = 8: malicious needs t ≥ 5; the plan's t = 7.
                o = o with { Graph = SecAggGraph.Harary, GraphDegree = 8 };
                break;
            case "curious-with-opt-in":
                o = o with { ThreatMode = ThreatMode.CuriousServer };
                policy = policy with { AllowHonestButCurious = true };
                break;
            case "cohort-within-tolerance":
                o = o with { CohortSize = 11, GraphDegree = 10, CohortOrganisations = [.. o.CohortOrganisations, "bank-e"] };
                policy = policy with { CohortSizeTolerance = 0.1 };
                break;
            case "honest-claim":
                o = o with { ClaimedRoundEpsilon = Eps(Plan()) };
                break;
            case "exactly-minimum-organisations":
                o = o with { CohortOrganisations = [.. Enumerable.Repeat("bank-a", 8), "bank-b", "bank-c"] };
                break;
        }

        var d = RoundConsentCheck.Evaluate(policy, o);
        Assert.True(d.Accepted, d.Message);
    }

    public static TheoryData<string> BadPolicies => new()
    {
        "minCohortSize", "minThreshold", "minDistinctOrganisations", "cohortSizeTolerance", "maxAbortedRounds", "abortWindow", "acceptedThreatModes", "minThresholdFraction",
    };

    [Theory]
    [MemberData(nameof(BadPolicies))]
    public void A_policy_key_out_of_range_is_a_configuration_error_naming_the_key(string key)
    {
        var policy = key switch
        {
            "minCohortSize" => ConsentPolicy() with { MinCohortSize = 1 },
            "minThreshold" => ConsentPolicy() with { MinThreshold = 1 },
            "minDistinctOrganisations" => ConsentPolicy() with { MinDistinctOrganisations = 0 },
            "cohortSizeTolerance" => ConsentPolicy() with { CohortSizeTolerance = 1.0 },
            "maxAbortedRounds" => ConsentPolicy() with { MaxAbortedRounds = -1 },
            "abortWindow" => ConsentPolicy() with { AbortWindow = TimeSpan.Zero },
            "acceptedThreatModes" => ConsentPolicy() with { AcceptedThreatModes = new HashSet<ThreatMode>() },
            "minThresholdFraction" => ConsentPolicy() with { MinThresholdFraction = 1.5 },
            _ => throw new ArgumentOutOfRangeException(nameof(key)),
        };
        var ex = Assert.Throws<ArgumentException>(() => RoundConsentCheck.Evaluate(policy, Offer()));
        Assert.Equal(key, ex.ParamName);
    }

    [Fact]
    public void The_default_policy_is_valid_and_declines_honest_but_curious_rounds()
    {
        var policy = new ClientPrivacyPolicy
        {
            MaxTotalEpsilon = 10,
            Delta = 1e-5,
            MinNoiseMultiplier = 0.05,
            MaxClip = 1,
            AcceptedThreatModes = new HashSet<ThreatMode> { ThreatMode.CuriousServer, ThreatMode.SemiMalicious },
        };
        policy.Validate();
        Assert.False(policy.AllowHonestButCurious);
        Assert.Equal(DeclineReason.HonestButCuriousNotOptedIn, RoundConsentCheck.Evaluate(policy, Offer() with { ThreatMode = ThreatMode.CuriousServer }).Reason);
        Assert.True(RoundConsentCheck.Evaluate(policy, Offer()).Accepted);
    }
}
