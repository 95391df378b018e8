using System.Buffers.Binary;
using System.Security.Cryptography;
using SecureFedRec.Protocol.Wire;
using GraphKind = SecureFedRec.Protocol.Graph.GraphKind;

namespace SecureFedRec.Rounds.Tests;

public sealed class PlanTests
{
    [Theory]
    [InlineData(2, 2.0 / 3, ThreatMode.HonestButCurious, 2)]
    [InlineData(3, 2.0 / 3, ThreatMode.HonestButCurious, 2)]
    [InlineData(10, 2.0 / 3, ThreatMode.HonestButCurious, 7)]
    [InlineData(10, 0.6, ThreatMode.HonestButCurious, 6)]
    [InlineData(10, 0.3, ThreatMode.HonestButCurious, 3)]
    [InlineData(10, 0.3, ThreatMode.Malicious, 6)]
    [InlineData(100, 1.0, ThreatMode.HonestButCurious, 100)]
    public void The_one_threshold_rule(int n, double fraction, ThreatMode mode, int expected) =>
        Assert.Equal(expected, RoundPlanner.Threshold(n, fraction, mode));

    public static TheoryData<string, RoundPlanRefusal> Refusals() => new()
    {
        { "one-client", RoundPlanRefusal.InvalidSettings },
        { "zero-epsilon", RoundPlanRefusal.InvalidSettings },
        { "bad-delta", RoundPlanRefusal.InvalidSettings },
        { "unreachable-epsilon", RoundPlanRefusal.DpInfeasible },
        { "no-bits", RoundPlanRefusal.DpInfeasible },
        { "fixed-point-overflow", RoundPlanRefusal.FixedPointOverflow },
        { "harary-fractions", RoundPlanRefusal.GraphInfeasible },
        { "bad-unit", RoundPlanRefusal.InvalidSettings },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Infeasible_rounds_are_refused_with_a_reason(string @case, RoundPlanRefusal expected)
    {
        RoundSettings s = Harness.Settings();
        int clients = 10;
        switch (@case)
        {
            case "one-client": clients = 1; break;
            case "zero-epsilon": s = s with { TargetEpsilon = 0 }; break;
            case "bad-delta": s = s with { Delta = 1.5 }; break;
            case "unreachable-epsilon": s = s with { TargetEpsilon = 1e-9, PlannedRounds = 100_000 }; break;
            case "no-bits": s = s with { Bits = 8, Dimension = 1 << 16 }; break;
            case "fixed-point-overflow": s = s with { TargetEpsilon = null, Bits = 8, FixedPointBounds = Enumerable.Repeat(1e9, Harness.Dimension).ToArray() }; break;
            case "harary-fractions": s = s with { Graph = GraphSelection.Harary, CollusionFraction = 0.6, DropoutFraction = 0.6 }; break;
            default: s = s with { Privacy = PrivacyUnit.Unspecified }; break;
        }

        Assert.False(RoundPlanner.TryPlan(s, 1, 1, clients, out RoundPlan? plan, out RoundPlanRefusal refusal, out string? detail));
        Assert.Null(plan);
        Assert.Equal(expected, refusal);
        Assert.False(string.IsNullOrWhiteSpace(detail));
    }

    [Fact]
    public void A_private_plan_uses_the_planner_once_and_binds_everything()
    {
        Assert.True(RoundPlanner.TryPlan(Harness.Settings(), 7, 3, 10, out RoundPlan? plan, out _, out _));
        RoundContract c = plan!.Contract;
        Assert.Equal(7ul, c.RoundId);
        Assert.Equal(3ul, c.ModelVersion);
        Assert.Equal(7, plan.Threshold);
        Assert.Equal(7, c.Dp.MinClients);
        Assert.Equal(10, c.Dp.PlannedClients);
        Assert.Equal(GraphKind.Full, plan.Graph);
        Assert.True(c.IsPrivate);
        Assert.Null(c.Check());
        Assert.True(c.ClaimedEpsilon > 0);
        Assert.True(plan.TotalEpsilon <= 10 * (1 + 1e-9));
    }

    [Fact]
    public void A_large_cohort_gets_a_Harary_graph_from_the_finder()
    {
        Assert.True(RoundPlanner.TryPlan(Harness.Settings() with { HararyFromClients = 100 }, 1, 1, 200, out RoundPlan? plan, out _, out _));
        Assert.Equal(GraphKind.Harary, plan!.Graph);
        Assert.True(plan.Degree < 199);
        Assert.Equal(plan.Threshold, plan.Contract.Dp.MinClients);
    }

    [Fact]
    public void Per_user_privacy_clips_the_silo_at_m_C_and_charges_at_C()
    {
        RoundSettings s = Harness.Settings() with { Privacy = PrivacyUnit.User, MaxUsersPerClient = 4, Clip = 0.5 };
        Assert.True(RoundPlanner.TryPlan(s, 1, 1, 10, out RoundPlan? plan, out _, out _));
        RoundContract c = plan!.Contract;
        Assert.Equal(2.0, c.Dp.Clip, 12);
        Assert.Equal(0.5, c.AccountingParameters.Clip, 12);
        Assert.Equal(0, c.Dp.Beta);
        Assert.Null(c.Check());
    }

    public static TheoryData<string> ContractFields() => new()
    {
        "round", "model", "mode", "unit", "clip", "gamma", "sigma", "planned", "min", "delta", "claimed", "userclip", "users", "encoding", "bounds",
    };

    [Theory]
    [MemberData(nameof(ContractFields))]
    public void Every_contract_field_changes_the_binding(string field)
    {
        Assert.True(RoundPlanner.TryPlan(Harness.Settings(), 1, 1, 10, out RoundPlan? plan, out _, out _));
        RoundContract c = plan!.Contract;
        RoundContract changed = field switch
        {
            "round" => c with { RoundId = 2 },
            "model" => c with { ModelVersion = 2 },
            "mode" => c with { Mode = ThreatMode.Malicious },
            "unit" => c with { Privacy = PrivacyUnit.User },
            "clip" => c with { Dp = c.Dp with { Clip = c.Dp.Clip * 2 } },
            "gamma" => c with { Dp = c.Dp with { Gamma = c.Dp.Gamma * 2 } },
            "sigma" => c with { Dp = c.Dp with { SigmaSquaredNumerator = c.Dp.SigmaSquaredNumerator + 1 } },
            "planned" => c with { Dp = c.Dp with { PlannedClients = 11 } },
            "min" => c with { Dp = c.Dp with { MinClients = 8 } },
            "delta" => c with { Dp = c.Dp with { Delta = 1e-6 } },
            "claimed" => c with { ClaimedEpsilon = c.ClaimedEpsilon / 2 },
            "userclip" => c with { UserClip = 0.25 },
            "users" => c with { MaxUsersPerClient = 2 },
            "encoding" => c with { Encoding = UpdateEncoding.FixedPointNoDp },
            _ => c with { FixedPointBounds = [1.0] },
        };
        Assert.False(c.Binding().AsSpan().SequenceEqual(changed.Binding()));
        Assert.Equal(32, c.Binding().Length);
    }

    [Fact]
    public void The_canonical_encoding_starts_with_its_label_and_fixed_width_fields()
    {
        Assert.True(RoundPlanner.TryPlan(Harness.Settings(), 0x0102030405060708, 9, 10, out RoundPlan? plan, out _, out _));
        byte[] bytes = plan!.Contract.CanonicalEncoding();
        byte[] label = "SecureFedRec/v1\0round-contract\0"u8.ToArray();
        Assert.Equal(label, bytes[..label.Length]);
        Assert.Equal(0x0102030405060708ul, BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(label.Length)));
        Assert.Equal(9ul, BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(label.Length + 8)));
        Assert.Equal(label.Length + 132 + 4, bytes.Length); // + u32 count of cohort entries (none: the host lists the cohort)
        Assert.Equal(SHA256.HashData(bytes), plan.Contract.Binding());
    }

    [Fact]
    public void The_rotation_seed_is_the_documented_derivation()
    {
        byte[] input = [.. "SecureFedRec/v1\0rotation-seed\0"u8, 0, 0, 0, 0, 0, 0, 0, 42];
        Assert.Equal(SHA256.HashData(input), RoundContract.RotationSeedFor(42));
    }
}
