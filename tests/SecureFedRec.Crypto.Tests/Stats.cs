namespace SecureFedRec.Crypto.Tests;

internal static class Stats
{
    /// <summary>Upper 10^-6 quantile of χ²(df), Wilson–Hilferty approximation (z = 4.7534 for a 10^-6 upper tail).</summary>
    public static double ChiSquareCritical(int df, double z = 4.7534)
    {
        double k = df;
        double a = 2.0 / (9.0 * k);
        return k * Math.Pow(1 - a + (z * Math.Sqrt(a)), 3);
    }

    /// <summary>
    /// Pearson's χ² of integer samples against a pmf: every value whose expected count is ≥ 20 gets its own bin; the two
    /// tails are pooled. Returns the statistic and the degrees of freedom (bins − 1).
    /// </summary>
    public static (double ChiSquare, int DegreesOfFreedom) ChiSquare(long[] samples, Func<long, double> pmf, long support)
    {
        double n = samples.Length;
        var counts = new Dictionary<long, int>();
        foreach (long s in samples)
        {
            counts[s] = counts.GetValueOrDefault(s) + 1;
        }

        long lo = 0;
        while (pmf(lo - 1) * n >= 20 && lo > -support)
        {
            lo--;
        }

        long hi = 0;
        while (pmf(hi + 1) * n >= 20 && hi < support)
        {
            hi++;
        }

        double chi = 0;
        int bins = 0;
        double lowTail = 0;
        double highTail = 0;
        for (long x = -support; x < lo; x++)
        {
            lowTail += pmf(x);
        }

        for (long x = hi + 1; x <= support; x++)
        {
            highTail += pmf(x);
        }

        int lowCount = counts.Where(kv => kv.Key < lo).Sum(kv => kv.Value);
        int highCount = counts.Where(kv => kv.Key > hi).Sum(kv => kv.Value);
        void Add(double expectedP, int observed)
        {
            double e = expectedP * n;
            chi += (observed - e) * (observed - e) / e;
            bins++;
        }

        for (long x = lo; x <= hi; x++)
        {
            Add(pmf(x), counts.GetValueOrDefault(x));
        }

        if (lowTail * n >= 1)
        {
            Add(lowTail, lowCount);
        }

        if (highTail * n >= 1)
        {
            Add(highTail, highCount);
        }

        return (chi, bins - 1);
    }

    /// <summary>Normalised pmf over [−support, support] from unnormalised weights.</summary>
    public static Func<long, double> Normalise(Func<long, double> weight, long support)
    {
        double z = 0;
        for (long x = -support; x <= support; x++)
        {
            z += weight(x);
        }

        return x => weight(x) / z;
    }
}
