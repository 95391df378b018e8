namespace SecureFedRec.Recommender.Federated;

/// <summary>What the server learns from one round's aggregation.</summary>
/// <param name="Sum">Σ over surviving clients of their update vectors (decoded; for DP, noised).</param>
/// <param name="Survivors">Clients whose input is in the sum.</param>
/// <param name="BytesPerClient">Bytes one client sends in the round (all protocol messages; the raw vector for plain).</param>
/// <param name="EpsilonSpent">Cumulative ε after this round (0 without DP).</param>
/// <param name="Phase">Last protocol phase reached (for progress display).</param>
public sealed record AggregationResult(double[] Sum, int Survivors, long BytesPerClient, double EpsilonSpent, string Phase);

/// <summary>
/// The secure-sum abstraction the federated trainer runs every round through: <c>plain</c> (exact float sum, the
/// no-secagg reference), <c>secagg</c> (fixed-point in Z_{2^b} through the SecAgg protocol), <c>secagg+dp</c>
/// (distributed discrete Gaussian encoding + SecAgg + accountant). Implementations are stateful across rounds
/// (privacy accounting) and not thread-safe.
/// </summary>
public interface IUpdateAggregator
{
    /// <summary>Short name used in reports.</summary>
    string Name { get; }

    /// <summary>True when the aggregator adds DP noise (the trainer then requires user-level clipping).</summary>
    bool AddsNoise { get; }

    /// <summary>
    /// Sums the inputs of the clients not marked dropped. <paramref name="inputs"/>[j] is participant j's vector, all of
    /// the layout's length; <paramref name="dropped"/>[j] says that participant j disappears after sending
    /// its keys (it must not be in the sum).
    /// </summary>
    AggregationResult Aggregate(int round, IReadOnlyList<double[]> inputs, IReadOnlyList<bool> dropped, AggregationContext context);
}

/// <summary>
/// Public facts about the round's inputs that an encoder needs to size its fixed-point grid: bounds on |coordinate|
/// for item-delta, item-weight, μ-delta and μ-weight coordinates (derived from public sizes: the most users and the
/// most ratings one client holds, and a per-parameter step bound of 1 per round), and the user-level clip C.
/// </summary>
/// <param name="Layout">Update layout.</param>
/// <param name="ItemDeltaBound">Bound on |w·Δ| of item factor and bias coordinates.</param>
/// <param name="ItemWeightBound">Bound on item weight coordinates.</param>
/// <param name="MeanDeltaBound">Bound on |w·Δμ|.</param>
/// <param name="MeanWeightBound">Bound on the μ weight.</param>
/// <param name="UserClipNorm">User-level L2 bound C (sensitivity of the sum to one user), or null.</param>
/// <param name="MaxUsersPerClient">Largest number of users one client holds.</param>
public sealed record AggregationContext(UpdateLayout Layout, double ItemDeltaBound, double ItemWeightBound, double MeanDeltaBound, double MeanWeightBound, double? UserClipNorm, int MaxUsersPerClient)
{
    /// <summary>The bound on |coordinate j|.</summary>
    public double BoundOf(int j)
    {
        ArgumentNullException.ThrowIfNull(Layout);
        if (j == Layout.MeanOffset)
        {
            return MeanDeltaBound;
        }

        if (j == Layout.MeanWeightOffset)
        {
            return MeanWeightBound;
        }

        return Layout.IsWeight(j) ? ItemWeightBound : ItemDeltaBound;
    }
}

/// <summary>
/// Exact floating-point sum of the surviving clients' vectors: the no-secure-aggregation reference. Bytes per client =
/// 8·d (the raw doubles). Stateless; thread-safe.
/// </summary>
public sealed class PlainAggregator : IUpdateAggregator
{
    /// <inheritdoc />
    public string Name => "plain";

    /// <inheritdoc />
    public bool AddsNoise => false;

    /// <inheritdoc />
    public AggregationResult Aggregate(int round, IReadOnlyList<double[]> inputs, IReadOnlyList<bool> dropped, AggregationContext context)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(dropped);
        ArgumentNullException.ThrowIfNull(context);
        var d = context.Layout.Length;
        var sum = new double[d];
        var survivors = 0;
        for (var j = 0; j < inputs.Count; j++)
        {
            if (inputs[j].Length != d)
            {
                throw new ArgumentException($"input {j} has length {inputs[j].Length}, expected {d}", nameof(inputs));
            }

            if (dropped[j])
            {
                continue;
            }

            survivors++;
            var v = inputs[j];
            for (var i = 0; i < d; i++)
            {
                sum[i] += v[i];
            }
        }

        return new AggregationResult(sum, survivors, 8L * d, 0, "sum");
    }
}
