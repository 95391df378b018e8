using FsCheck;
using FsCheck.Fluent;
using SecureFedRec.Privacy.Accounting;

namespace SecureFedRec.Privacy.Tests.Accounting;

/// <summary>Monotonicity and composition properties of the accountant (FsCheck).</summary>
public sealed class AccountantPropertyTests
{
    private static readonly Config Quick = Config.QuickThrowOnFailure.WithMaxTest(40);

    private static Arbitrary<(double Q, double Z, int Steps)> Settings() =>
        Gen.Choose(1, 200).SelectMany(q => Gen.Choose(50, 500), (q, z) => (q, z))
            .SelectMany(_ => Gen.Choose(1, 2000), (qz, s) => (qz.q / 1000.0, qz.z / 100.0, s))
            .ToArbitrary();

    private static double Eps(double q, double z, int steps, double delta = 1e-5) =>
        RdpAccountant.SubsampledGaussian(q, z, steps).ToEpsilon(delta).Epsilon;

    [Fact]
    public void Epsilon_decreases_as_noise_grows()
    {
        Check.One(Quick, Prop.ForAll(Settings(), s => Eps(s.Q, s.Z * 1.25, s.Steps) <= Eps(s.Q, s.Z, s.Steps) + 1e-12));
    }

    [Fact]
    public void Epsilon_grows_with_rounds()
    {
        Check.One(Quick, Prop.ForAll(Settings(), s => Eps(s.Q, s.Z, s.Steps + 7) >= Eps(s.Q, s.Z, s.Steps) - 1e-12));
    }

    [Fact]
    public void Epsilon_grows_with_sampling_rate()
    {
        Check.One(Quick, Prop.ForAll(Settings(), s => Eps(Math.Min(1, s.Q * 1.5), s.Z, s.Steps) >= Eps(s.Q, s.Z, s.Steps) - 1e-12));
    }

    [Fact]
    public void Subsampled_rdp_never_exceeds_the_unsampled_gaussian()
    {
        Check.One(Quick, Prop.ForAll(Settings(), s => RdpAccountant.DefaultOrders.All(
            a => RdpAccountant.SubsampledGaussianRdp(s.Q, s.Z, a) <= RdpAccountant.GaussianRdp(s.Z, a) * (1 + 1e-12))));
    }

    [Fact]
    public void Composition_adds_rdp_and_never_lowers_epsilon()
    {
        var arb = Gen.Choose(1, 500).SelectMany(_ => Gen.Choose(1, 500), (a, b) => (a, b)).ToArbitrary();
        var one = RdpAccountant.SubsampledGaussian(0.01, 1.1, 1);
        Check.One(Quick, Prop.ForAll(arb, ab =>
        {
            var split = one.Compose(ab.a).Plus(one.Compose(ab.b));
            var whole = one.Compose(ab.a + ab.b);
            var sameCurve = split.Values.Zip(whole.Values).All(p => Math.Abs(p.First - p.Second) <= 1e-12 * Math.Max(1, p.Second));
            var total = whole.ToEpsilon(1e-6).Epsilon;
            return sameCurve && total >= one.Compose(ab.a).ToEpsilon(1e-6).Epsilon - 1e-12 && total >= one.Compose(ab.b).ToEpsilon(1e-6).Epsilon - 1e-12;
        }));
    }

    [Fact]
    public void Distributed_discrete_gaussian_epsilon_falls_with_noise_and_survivors()
    {
        var arb = Gen.Choose(2, 300).SelectMany(_ => Gen.Choose(10, 400), (n, s) => (n, s)).ToArbitrary();
        Check.One(Quick, Prop.ForAll(arb, p =>
        {
            double E(ulong sigmaSquaredHundredths, int survivors) => DistributedDiscreteGaussianAccountant
                .RoundCurve(Parameters(sigmaSquaredHundredths, p.n), survivors).ToEpsilon(1e-5).Epsilon;
            var sq = (ulong)(p.s * p.s);
            return E(sq * 2, p.n) <= E(sq, p.n) + 1e-12 && E(sq, p.n) <= E(sq, Math.Max(1, p.n / 2)) + 1e-12;
        }));
    }

    internal static MechanismParameters Parameters(ulong sigmaSquaredHundredths, int n) => new()
    {
        Dimension = 1000,
        Bits = 20,
        Clip = 1.0,
        Gamma = 0.01,
        Beta = Math.Exp(-0.5),
        SigmaSquaredNumerator = sigmaSquaredHundredths,
        SigmaSquaredDenominator = 100,
        PlannedClients = n,
        MinClients = n,
        Delta = 1e-5,
    };

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-1e-3)]
    [InlineData(double.NaN)]
    public void Conversion_refuses_delta_outside_the_open_unit_interval(double delta)
    {
        var curve = RdpAccountant.SubsampledGaussian(0.01, 1.0, 10);
        Assert.Throws<ArgumentOutOfRangeException>(() => curve.ToEpsilon(delta));
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    [InlineData(double.NaN)]
    [InlineData(double.NegativeInfinity)]
    public void Accountant_refuses_orders_at_or_below_one(double order)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RdpAccountant.SubsampledGaussianRdp(0.1, 1.0, order));
    }

    [Fact]
    public void Curve_refuses_negative_rdp()
    {
        Assert.Throws<ArgumentException>(() => new RdpCurve([2.0, 3.0], [0.1, -0.1]));
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    [InlineData(double.NaN)]
    public void Curve_refuses_orders_at_or_below_one(double order)
    {
        Assert.Throws<ArgumentException>(() => new RdpCurve([2.0, order], [0.1, 0.1]));
    }

    [Theory]
    [InlineData(double.PositiveInfinity)]
    [InlineData(1.0)]
    public void Distributed_discrete_gaussian_still_refuses_non_finite_or_low_orders(double order)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => DistributedDiscreteGaussianAccountant.Rdp(order, 1, 1, 1, 10, 10));
    }
}
