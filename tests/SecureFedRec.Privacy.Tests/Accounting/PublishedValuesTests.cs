using SecureFedRec.Privacy.Accounting;
using SecureFedRec.Privacy.Internal;

namespace SecureFedRec.Privacy.Tests.Accounting;

/// <summary>The accountant against values published by tensorflow/privacy and Google's dp_accounting.</summary>
public sealed class PublishedValuesTests
{
    /// <summary>
    /// Published (ε, optimal order) values, one row per case with its source:
    /// <list type="bullet">
    /// <item>tensorflow/privacy <c>tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy_test.py</c>: DP-SGD with
    /// q = batch/N, steps = ceil(epochs·N/batch), orders [1.25 … 4.5] + 5..63 + [128, 256, 512].</item>
    /// <item>dp_accounting <c>rdp/rdp_privacy_accountant_test.py</c>: q = 1, z = 4.530877117 gives ε = 1.0 at δ = 1e-6;
    /// constant RDP 1.1 on orders 2..32 gives ε = 1.32783806176 at δ = 1e-5 (order 32).</item>
    /// </list>
    /// </summary>
    public static TheoryData<string, string, double, double, double> PublishedCases => new()
    {
        { "dpsgd-60000-150-1.3-15", "tensorflow/privacy compute_dp_sgd_privacy_test.py", 0.7242234026, 19.0, 1e-9 },
        { "dpsgd-100000-100-1.0-30", "tensorflow/privacy compute_dp_sgd_privacy_test.py", 1.4154988495, 13.0, 1e-9 },
        { "gaussian-q1-z4.530877117", "dp_accounting rdp_privacy_accountant_test.py", 1.0, double.NaN, 1e-6 },
        { "constant-rdp-1.1-orders-2-32", "dp_accounting rdp_privacy_accountant_test.py", 1.32783806176, 32.0, 1e-10 },
    };

    [Theory]
    [MemberData(nameof(PublishedCases))]
    public void Accountant_matches_published_value(string caseId, string source, double expectedEps, double expectedOrder, double tolerance)
    {
        Assert.False(string.IsNullOrEmpty(source));
        var result = caseId switch
        {
            "dpsgd-60000-150-1.3-15" => DpSgd(60_000, 150, 1.3, 15, 1e-5),
            "dpsgd-100000-100-1.0-30" => DpSgd(100_000, 100, 1.0, 30, 1e-7),
            "gaussian-q1-z4.530877117" => RdpAccountant.SubsampledGaussian(1.0, 4.530877117, 1).ToEpsilon(1e-6),
            "constant-rdp-1.1-orders-2-32" => ConstantRdp(1.1, 2, 32).ToEpsilon(1e-5),
            _ => throw new ArgumentOutOfRangeException(nameof(caseId)),
        };
        Assert.Equal(expectedEps, result.Epsilon, tolerance);
        if (!double.IsNaN(expectedOrder))
        {
            Assert.Equal(expectedOrder, result.Order);
        }
    }

    private static EpsilonAtOrder DpSgd(int n, int batch, double noise, int epochs, double delta)
    {
        var q = (double)batch / n;
        var steps = (int)Math.Ceiling((double)epochs * n / batch);
        return RdpAccountant.SubsampledGaussian(q, noise, steps).ToEpsilon(delta);
    }

    private static RdpCurve ConstantRdp(double value, int firstOrder, int lastOrder)
    {
        var orders = Enumerable.Range(firstOrder, lastOrder - firstOrder + 1).Select(i => (double)i).ToArray();
        return new RdpCurve(orders, orders.Select(_ => value).ToArray());
    }

    /// <summary>Reference values of erfc (Abramowitz &amp; Stegun Table 7.1 / any CAS).</summary>
    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(0.3, 0.6713732405408726)]
    [InlineData(0.5, 0.4795001221869535)]
    [InlineData(1.0, 0.15729920705028513)]
    [InlineData(2.0, 0.004677734981047266)]
    [InlineData(5.0, 1.5374597944280349e-12)]
    [InlineData(-1.0, 1.8427007929497148)]
    [InlineData(-3.0, 1.9999779095030015)]
    public void LogErfc_matches_reference(double x, double erfc)
    {
        Assert.Equal(Math.Log(erfc), LogMath.LogErfc(x), 1e-13);
    }

    [Fact]
    public void LogErfc_does_not_underflow_far_in_the_tail()
    {
        // erfc(30) ≈ 2.5646562037561116e-393: below double's range; asymptotic series of erfc (A&S 7.1.23)
        var x = 30.0;
        var asymptotic = -(x * x) - Math.Log(x * Math.Sqrt(Math.PI)) + Math.Log(1 - (0.5 / (x * x)) + (0.75 / Math.Pow(x, 4)) - (1.875 / Math.Pow(x, 6)) + (6.5625 / Math.Pow(x, 8)));
        Assert.Equal(asymptotic, LogMath.LogErfc(x), 1e-9);
    }

    /// <summary>
    /// τ magnitudes quoted by KLS 2021 (Thm. 1 discussion): σ = 2 gives τ ≈ 7e-17 and σ = 0.5 gives τ ≈ 10 at n = 100.
    /// </summary>
    [Theory]
    [InlineData(2.0, 100, 6.5e-17, 7.5e-17)]
    [InlineData(0.5, 100, 9.0, 10.5)]
    public void Tau_matches_reference_magnitudes(double sigma, int n, double low, double high)
    {
        Assert.InRange(DistributedDiscreteGaussianAccountant.Tau(sigma, n), low, high);
    }
}
