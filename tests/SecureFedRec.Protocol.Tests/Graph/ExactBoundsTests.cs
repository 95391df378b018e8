using System.Numerics;
using SecureFedRec.Protocol.Graph;

namespace SecureFedRec.Protocol.Tests.GraphTests;

/// <summary>
/// Re-checks the finder's answers with exact integer arithmetic (BigInteger hypergeometric counts, no floating point),
/// so that the double-precision search cannot be wrong by rounding: the returned (k, t) meets every bound of
/// protocol-spec/graphs.md §3, t is the smallest threshold that does, and no smaller even degree admits any threshold.
/// </summary>
public sealed class ExactBoundsTests
{
    public static TheoryData<int, double, double, ThreatModel> Rows() => new()
    {
        { 10, 0.33, 0.33, ThreatModel.HonestButCurious },
        { 10, 0.05, 0.33, ThreatModel.SemiMalicious },
        { 100, 0.05, 0.33, ThreatModel.HonestButCurious },
        { 100, 0.33, 0.05, ThreatModel.HonestButCurious },
        { 100, 0.33, 0.33, ThreatModel.HonestButCurious },
        { 100, 0.05, 0.33, ThreatModel.SemiMalicious },
        { 1_000, 0.05, 0.33, ThreatModel.HonestButCurious },
        { 1_000, 0.33, 0.05, ThreatModel.HonestButCurious },
        { 1_000, 0.33, 0.33, ThreatModel.HonestButCurious },
        { 1_000, 0.05, 0.33, ThreatModel.SemiMalicious },
        { 1_000, 0.3, 0.3, ThreatModel.SemiMalicious },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void FinderAnswerIsExactlyTheSmallestSecureAndCorrectChoice(
        int n, double gamma, double delta, ThreatModel model)
    {
        GraphParameters p = GraphParameterFinder.Find(n, gamma, delta, model);
        Assert.Equal(GraphKind.Harary, p.Kind);
        var exact = new ExactModel(n, (int)Math.Round(gamma * n), (int)Math.Round(delta * n), model, sigma: 40, eta: 20);

        (int smallest, int largest)? range = exact.ThresholdRange(p.Degree);
        Assert.True(range.HasValue, $"k = {p.Degree} does not meet the exact bounds");
        Assert.Equal(Math.Max(range.Value.smallest, 2), p.Threshold);
        Assert.True(p.Threshold <= range.Value.largest);

        for (int k = 2; k < p.Degree; k += 2)
        {
            Assert.False(exact.ThresholdRange(k).HasValue, $"smaller degree {k} already qualifies");
        }
    }

    /// <summary>The bounds, with every probability an exact ratio of binomial counts.</summary>
    private sealed class ExactModel
    {
        private readonly int _n;
        private readonly int _corrupted;
        private readonly int _dropped;
        private readonly bool _semi;
        private readonly int _sigma;
        private readonly int _eta;
        private readonly Dictionary<int, BigInteger[]> _rows = new();

        internal ExactModel(int n, int corrupted, int dropped, ThreatModel model, int sigma, int eta)
        {
            _n = n;
            _corrupted = corrupted;
            _dropped = dropped;
            _semi = model == ThreatModel.SemiMalicious;
            _sigma = sigma;
            _eta = eta;
        }

        /// <summary>Smallest secure t and largest correct t for degree k, or null when none or disconnected.</summary>
        internal (int smallest, int largest)? ThresholdRange(int k)
        {
            if (!ConnectedEnough(k))
            {
                return null;
            }

            BigInteger all = Row(_n)[k];
            BigInteger[] corruptedCounts = Counts(_corrupted, k);
            BigInteger[] survivingCounts = Counts(_n - _dropped, k);
            BigInteger securityScale = BigInteger.Pow(2, _sigma + 1) * _n;   // P < 2^-(σ+1)/n  ⇔  count·2^(σ+1)·n < all
            BigInteger correctnessScale = BigInteger.Pow(2, _eta) * _n;

            // Suffix sums of corrupted counts (P(X ≥ x)·C(n,k)) and prefix sums of surviving counts (P(Z < x)·C(n,k)).
            var atLeast = new BigInteger[k + 2];
            for (int x = k; x >= 0; x--)
            {
                atLeast[x] = atLeast[x + 1] + corruptedCounts[x];
            }

            var below = new BigInteger[k + 2];
            for (int x = 0; x <= k; x++)
            {
                below[x + 1] = below[x] + survivingCounts[x];
            }

            // Secure t: P(corrupted neighbours ≥ t') < 2^-(σ+1)/n with t' = t (curious) or 2t − k (semi-malicious).
            int smallest = -1;
            for (int t = 1; t <= k + 1 && smallest < 0; t++)
            {
                int effective = Math.Clamp(_semi ? (2 * t) - k : t, 0, k + 1);
                if (atLeast[effective] * securityScale < all)
                {
                    smallest = t;
                }
            }

            // Correct t: P(surviving neighbours < t) < 2^-η/n.
            int largest = 0;
            for (int t = 1; t <= k; t++)
            {
                if (below[t] * correctnessScale < all)
                {
                    largest = t;
                }
            }

            return smallest > 0 && smallest <= largest ? (smallest, largest) : null;
        }

        // Union bound over the n(n − k − 1)/2 pairs of gaps: pairs · B!/(B−k)! · (n−k)!/n! < 2^-(σ+1).
        private bool ConnectedEnough(int k)
        {
            int bad = _corrupted + _dropped;
            if (k > bad)
            {
                return true;
            }

            BigInteger fallingBad = Falling(bad, k);
            BigInteger fallingN = Falling(_n, k);
            BigInteger twicePairs = (BigInteger)_n * (_n - k - 1);
            return twicePairs * fallingBad * BigInteger.Pow(2, _sigma + 1) < 2 * fallingN;
        }

        private BigInteger[] Counts(int marked, int k)
        {
            BigInteger[] markedRow = Row(marked);
            BigInteger[] unmarkedRow = Row(_n - marked);
            var counts = new BigInteger[k + 1];
            for (int x = 0; x <= k; x++)
            {
                counts[x] = markedRow[x] * unmarkedRow[k - x];
            }

            return counts;
        }

        private static BigInteger Falling(int n, int k)
        {
            BigInteger r = BigInteger.One;
            for (int i = 0; i < k; i++)
            {
                r *= n - i;
            }

            return r;
        }

        /// <summary>C(m, x) for x = 0..n (zero above m), by C(m, x+1) = C(m, x)·(m − x)/(x + 1), exact.</summary>
        private BigInteger[] Row(int m)
        {
            if (!_rows.TryGetValue(m, out BigInteger[]? row))
            {
                row = new BigInteger[_n + 1];
                row[0] = BigInteger.One;
                for (int x = 0; x < _n; x++)
                {
                    row[x + 1] = x < m ? row[x] * (m - x) / (x + 1) : BigInteger.Zero;
                }

                _rows.Add(m, row);
            }

            return row;
        }
    }
}
