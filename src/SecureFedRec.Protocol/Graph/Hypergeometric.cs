namespace SecureFedRec.Protocol.Graph;

/// <summary>
/// Hypergeometric distribution: the number X of marked items in a uniform sample of <c>sampled</c> items drawn without
/// replacement from <c>total</c> items of which <c>marked</c> are marked. Double precision throughout.
/// </summary>
/// <remarks>
/// Probabilities are computed as exp of a sum of six log-factorials (<see cref="LogFactorial"/>, each with absolute error
/// about 2^-53·ln(n!) ≈ 1.4e-9 at n = 10^6, so a relative error below 1e-8 in each probability) and tails are summed
/// term by term from the far end with the exact ratio recurrence, never as 1 − (other tail), so tiny tails such as
/// 2^-41/10^6 ≈ 4.5e-19 keep their full relative precision.
/// </remarks>
internal readonly struct Hypergeometric
{
    /// <summary>Probabilities below this are treated as zero mass when locating a quantile (well above subnormals).</summary>
    internal const double Negligible = 1e-280;

    private readonly long _total;
    private readonly long _marked;
    private readonly long _sampled;

    internal Hypergeometric(long total, long marked, long sampled)
    {
        if (total < 0 || marked < 0 || sampled < 0 || marked > total || sampled > total)
        {
            throw new ArgumentOutOfRangeException(
                nameof(total), $"Invalid hypergeometric parameters: total {total}, marked {marked}, sampled {sampled}.");
        }

        _total = total;
        _marked = marked;
        _sampled = sampled;
    }

    /// <summary>Smallest value with non-zero probability.</summary>
    internal long Min => Math.Max(0, _sampled - (_total - _marked));

    /// <summary>Largest value with non-zero probability.</summary>
    internal long Max => Math.Min(_sampled, _marked);

    /// <summary>P(X = x).</summary>
    internal double Pmf(long x) => Math.Exp(LogPmf(x));

    /// <summary>P(X ≤ x), summed downwards from x.</summary>
    internal double Cdf(long x)
    {
        if (x < Min)
        {
            return 0;
        }

        if (x >= Max)
        {
            return 1;
        }

        double term = Pmf(x);
        double sum = 0;
        for (long j = x; j >= Min && term > sum * 1e-17; j--)
        {
            sum += term;

            // P(X = j-1) / P(X = j) = j (N - M - K + j) / ((M - j + 1)(K - j + 1)).
            term *= j * (double)(_total - _marked - _sampled + j);
            term /= (_marked - j + 1) * (double)(_sampled - j + 1);
        }

        return Math.Min(sum, 1);
    }

    /// <summary>The smallest x with P(X ≤ x) ≥ <paramref name="q"/>, for 1e-250 ≤ q ≤ 1/2.</summary>
    /// <remarks>
    /// Probabilities below <see cref="Negligible"/> (≈ e^-645) are skipped over rather than stepped through: a double
    /// recurrence started from an underflowed (zero or subnormal) probability would stay zero or lose its precision and
    /// walk past the answer. Everything skipped adds up to less than (k+1)·1e-280, far below any q accepted here.
    /// </remarks>
    internal long SmallestWithCdfAtLeast(double q)
    {
        if (!(q >= 1e-250 && q <= 0.5))
        {
            throw new ArgumentOutOfRangeException(nameof(q), q, "The lower-tail probability must be in [1e-250, 0.5].");
        }

        // Hoeffding (1963, §6, also valid without replacement): P(X ≤ K(M/N − s)) ≤ exp(−2Ks²); with
        // s = sqrt(ln(1/q) / (2K)) this is a point at or below the answer, so the walk below is short.
        double start = _sampled * (((double)_marked / _total) - Math.Sqrt(-Math.Log(q) / (2.0 * _sampled)));
        long x = Math.Max(Min, (long)Math.Floor(Math.Min(start, Max)));
        double cdf = Cdf(x);
        if (cdf >= q)
        {
            // Only reachable through rounding at the start point; step down to the smallest qualifying value.
            while (x > Min && Cdf(x - 1) >= q)
            {
                x--;
            }

            return x;
        }

        double pmf = Pmf(x);
        if (pmf < Negligible)
        {
            x = FirstNonNegligibleAtOrAbove(x);
            pmf = Pmf(x);
            cdf = Cdf(x);
        }

        while (cdf < q && x < Max)
        {
            if (pmf >= Negligible)
            {
                // P(X = x+1) / P(X = x) = (M − x)(K − x) / ((x + 1)(N − M − K + x + 1)).
                pmf *= (_marked - x) * (double)(_sampled - x);
                pmf /= (x + 1) * (double)(_total - _marked - _sampled + x + 1);
            }
            else
            {
                pmf = Pmf(x + 1);
            }

            x++;
            cdf += pmf;
        }

        return x;
    }

    /// <summary>ln P(X = x), or −∞ outside the support.</summary>
    private double LogPmf(long x) =>
        x < Min || x > Max
            ? double.NegativeInfinity
            : LogFactorial.LogChoose(_marked, x) + LogFactorial.LogChoose(_total - _marked, _sampled - x)
                - LogFactorial.LogChoose(_total, _sampled);

    /// <summary>
    /// The smallest y ≥ <paramref name="from"/> with P(X = y) ≥ <see cref="Negligible"/>, searched by bisection up to the
    /// mode ⌊(K+1)(M+1)/(N+2)⌋, where the probabilities increase (the pmf is unimodal) and are at least 1/(K+1).
    /// </summary>
    private long FirstNonNegligibleAtOrAbove(long from)
    {
        long mode = (long)Math.Floor((_sampled + 1) * ((_marked + 1) / (double)(_total + 2)));
        long hi = Math.Clamp(mode, Min, Max);
        long lo = Math.Min(from, hi);
        double logNegligible = Math.Log(Negligible);
        while (lo < hi)
        {
            long mid = lo + ((hi - lo) / 2);
            if (LogPmf(mid) >= logNegligible)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return lo;
    }
}
