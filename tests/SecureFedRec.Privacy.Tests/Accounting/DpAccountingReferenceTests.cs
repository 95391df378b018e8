using SecureFedRec.Privacy.Accounting;

namespace SecureFedRec.Privacy.Tests.Accounting;

/// <summary>
/// The Poisson-subsampled Gaussian against Google's dp_accounting as it is now (≥ 0.4.4, which changed the fractional-order
/// series; values checked against 0.6.0, <c>python/dp_accounting/dp_accounting/rdp/rdp_privacy_accountant_test.py</c>,
/// <c>test_compute_rdp_poisson_sampled_gaussian</c>: q = 0.01, z = 2.5, 50 self-compositions, <c>np.allclose(…, rtol=1e-4)</c>).
/// </summary>
public sealed class DpAccountingReferenceTests
{
    private const double Q = 0.01;
    private const double Z = 2.5;
    private const int Steps = 50;

    /// <summary>One row per order of that test, with dp_accounting 0.6.0's expected value.</summary>
    public static TheoryData<double, double> ReferenceRows => new()
    {
        { 1.5, 6.70579741e-04 },
        { 2.5, 1.08548710e-03 },
        { 5, 2.18075656e-03 },
        { 50, 2.38460375e-02 },
        { 100, 1.67416308e02 },
        { double.PositiveInfinity, double.PositiveInfinity },
    };

    [Theory]
    [MemberData(nameof(ReferenceRows))]
    public void Subsampled_gaussian_matches_dp_accounting_0_6_0(double order, double expected)
    {
        var curve = RdpAccountant.SubsampledGaussian(Q, Z, Steps, [order]);
        var actual = curve.Values[0];
        if (double.IsPositiveInfinity(expected))
        {
            Assert.True(double.IsPositiveInfinity(actual), $"order {order}: {actual}");
            return;
        }

        // np.allclose(a, b, rtol) is |a − b| ≤ atol + rtol·|b| with atol = 1e-8; we hold the relative part alone.
        Assert.True(Math.Abs(actual - expected) <= 1e-4 * Math.Abs(expected), $"order {order}: {actual:R} vs {expected:R}");
    }

    [Fact]
    public void The_whole_reference_curve_composes_in_one_call()
    {
        double[] orders = [1.5, 2.5, 5, 50, 100, double.PositiveInfinity];
        var curve = RdpAccountant.SubsampledGaussian(Q, Z, Steps, orders);
        Assert.Equal(orders, curve.Orders);
        Assert.True(double.IsPositiveInfinity(curve.Values[^1]));
        // ε over those orders is finite (the ∞ order is just never the optimum here).
        var eps = curve.ToEpsilon(1e-5);
        Assert.True(double.IsFinite(eps.Epsilon) && eps.Order < 100, $"{eps}");
    }

    [Theory]
    [InlineData(0.0, 1.0, 0.0)]
    [InlineData(0.0, 0.0, 0.0)]
    [InlineData(0.3, 1.0, double.PositiveInfinity)]
    [InlineData(1.0, 1.0, double.PositiveInfinity)]
    [InlineData(0.3, 0.0, double.PositiveInfinity)]
    public void Order_infinity_is_answered(double q, double z, double expected)
    {
        Assert.Equal(expected, RdpAccountant.SubsampledGaussianRdp(q, z, double.PositiveInfinity));
    }

    [Fact]
    public void Pure_dp_at_order_infinity_converts_to_its_epsilon()
    {
        // A curve that is (∞, 0.7)-RDP is 0.7-DP: the bound's limit as α → ∞ is r(∞) itself.
        var curve = new RdpCurve([2.0, double.PositiveInfinity], [5.0, 0.7]);
        var eps = curve.ToEpsilon(1e-6);
        Assert.Equal(0.7, eps.Epsilon, 12);
        Assert.True(double.IsPositiveInfinity(eps.Order));
    }

    [Fact]
    public void Zero_compositions_of_an_infinite_order_are_zero_not_nan()
    {
        var curve = RdpAccountant.SubsampledGaussian(Q, Z, 1, [2.0, double.PositiveInfinity]).Compose(0);
        Assert.Equal([0.0, 0.0], curve.Values);
    }

    /// <summary>
    /// RDP is non-decreasing in α (van Erven and Harremoës 2014), so an upper bound at a fractional α is at least the exact
    /// value at ⌊α⌋, and subsampling never costs more than the plain Gaussian.
    /// </summary>
    [Theory]
    [InlineData(0.01, 2.5)]
    [InlineData(0.1, 1.0)]
    [InlineData(0.001, 0.8)]
    [InlineData(0.5, 4.0)]
    [InlineData(0.9, 0.7)]
    public void Fractional_orders_are_bounded_by_their_integer_neighbour_and_the_plain_gaussian(double q, double z)
    {
        foreach (var a in new[] { 2.25, 2.5, 2.75, 3.5, 4.5, 10.5, 63.5 })
        {
            var value = RdpAccountant.SubsampledGaussianRdp(q, z, a);
            var below = RdpAccountant.SubsampledGaussianRdp(q, z, Math.Floor(a));
            Assert.True(value >= below * (1 - 1e-9), $"α {a}: {value} < exact at ⌊α⌋ {below}");
            Assert.True(value <= RdpAccountant.GaussianRdp(z, a), $"α {a}: {value} above the plain Gaussian");
        }
    }

    [Fact]
    public void A_non_converging_fractional_series_falls_back_to_the_plain_gaussian()
    {
        // q = 0.1, z = 1, α = 1.5: the |C(α, i)| series decays only polynomially, so dp_accounting gives up (+∞) after
        // 1,000 terms; the answer is then the unsampled Gaussian's α/(2z²).
        Assert.True(double.IsPositiveInfinity(RdpAccountant.LogAFractional(0.1, 1.0, 1.5)));
        Assert.Equal(RdpAccountant.GaussianRdp(1.0, 1.5), RdpAccountant.SubsampledGaussianRdp(0.1, 1.0, 1.5));
    }
}
