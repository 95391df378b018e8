namespace SecureFedRec.Protocol.Graph;

/// <summary>ln(n!) in double precision: a table below 256, Stirling's series above.</summary>
/// <remarks>
/// The table is built by summing ln(i) (relative error below 256·2^-53); above it the series
/// n ln n − n + ½ ln(2πn) + 1/(12n) − 1/(360n³) + 1/(1260n⁵) has truncation error below 1/(1680·256⁷) ≈ 8.3e-21, so the
/// error is the rounding of the leading terms: about 2^-53·ln(n!) (≈ 1.4e-9 absolute at n = 10^6).
/// </remarks>
internal static class LogFactorial
{
    private const int TableSize = 256;
    private static readonly double[] Table = BuildTable();

    internal static double Of(long n)
    {
        if (n < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, "ln(n!) needs n ≥ 0.");
        }

        if (n < TableSize)
        {
            return Table[n];
        }

        double x = n;
        double inv = 1.0 / x;
        double inv2 = inv * inv;
        double series = inv * ((1.0 / 12) - (inv2 * ((1.0 / 360) - (inv2 / 1260))));
        return (x * Math.Log(x)) - x + (0.5 * Math.Log(2 * Math.PI * x)) + series;
    }

    /// <summary>ln C(n, k) for 0 ≤ k ≤ n.</summary>
    internal static double LogChoose(long n, long k) => Of(n) - Of(k) - Of(n - k);

    private static double[] BuildTable()
    {
        var table = new double[TableSize];
        for (int i = 2; i < TableSize; i++)
        {
            table[i] = table[i - 1] + Math.Log(i);
        }

        return table;
    }
}
