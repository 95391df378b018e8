using FsCheck;
using FsCheck.Fluent;
using SecureFedRec.Privacy.Mechanism;

namespace SecureFedRec.Privacy.Tests.Mechanism;

public sealed class PlannerTests
{
    private static PlanRequest Request(double eps = 1.0, int rounds = 1, int n = 100, int t = 70, int d = 1000, int bits = 20, double k = 4.0) => new()
    {
        TargetEpsilon = eps,
        Delta = 1e-5,
        Rounds = rounds,
        PlannedClients = n,
        MinClients = t,
        Dimension = d,
        Bits = bits,
        Clip = 1.0,
        K = k,
    };

    [Theory]
    [InlineData(1.0, 1, 100, 70, 1000, 20)]
    [InlineData(3.0, 10, 100, 70, 1000, 20)]
    [InlineData(0.5, 1, 1000, 700, 4096, 24)]
    [InlineData(8.0, 100, 50, 25, 256, 16)]
    public void A_feasible_plan_meets_the_target_tightly_and_fits_the_modulus(double eps, int rounds, int n, int t, int d, int bits)
    {
        Assert.True(DistributedDpPlanner.TryPlan(Request(eps, rounds, n, t, d, bits), out var plan, out var refusal), refusal?.Message);
        Assert.InRange(plan!.TotalEpsilon, 0.97 * eps, eps);
        var p = plan.Parameters;
        var width = 2 * plan.EffectiveK * Math.Sqrt(DistributedDiscreteGaussianMechanism.SumVarianceProxy(p, n));
        Assert.True(width <= Math.Pow(2, bits));
        // Recompute independently from the recorded parameters.
        Assert.Equal(plan.TotalEpsilon, DistributedDpPlanner.TotalEpsilon(p, rounds, t, 1e-5).Epsilon, 12);
    }

    [Theory]
    [InlineData(4.0, 50, 16)]
    [InlineData(1.0, 20, 12)]
    public void A_planned_round_decodes_whether_t_or_all_n_clients_survive(double eps, int n, int bits)
    {
        Assert.True(DistributedDpPlanner.TryPlan(Request(eps, 1, n, (2 * n) / 3, 256, bits), out var plan, out var refusal), refusal?.Message);
        var atThreshold = AccuracySimulation.Run(plan!.Parameters, plan.Parameters.MinClients, 2, 5);
        var everybody = AccuracySimulation.Run(plan.Parameters, n, 2, 6);
        Assert.Equal(0, atThreshold.DecodeFailures);
        Assert.Equal(0, everybody.DecodeFailures);
        Assert.InRange(everybody.RmsErrorPerCoordinate, 0.7 * plan.Parameters.Gamma * Math.Sqrt(n) * plan.Parameters.Sigma, 1.3 * everybody.PredictedRmsPerCoordinate);
    }

    [Fact]
    public void Fewer_survivors_than_planned_spend_no_more_than_the_plan()
    {
        Assert.True(DistributedDpPlanner.TryPlan(Request(), out var plan, out _));
        var atThreshold = DistributedDpPlanner.TotalEpsilon(plan!.Parameters, 1, 70, 1e-5).Epsilon;
        var allSurvive = DistributedDpPlanner.TotalEpsilon(plan.Parameters, 1, 100, 1e-5).Epsilon;
        var belowThreshold = DistributedDpPlanner.TotalEpsilon(plan.Parameters, 1, 40, 1e-5).Epsilon;
        Assert.True(allSurvive < atThreshold);
        Assert.True(belowThreshold > 1.0);
    }

    [Theory]
    [InlineData(1000, 8, 4.0, PlanRefusalReason.BitsBelowLogClients)]
    [InlineData(20, 5, 8.0, PlanRefusalReason.BitBudgetTooSmall)]
    [InlineData(100, 9, 4.0, PlanRefusalReason.NoScaleFits)]
    public void Infeasible_bit_budgets_are_refused_with_a_reason(int n, int bits, double k, PlanRefusalReason reason)
    {
        Assert.False(DistributedDpPlanner.TryPlan(Request(n: n, t: n / 2, d: 10_000, bits: bits, k: k), out var plan, out var refusal));
        Assert.Null(plan);
        Assert.Equal(reason, refusal!.Reason);
        Assert.False(string.IsNullOrWhiteSpace(refusal.Message));
    }

    [Fact]
    public void An_unreachable_target_is_refused()
    {
        Assert.False(DistributedDpPlanner.TryPlan(Request(eps: 1e-9, rounds: 1_000_000, n: 10, t: 2), out _, out var refusal));
        Assert.Equal(PlanRefusalReason.TargetUnreachable, refusal!.Reason);
    }

    [Theory]
    [InlineData(0.0, 1, 100, 70, 1000, 20)]
    [InlineData(1.0, 0, 100, 70, 1000, 20)]
    [InlineData(1.0, 1, 100, 170, 1000, 20)]
    [InlineData(1.0, 1, 100, 70, 0, 20)]
    [InlineData(1.0, 1, 100, 70, 1000, 33)]
    public void Invalid_requests_are_refused(double eps, int rounds, int n, int t, int d, int bits)
    {
        Assert.False(DistributedDpPlanner.TryPlan(Request(eps, rounds, n, t, d, bits), out _, out var refusal));
        Assert.Equal(PlanRefusalReason.InvalidRequest, refusal!.Reason);
    }

    [Fact]
    public void Plans_never_exceed_their_target()
    {
        var arb = Gen.Choose(1, 40).SelectMany(_ => Gen.Choose(2, 200), (e, n) => (e, n))
            .SelectMany(_ => Gen.Choose(1, 20), (en, r) => (Eps: en.e / 4.0, N: en.n, Rounds: r)).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(8), Prop.ForAll(arb, s =>
        {
            var req = Request(s.Eps, s.Rounds, s.N, Math.Max(1, (2 * s.N) / 3), 512, 24);
            return !DistributedDpPlanner.TryPlan(req, out var plan, out _) || plan!.TotalEpsilon <= s.Eps;
        }));
    }
}
