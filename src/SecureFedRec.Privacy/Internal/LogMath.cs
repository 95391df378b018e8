namespace SecureFedRec.Privacy.Internal;

/// <summary>
/// Log-space arithmetic and the special functions the accountant needs (log-erfc, log-binomial).
/// Pure functions, thread-safe. Own implementations so that the accountant has no numeric-library dependency.
/// </summary>
internal static class LogMath
{
    private static readonly double LogSqrtPi = 0.5 * Math.Log(Math.PI);

    /// <summary>log(exp(a) + exp(b)), exact for -∞ operands.</summary>
    public static double LogAdd(double a, double b)
    {
        var lo = Math.Min(a, b);
        var hi = Math.Max(a, b);
        if (double.IsNegativeInfinity(lo))
        {
            return hi;
        }

        return Log1P(Math.Exp(lo - hi)) + hi;
    }

    /// <summary>log(exp(a) − exp(b)) for a ≥ b; −∞ when equal.</summary>
    public static double LogSub(double a, double b)
    {
        if (a < b)
        {
            throw new ArgumentException("The result of a log-space subtraction must be non-negative.", nameof(a));
        }

        if (double.IsNegativeInfinity(b))
        {
            return a;
        }

        if (a == b)
        {
            return double.NegativeInfinity;
        }

        var d = a - b;
        return d > 700 ? a : Math.Log(ExpM1(d)) + b;
    }

    /// <summary>log(1 + x) accurate for small x.</summary>
    public static double Log1P(double x)
    {
        if (Math.Abs(x) > 1e-4)
        {
            return Math.Log(1.0 + x);
        }

        // Taylor series: x − x²/2 + x³/3 − x⁴/4, error O(x⁵) < 1e-20 relative.
        return x * (1.0 - (x * (0.5 - (x * ((1.0 / 3.0) - (x * 0.25))))));
    }

    /// <summary>exp(x) − 1 accurate for small x.</summary>
    public static double ExpM1(double x)
    {
        if (Math.Abs(x) > 1e-5)
        {
            return Math.Exp(x) - 1.0;
        }

        return x * (1.0 + (x * (0.5 + (x * ((1.0 / 6.0) + (x / 24.0))))));
    }

    private const int LogFactorialTableSize = 1025;

    // log k! for k < 1025, by cumulative sums of log k (relative error ~1e-14; the orders used are ≤ 512).
    private static readonly double[] LogFactorials = BuildLogFactorials();

    /// <summary>log C(n, k) for integers 0 ≤ k ≤ n.</summary>
    public static double LogComb(int n, int k)
    {
        if (k < 0 || k > n)
        {
            return double.NegativeInfinity;
        }

        if (n < LogFactorialTableSize)
        {
            return LogFactorials[n] - LogFactorials[k] - LogFactorials[n - k];
        }

        k = Math.Min(k, n - k);
        var s = 0.0;
        for (var j = 1; j <= k; j++)
        {
            s += Math.Log((double)(n - k + j) / j);
        }

        return s;
    }

    private static double[] BuildLogFactorials()
    {
        var t = new double[LogFactorialTableSize];
        for (var k = 2; k < t.Length; k++)
        {
            t[k] = t[k - 1] + Math.Log(k);
        }

        return t;
    }

    /// <summary>
    /// log(erfc(x)) with full relative accuracy for large x (no underflow): power series of erf for |x| &lt; 0.5,
    /// the Laplace continued fraction of erfc (modified Lentz) for x ≥ 0.5, reflection erfc(−x) = 2 − erfc(x).
    /// </summary>
    public static double LogErfc(double x)
    {
        if (double.IsNaN(x))
        {
            return double.NaN;
        }

        if (x < -0.5)
        {
            return Math.Log(2.0 - Math.Exp(LogErfc(-x)));
        }

        if (x < 0.5)
        {
            return Math.Log(1.0 - Erf(x));
        }

        return LogErfcContinuedFraction(x);
    }

    private static double Erf(double x)
    {
        // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1)); |x| < 0.5 converges to 1e-17 in < 20 terms.
        var x2 = x * x;
        var term = x;
        var sum = x;
        for (var n = 1; n < 60; n++)
        {
            term *= -x2 / n;
            var add = term / ((2 * n) + 1);
            sum += add;
            if (Math.Abs(add) < 1e-18 * Math.Abs(sum))
            {
                break;
            }
        }

        return sum * 2.0 / Math.Sqrt(Math.PI);
    }

    private static double LogErfcContinuedFraction(double x)
    {
        // erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), x > 0.
        const double tiny = 1e-300;
        var f = x;
        var c = x;
        var d = 0.0;
        for (var k = 1; k < 100_000; k++)
        {
            var a = k / 2.0;
            d = x + (a * d);
            if (Math.Abs(d) < tiny)
            {
                d = tiny;
            }

            c = x + (a / c);
            if (Math.Abs(c) < tiny)
            {
                c = tiny;
            }

            d = 1.0 / d;
            var delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1.0) < 1e-16)
            {
                break;
            }
        }

        return -(x * x) - LogSqrtPi - Math.Log(f);
    }
}
