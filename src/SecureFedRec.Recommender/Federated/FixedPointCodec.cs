namespace SecureFedRec.Recommender.Federated;

/// <summary>
/// Fixed-point encoding of real update vectors into Z_{2^b} for secure aggregation without DP. Coordinate j is clamped
/// to ±B_j (its public bound; B_j = 0 marks a coordinate that is always zero and is sent as 0), multiplied by s_j = ⌊(2^(b−1) − 1)/(n·B_j)⌋ and rounded to the nearest integer (ties to
/// even), then wrapped into [0, 2^b) (two's complement). The modular sum of n such encodings, centred into
/// [−2^(b−1), 2^(b−1)), is Σ round(x·s_j) exactly — no wrap is possible since |Σ| ≤ n·B_j·s_j &lt; 2^(b−1) — and
/// decodes to Σx with error at most n/(2·s_j) per coordinate. Immutable; thread-safe.
/// </summary>
internal sealed class FixedPointCodec
{
    private readonly double[] scale;
    private readonly double[] bound;
    private readonly int bits;

    public FixedPointCodec(AggregationContext context, int clients, int bits)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfLessThan(clients, 1);
        if (bits is < 8 or > 32)
        {
            throw new ArgumentOutOfRangeException(nameof(bits), bits, "bits must be in 8..32");
        }

        this.bits = bits;
        var d = context.Layout.Length;
        scale = new double[d];
        bound = new double[d];
        var half = (double)((1L << (bits - 1)) - 1);
        for (var j = 0; j < d; j++)
        {
            var b = context.BoundOf(j);
            if (b == 0)
            {
                // A coordinate that is always zero (weights under user-level clipping) encodes as 0.
                continue;
            }

            if (!(b > 0) || !double.IsFinite(b))
            {
                throw new ArgumentException($"coordinate {j} has no finite non-negative bound", nameof(context));
            }

            bound[j] = b;
            scale[j] = Math.Floor(half / (clients * b));
            if (scale[j] < 1)
            {
                throw new ArgumentException($"{bits} bits cannot hold {clients} clients' coordinates bounded by {b}", nameof(bits));
            }
        }
    }

    public int Length => scale.Length;

    /// <summary>Largest rounding error one client adds to coordinate j: 1 / (2·s_j) (n clients: n times that); 0 for a bound-0 coordinate.</summary>
    public double Resolution(int j) => scale[j] == 0 ? 0 : 0.5 / scale[j];

    public uint[] Encode(ReadOnlySpan<double> x)
    {
        if (x.Length != scale.Length)
        {
            throw new ArgumentException($"vector length {x.Length}, expected {scale.Length}", nameof(x));
        }

        var mask = bits == 32 ? uint.MaxValue : (1u << bits) - 1;
        var result = new uint[x.Length];
        for (var j = 0; j < x.Length; j++)
        {
            if (scale[j] == 0)
            {
                continue;
            }

            var v = double.IsNaN(x[j]) ? 0 : Math.Clamp(x[j], -bound[j], bound[j]);
            var q = (long)Math.Round(v * scale[j], MidpointRounding.ToEven);
            result[j] = unchecked((uint)q) & mask;
        }

        return result;
    }

    public double[] Decode(ReadOnlySpan<uint> sum)
    {
        if (sum.Length != scale.Length)
        {
            throw new ArgumentException($"sum length {sum.Length}, expected {scale.Length}", nameof(sum));
        }

        var modulus = 1L << bits;
        var half = 1L << (bits - 1);
        var result = new double[sum.Length];
        for (var j = 0; j < sum.Length; j++)
        {
            long v = sum[j];
            if (v >= half)
            {
                v -= modulus;
            }

            result[j] = scale[j] == 0 ? 0 : v / scale[j];
        }

        return result;
    }
}
