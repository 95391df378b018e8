using FsCheck;
using FsCheck.Fluent;
using SecureFedRec.Privacy.Accounting;

namespace SecureFedRec.Privacy.Tests.Accounting;

/// <summary>
/// The generic Poisson-subsampling bound (Zhu and Wang, ICML 2019, Thm. 5) used for client sampling in the distributed
/// discrete Gaussian: it must upper-bound the exact subsampled Gaussian (Mironov, Talwar, Zhang 2019 is tight for the
/// Gaussian) and never exceed the unsampled mechanism.
/// </summary>
public sealed class SubsamplingTests
{
    [Fact]
    public void Generic_bound_sits_between_the_exact_subsampled_gaussian_and_the_plain_gaussian()
    {
        var arb = Gen.Choose(1, 500).SelectMany(_ => Gen.Choose(60, 400), (q, z) => (q, z))
            .SelectMany(_ => Gen.Choose(2, 64), (qz, a) => (Q: qz.q / 1000.0, Z: qz.z / 100.0, Alpha: a)).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(60), Prop.ForAll(arb, s =>
        {
            double Plain(int a) => RdpAccountant.GaussianRdp(s.Z, a);
            var generic = RdpAccountant.SubsampledGenericRdp(s.Alpha, s.Q, Plain);
            var exact = RdpAccountant.SubsampledGaussianRdp(s.Q, s.Z, s.Alpha);
            return generic >= exact * (1 - 1e-9) - 1e-15 && generic <= Plain(s.Alpha) * (1 + 1e-12);
        }));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(17)]
    [InlineData(256)]
    public void Without_sampling_the_generic_bound_is_the_mechanism_itself(int order)
    {
        Assert.Equal(RdpAccountant.GaussianRdp(1.5, order), RdpAccountant.SubsampledGenericRdp(order, 1.0, a => RdpAccountant.GaussianRdp(1.5, a)));
    }

    [Fact]
    public void Client_sampling_lowers_the_distributed_discrete_gaussian_epsilon()
    {
        var p = AccountantPropertyTests.Parameters(40_000, 50);
        var all = DistributedDiscreteGaussianAccountant.RoundCurve(p, 50).Compose(100).ToEpsilon(1e-5).Epsilon;
        var sampled = DistributedDiscreteGaussianAccountant.RoundCurve(p with { SamplingRate = 0.1 }, 50).Compose(100).ToEpsilon(1e-5).Epsilon;
        Assert.True(sampled < all / 2, $"sampled {sampled}, all {all}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    public void Generic_bound_refuses_orders_below_two(int order)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RdpAccountant.SubsampledGenericRdp(order, 0.5, a => a));
    }
}
