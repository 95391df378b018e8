using System.Text.Json.Nodes;
using SecureFedRec.Privacy;
using SecureFedRec.Privacy.Accounting;
using SecureFedRec.Privacy.Ledger;

namespace SecureFedRec.Conformance.Tests;

/// <summary>
/// protocol-spec/vectors/dp/accountant.json (protocol-spec/vectors.md §3): what a client's accountant charges for a
/// round — the RDP curve of the distributed discrete Gaussian at every integer order, its (ε, δ) conversion, the
/// charge at q = 1 (what the client's ledger records against the coordinator) beside the amplified figure at the
/// announced q (reported apart, never charged), and R-fold composition. The product must give the file's values bit
/// for bit; the q = 1 curve and the conversion are also recomputed here from dp.md §5.1/§5.4 (relative 1e-12).
/// </summary>
public sealed class AccountantVectorTests
{
    private const string File = "dp/accountant.json";

    private static readonly MechanismParameters Small = new()
    {
        Dimension = 5,
        Bits = 16,
        Clip = 1,
        Gamma = 1.0 / 64,
        Beta = Math.Exp(-0.5),
        SigmaSquaredNumerator = 50,
        SigmaSquaredDenominator = 1,
        PlannedClients = 3,
        MinClients = 2,
        Delta = 1e-5,
    };

    private static readonly MechanismParameters Planned = new()
    {
        Dimension = 1000,
        Bits = 20,
        Clip = 1,
        Gamma = 7.30e-5,
        Beta = Math.Exp(-0.5),
        SigmaSquaredNumerator = 2_800_000UL << 20,
        SigmaSquaredDenominator = 1 << 20,
        PlannedClients = 100,
        MinClients = 67,
        Delta = 1e-5,
        SamplingRate = 0.01,
    };

    private static readonly (string Name, MechanismParameters P, int Contributors, int Rounds, double LedgerDelta)[] Cases =
    [
        ("small/at-threshold", Small, 2, 1, 1e-5),
        ("small/three-contributors", Small, 3, 1, 1e-5),
        ("planned-n100/announced-q-0.01/ten-rounds", Planned, 67, 10, 1e-5),
    ];

    internal static JsonNode Generate()
    {
        var cases = new JsonArray();
        foreach ((string name, MechanismParameters p, int m, int rounds, double delta) in Cases)
        {
            MechanismParameters certain = p with { SamplingRate = 1 };
            RdpCurve curve = DistributedDiscreteGaussianAccountant.RoundCurve(certain, m);
            EpsilonAtOrder one = curve.ToEpsilon(delta);
            EpsilonAtOrder composed = curve.Compose(rounds).ToEpsilon(delta);
            EpsilonAtOrder amplified = DistributedDiscreteGaussianAccountant.RoundCurve(p, m).ToEpsilon(delta);
            cases.Add(new JsonObject
            {
                ["name"] = name,
                ["parameters"] = Parameters(p),
                ["contributingClients"] = m,
                ["ledgerDelta"] = delta,
                ["roundedL2Bound"] = DistributedDiscreteGaussianAccountant.RoundedL2Bound(p.Clip / p.Gamma, p.Beta, p.PaddedDimension),
                ["tau"] = DistributedDiscreteGaussianAccountant.Tau(p.Sigma, m),
                ["orders"] = VectorFile.Array(curve.Orders),
                ["rdp"] = VectorFile.Array(curve.Values),
                ["roundEpsilon"] = one.Epsilon,
                ["roundOrder"] = one.Order,
                ["rounds"] = rounds,
                ["composedEpsilon"] = composed.Epsilon,
                ["composedOrder"] = composed.Order,
                ["amplifiedRoundEpsilon"] = amplified.Epsilon,
            });
        }

        return new JsonObject
        {
            ["description"] = "Client accountant (protocol-spec/dp.md §5, §7.3): the distributed discrete Gaussian RDP curve, the (ε, δ) conversion, the charge at q = 1 and the amplified figure at the announced q; fields in protocol-spec/vectors.md §3.",
            ["reference"] = "protocol-spec/vectors.md §3, protocol-spec/dp.md §5.1, §5.4, §7.3",
            ["cases"] = cases,
        };
    }

    private static JsonObject Parameters(MechanismParameters p) => new()
    {
        ["dimension"] = p.Dimension,
        ["bits"] = p.Bits,
        ["clip"] = p.Clip,
        ["gamma"] = p.Gamma,
        ["beta"] = p.Beta,
        ["sigma2Num"] = p.SigmaSquaredNumerator,
        ["sigma2Den"] = p.SigmaSquaredDenominator,
        ["plannedClients"] = p.PlannedClients,
        ["minClients"] = p.MinClients,
        ["delta"] = p.Delta,
        ["samplingRate"] = p.SamplingRate,
        ["k"] = p.K,
    };

    public static TheoryData<string> CaseNames => new(Cases.Select(c => c.Name));

    [Fact]
    public void The_published_file_is_what_the_generator_produces() => VectorFile.AssertCommitted(File, Generate());

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void The_product_accountant_gives_the_published_values(string name)
    {
        JsonNode c = Case(name);
        MechanismParameters p = DpVectorTests.ParametersOf(c["parameters"]!);
        int m = c["contributingClients"]!.GetValue<int>();
        double delta = c["ledgerDelta"]!.GetValue<double>();
        RdpCurve curve = DistributedDiscreteGaussianAccountant.RoundCurve(p with { SamplingRate = 1 }, m);
        Assert.Equal(VectorFile.Doubles(c["orders"]), curve.Orders);
        Assert.Equal(VectorFile.Doubles(c["rdp"]), curve.Values);
        Assert.Equal(c["roundEpsilon"]!.GetValue<double>(), curve.ToEpsilon(delta).Epsilon);
        Assert.Equal(c["composedEpsilon"]!.GetValue<double>(), curve.Compose(c["rounds"]!.GetValue<int>()).ToEpsilon(delta).Epsilon);
        Assert.Equal(c["amplifiedRoundEpsilon"]!.GetValue<double>(), DistributedDiscreteGaussianAccountant.RoundCurve(p, m).ToEpsilon(delta).Epsilon);

        // What the client's ledger records for the round: the q = 1 figure, whatever q was announced.
        var ledger = new Rounds.MemoryPrivacyLedger(new PrivacyBudget(1e9, delta));
        LedgerDecision charge = ledger.Charge(new RoundCharge("round-1", p with { SamplingRate = 1 }, m));
        Assert.Equal(LedgerOutcome.Charged, charge.Outcome);
        Assert.Equal(c["roundEpsilon"]!.GetValue<double>(), charge.RoundEpsilon, 1e-12);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void The_certain_curve_and_its_conversion_replay_from_the_spec(string name)
    {
        JsonNode c = Case(name);
        MechanismParameters p = DpVectorTests.ParametersOf(c["parameters"]!);
        int m = c["contributingClients"]!.GetValue<int>();
        int d = p.PaddedDimension;
        double sigma = Math.Sqrt((double)p.SigmaSquaredNumerator / p.SigmaSquaredDenominator);
        double scaled = p.Clip / p.Gamma;
        double l2Bound = Math.Min(scaled + Math.Sqrt(d), Math.Sqrt((scaled * scaled) + (d / 4.0) + (Math.Sqrt(2 * Math.Log(1 / p.Beta)) * (scaled + (Math.Sqrt(d) / 2)))));
        Near(c["roundedL2Bound"]!.GetValue<double>(), l2Bound);
        double tau = 10 * Enumerable.Range(1, m - 1).Sum(k => Math.Exp(-2 * Math.PI * Math.PI * sigma * sigma * k / (k + 1.0)));
        Near(c["tau"]!.GetValue<double>(), tau);
        double l2 = l2Bound / (Math.Sqrt(m) * sigma);
        double l1 = l2Bound * Math.Min(Math.Sqrt(d), l2Bound) / (Math.Sqrt(m) * sigma);
        double[] orders = VectorFile.Doubles(c["orders"]);
        double[] rdp = VectorFile.Doubles(c["rdp"]);
        double delta = c["ledgerDelta"]!.GetValue<double>();
        double best = double.PositiveInfinity;
        for (int i = 0; i < orders.Length; i++)
        {
            double a = orders[i];
            double expected = Math.Min((a * l2 * l2 / 2) + (tau * d),
                Math.Min(a / 2 * ((l2 * l2) + (2 * l1 * tau) + (tau * tau * d)), a / 2 * Math.Pow(l2 + (Math.Sqrt(d) * tau), 2)));
            Near(rdp[i], expected);
            best = Math.Min(best, rdp[i] + Math.Log(1 - (1 / a)) - (Math.Log(delta * a) / (a - 1)));
        }

        Near(c["roundEpsilon"]!.GetValue<double>(), Math.Max(0, best));
        Assert.True(c["amplifiedRoundEpsilon"]!.GetValue<double>() <= c["roundEpsilon"]!.GetValue<double>());
    }

    private static void Near(double expected, double actual) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"expected {expected:R}, recomputed {actual:R}");

    private static JsonNode Case(string name) =>
        VectorFile.Load(File)["cases"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == name)!;
}
