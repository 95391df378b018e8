using FsCheck;
using FsCheck.Fluent;
using SecureFedRec.Protocol.Graph;

namespace SecureFedRec.Protocol.Tests.GraphTests;

public sealed class GraphParameterFinderTests
{
    private const ThreatModel Curious = ThreatModel.HonestButCurious;
    private const ThreatModel Semi = ThreatModel.SemiMalicious;

    /// <summary>
    /// The reference table: google-parfait/federated-compute, fcp/secagg/server/graph_parameter_finder_test.cc
    /// (σ = 40, η = 20; k excludes the self edge). One row per cell; (k, t) must match exactly.
    /// </summary>
    public static TheoryData<int, double, double, ThreatModel, int, int> ReferenceTable() => new()
    {
        { 100, 0.05, 0.33, Curious, 28, 6 },
        { 1_000, 0.05, 0.33, Curious, 72, 24 },
        { 10_000, 0.05, 0.33, Curious, 86, 29 },
        { 100_000, 0.05, 0.33, Curious, 96, 32 },
        { 1_000_000, 0.05, 0.33, Curious, 102, 34 },
        { 100, 0.33, 0.05, Curious, 34, 29 },
        { 1_000, 0.33, 0.05, Curious, 78, 60 },
        { 10_000, 0.33, 0.05, Curious, 92, 70 },
        { 100_000, 0.33, 0.05, Curious, 102, 77 },
        { 1_000_000, 0.33, 0.05, Curious, 110, 83 },
        { 100, 0.33, 0.33, Curious, 68, 34 },
        { 1_000, 0.33, 0.33, Curious, 286, 150 },
        { 10_000, 0.33, 0.33, Curious, 422, 221 },
        { 100_000, 0.33, 0.33, Curious, 480, 251 },
        { 1_000_000, 0.33, 0.33, Curious, 518, 270 },
        { 100, 0.05, 0.33, Semi, 72, 39 },
        { 1_000, 0.05, 0.33, Semi, 398, 223 },
        { 10_000, 0.05, 0.33, Semi, 746, 420 },
        { 100_000, 0.05, 0.33, Semi, 882, 496 },
        { 1_000_000, 0.05, 0.33, Semi, 970, 545 },
    };

    /// <summary>
    /// The other feasible rows of the same reference test file (its NONE adversary class has no counterpart here and
    /// equals the curious rows). The reference asserts t ≤ expected; we match every row exactly.
    /// </summary>
    public static TheoryData<int, double, double, ThreatModel, int, int> ReferenceSuiteOtherRows() => new()
    {
        { 10, 0.05, 0.33, Curious, 4, 2 },
        { 10, 0.33, 0.05, Curious, 4, 4 },
        { 10, 0.33, 0.33, Curious, 8, 4 },
        { 10, 0.05, 0.33, Semi, 8, 5 },
        { 100, 0.45, 0.45, Curious, 92, 46 },
        { 1_000, 0.45, 0.45, Curious, 822, 417 },
        { 10_000, 0.45, 0.45, Curious, 3494, 1771 },
        { 100_000, 0.45, 0.45, Curious, 5508, 2788 },
        { 1_000_000, 0.45, 0.45, Curious, 6240, 3156 },
        { 100, 0.3, 0.3, Semi, 92, 62 },
        { 1_000, 0.3, 0.3, Semi, 872, 584 },
        { 10_000, 0.3, 0.3, Semi, 4822, 3230 },
        { 100_000, 0.3, 0.3, Semi, 9388, 6286 },
        { 1_000_000, 0.3, 0.3, Semi, 11136, 7454 },
        { 10, 0.33, 0.05, Semi, 4, 4 },
        { 100, 0.33, 0.05, Semi, 42, 37 },
        { 1_000, 0.33, 0.05, Semi, 132, 109 },
        { 10_000, 0.33, 0.05, Semi, 178, 146 },
        { 100_000, 0.33, 0.05, Semi, 196, 160 },
        { 1_000_000, 0.33, 0.05, Semi, 212, 173 },
        { 10, 0.05, 0.05, Curious, 2, 2 },
        { 100, 0.05, 0.05, Curious, 12, 6 },
        { 1_000, 0.05, 0.05, Curious, 30, 17 },
        { 10_000, 0.05, 0.05, Curious, 34, 20 },
        { 100_000, 0.05, 0.05, Curious, 36, 21 },
        { 1_000_000, 0.05, 0.05, Curious, 38, 22 },
        { 10, 0.05, 0.05, Semi, 2, 2 },
        { 100, 0.05, 0.05, Semi, 16, 11 },
        { 1_000, 0.05, 0.05, Semi, 52, 37 },
        { 10_000, 0.05, 0.05, Semi, 62, 44 },
        { 100_000, 0.05, 0.05, Semi, 68, 48 },
        { 1_000_000, 0.05, 0.05, Semi, 74, 52 },
        { 10, 0.33, 0.0, Curious, 4, 4 },
        { 100, 0.33, 0.0, Curious, 26, 25 },
        { 1_000, 0.33, 0.0, Curious, 38, 36 },
        { 10_000, 0.33, 0.0, Curious, 42, 40 },
        { 100_000, 0.33, 0.0, Curious, 46, 44 },
        { 1_000_000, 0.33, 0.0, Curious, 50, 47 },
        { 10, 0.33, 0.0, Semi, 4, 4 },
        { 100, 0.33, 0.0, Semi, 26, 26 },
        { 1_000, 0.33, 0.0, Semi, 38, 37 },
        { 10_000, 0.33, 0.0, Semi, 42, 41 },
        { 100_000, 0.33, 0.0, Semi, 46, 45 },
        { 1_000_000, 0.33, 0.0, Semi, 50, 49 },
        { 10, 0.0, 0.33, Curious, 4, 2 },
        { 100, 0.0, 0.33, Curious, 26, 2 },
        { 1_000, 0.0, 0.33, Curious, 38, 2 },
        { 10_000, 0.0, 0.33, Curious, 42, 2 },
        { 100_000, 0.0, 0.33, Curious, 46, 2 },
        { 1_000_000, 0.0, 0.33, Curious, 50, 2 },
        { 10, 0.0, 0.33, Semi, 8, 5 },
        { 100, 0.0, 0.33, Semi, 68, 35 },
        { 1_000, 0.0, 0.33, Semi, 228, 115 },
        { 10_000, 0.0, 0.33, Semi, 326, 164 },
        { 100_000, 0.0, 0.33, Semi, 372, 187 },
        { 1_000_000, 0.0, 0.33, Semi, 410, 206 },
        { 10, 0.0, 0.0, Curious, 2, 2 },
        { 100, 0.0, 0.0, Curious, 2, 2 },
        { 1_000, 0.0, 0.0, Curious, 2, 2 },
        { 10_000, 0.0, 0.0, Curious, 2, 2 },
        { 100_000, 0.0, 0.0, Curious, 2, 2 },
        { 1_000_000, 0.0, 0.0, Curious, 2, 2 },
        { 10, 0.0, 0.0, Semi, 2, 2 },
        { 100, 0.0, 0.0, Semi, 2, 2 },
        { 1_000, 0.0, 0.0, Semi, 2, 2 },
        { 10_000, 0.0, 0.0, Semi, 2, 2 },
        { 100_000, 0.0, 0.0, Semi, 2, 2 },
        { 1_000_000, 0.0, 0.0, Semi, 2, 2 },
    };

    [Theory]
    [MemberData(nameof(ReferenceTable))]
    public void ReproducesReferenceTable(int n, double gamma, double delta, ThreatModel model, int k, int t)
    {
        GraphParameters p = GraphParameterFinder.Find(n, gamma, delta, model);
        Assert.Equal(new GraphParameters(GraphKind.Harary, k, t), p);
    }

    [Theory]
    [MemberData(nameof(ReferenceSuiteOtherRows))]
    public void ReproducesReferenceSuiteOtherRows(int n, double gamma, double delta, ThreatModel model, int k, int t)
    {
        GraphParameters p = GraphParameterFinder.Find(n, gamma, delta, model);
        Assert.Equal(new GraphParameters(GraphKind.Harary, k, t), p);
    }

    /// <summary>
    /// The reference server falls back to the full graph exactly when the Harary search finds no even k &lt; n − 1,
    /// with t = n − ⌊δn⌋ (fcp/secagg/server/secagg_server.cc, CreateSecAggServer).
    /// </summary>
    [Theory]
    [InlineData(2, 0.05, 0.33, Curious, 2)]
    [InlineData(3, 0.05, 0.33, Curious, 3)]
    [InlineData(3, 0.33, 0.05, Curious, 3)]
    [InlineData(5, 0.33, 0.33, Curious, 4)]
    [InlineData(7, 0.33, 0.33, Curious, 5)]
    [InlineData(7, 0.05, 0.33, Semi, 5)]
    [InlineData(10, 0.45, 0.45, Curious, 6)]
    public void FallsBackToFullGraphWhenNoHararyDegreeQualifies(
        int n, double gamma, double delta, ThreatModel model, int t)
    {
        GraphParameters p = GraphParameterFinder.Find(n, gamma, delta, model);
        Assert.Equal(new GraphParameters(GraphKind.Full, n - 1, t), p);
    }

    [Theory]
    [InlineData(0.05, 0.33, Curious)]
    [InlineData(0.33, 0.05, Curious)]
    [InlineData(0.33, 0.33, Curious)]
    [InlineData(0.05, 0.33, Semi)]
    public void TableThreatModelsUseHararyForEveryCohortOfEightOrMore(double gamma, double delta, ThreatModel model)
    {
        // The reference comment says "e.g. < 65"; its code (which we follow) stops needing the full graph much earlier.
        for (int n = 8; n <= 400; n++)
        {
            GraphParameters p = GraphParameterFinder.Find(n, gamma, delta, model);
            Assert.Equal(GraphKind.Harary, p.Kind);
            Assert.True(p.Degree % 2 == 0 && p.Degree < n - 1, $"n = {n}: k = {p.Degree}");
            Assert.InRange(p.Threshold, 2, p.Degree);
        }
    }

    [Theory]
    [InlineData(1, 0.1, 0.1, Curious, "clients")]
    [InlineData(0, 0.1, 0.1, Curious, "clients")]
    [InlineData(-5, 0.1, 0.1, Curious, "clients")]
    [InlineData(GraphParameterFinder.MaxClients + 1, 0.1, 0.1, Curious, "clients")]
    [InlineData(1000, -0.1, 0.1, Curious, "gamma")]
    [InlineData(1000, 1.0, 0.0, Curious, "gamma")]
    [InlineData(1000, double.NaN, 0.1, Curious, "gamma")]
    [InlineData(1000, 0.1, -1.0, Curious, "delta")]
    [InlineData(1000, 0.1, 1.0, Curious, "delta")]
    [InlineData(1000, 0.1, double.PositiveInfinity, Curious, "delta")]
    [InlineData(1000, 0.5, 0.5, Curious, "delta")]
    [InlineData(1000, 0.45, 0.46, Curious, "delta")]
    [InlineData(1000, 0.5, 0.5, Semi, "delta")]
    [InlineData(1000, 0.33, 0.33, Semi, "delta")]
    [InlineData(1000, 0.1, 0.41, Semi, "delta")]
    [InlineData(1000, 0.1, 0.1, (ThreatModel)0, "model")]
    [InlineData(1000, 0.1, 0.1, (ThreatModel)3, "model")]
    [InlineData(2, 0.05, 0.33, Semi, "clients")]
    [InlineData(2, 0.0, 0.6, Curious, "clients")]
    [InlineData(4, 0.05, 0.33, Semi, "clients")]
    public void RefusesInvalidOrInfeasibleInput(int n, double gamma, double delta, ThreatModel model, string param)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => GraphParameterFinder.Find(n, gamma, delta, model));
        Assert.Equal(param, e.ParamName);
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
    }

    [Theory]
    [InlineData(0, 20, "sigma")]
    [InlineData(129, 20, "sigma")]
    [InlineData(40, 0, "eta")]
    [InlineData(40, -3, "eta")]
    public void RefusesOutOfRangeSecurityParameters(int sigma, int eta, string param)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(
            () => GraphParameterFinder.Find(1000, 0.1, 0.1, Curious, sigma, eta));
        Assert.Equal(param, e.ParamName);
    }

    [Fact]
    public void InfeasibleMessageStatesTheRule()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => GraphParameterFinder.Find(1000, 0.5, 0.5, Curious));
        Assert.Contains("gamma + delta <= 0.9", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => GraphParameterFinder.Find(1000, 0.1, 0.41, Semi));
        Assert.Contains("gamma + 2*delta <= 0.9", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.45, 0.45, Curious)]
    [InlineData(0.3, 0.3, Semi)]
    [InlineData(0.5, 0.2, Semi)]
    public void AcceptsTheFeasibilityBoundaryItself(double gamma, double delta, ThreatModel model)
    {
        GraphParameters p = GraphParameterFinder.Find(1000, gamma, delta, model);
        Assert.Equal(GraphKind.Harary, p.Kind);
    }

    [Theory]
    [InlineData(0.05, 0.33, Curious)]
    [InlineData(0.33, 0.33, Curious)]
    [InlineData(0.05, 0.33, Semi)]
    public void StrongerSecurityOrCorrectnessNeverShrinksTheDegree(double gamma, double delta, ThreatModel model)
    {
        GraphParameters baseline = GraphParameterFinder.Find(10_000, gamma, delta, model);
        GraphParameters moreSecure = GraphParameterFinder.Find(10_000, gamma, delta, model, sigma: 80);
        GraphParameters moreCorrect = GraphParameterFinder.Find(10_000, gamma, delta, model, eta: 40);
        Assert.True(moreSecure.Degree >= baseline.Degree, $"{moreSecure} vs {baseline}");
        Assert.True(moreCorrect.Degree >= baseline.Degree, $"{moreCorrect} vs {baseline}");
        Assert.True(moreSecure.Degree > baseline.Degree || moreCorrect.Degree > baseline.Degree);
    }

    /// <summary>Few corrupted clients and many dropouts at large n: a regime where tail probabilities underflow.</summary>
    [Theory]
    [InlineData(1_000_000)]
    [InlineData(10_000_000)]
    public void DegreeGrowsWithGammaWhenTailsUnderflow(int n)
    {
        int previous = 0;
        foreach (double gamma in new[] { 0.0, 0.0001, 0.001, 0.002, 0.01 })
        {
            GraphParameters p = GraphParameterFinder.Find(n, gamma, 0.44, Semi);
            Assert.True(p.Degree >= previous, $"gamma {gamma}: {p} after degree {previous}");
            // Semi-malicious security needs 2t − k above a far upper quantile of the corrupted neighbours, so at
            // least above their mean γk.
            Assert.True(2 * p.Threshold - p.Degree > gamma * p.Degree, $"gamma {gamma}: {p}");
            previous = p.Degree;
        }
    }

    [Fact]
    public void DegreeGrowsWithTheThreatAndResultsAreWellFormed()
    {
        // More corrupted clients, more dropouts, or a semi-malicious server can only make both bounds harder to meet,
        // so the chosen degree never shrinks (a full-graph fallback has k = n − 1, above every Harary candidate).
        Gen<(int N, int G1, int G2, int D1, int D2)> gen =
            from n in Gen.Choose(8, 3000)
            from g1 in Gen.Choose(0, 40)
            from g2 in Gen.Choose(g1, 40)
            from d1 in Gen.Choose(0, 25)
            from d2 in Gen.Choose(d1, 25)
            select (n, g1, g2, d1, d2);
        Property property = Prop.ForAll(gen.ToArbitrary(), c =>
        {
            double g1 = c.G1 / 100.0, g2 = c.G2 / 100.0, d1 = c.D1 / 100.0, d2 = c.D2 / 100.0;
            GraphParameters baseline = GraphParameterFinder.Find(c.N, g1, d1, Curious);
            GraphParameters moreCorrupt = GraphParameterFinder.Find(c.N, g2, d1, Curious);
            GraphParameters moreDropout = GraphParameterFinder.Find(c.N, g1, d2, Curious);
            GraphParameters semi = GraphParameterFinder.Find(c.N, g1, d1, Semi);
            foreach (GraphParameters p in new[] { baseline, moreCorrupt, moreDropout, semi })
            {
                AssertWellFormed(c.N, p);
            }

            Assert.True(moreCorrupt.Degree >= baseline.Degree, $"{c}: {moreCorrupt} < {baseline}");
            Assert.True(moreDropout.Degree >= baseline.Degree, $"{c}: {moreDropout} < {baseline}");
            Assert.True(semi.Degree >= baseline.Degree, $"{c}: {semi} < {baseline}");
            Assert.Equal(baseline, GraphParameterFinder.Find(c.N, g1, d1, Curious));
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), property);
    }

    private static void AssertWellFormed(int n, GraphParameters p)
    {
        if (p.Kind == GraphKind.Harary)
        {
            Assert.True(p.Degree % 2 == 0 && p.Degree >= 2 && p.Degree < n - 1, $"n = {n}: {p}");
            Assert.InRange(p.Threshold, 2, p.Degree);
        }
        else
        {
            Assert.Equal(GraphKind.Full, p.Kind);
            Assert.Equal(n - 1, p.Degree);
            Assert.InRange(p.Threshold, 2, n);
        }
    }
}
