namespace SecureFedRec.Recommender.Federated;

/// <summary>
/// The global half of the federated model that the server holds and every client receives: the global mean μ, the
/// item biases b_i and the item factors q_i (row-major, <see cref="Factors"/> per item). User factors and biases are
/// never part of it. Size 8·(I·(k + 1) + 1) bytes. Not thread-safe while the server updates it.
/// </summary>
public sealed class GlobalItemModel
{
    internal GlobalItemModel(int items, int factors)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(items);
        ArgumentOutOfRangeException.ThrowIfLessThan(factors, 1);
        ItemCount = items;
        Factors = factors;
        ItemBias = new double[items];
        ItemFactors = new double[items * factors];
    }

    /// <summary>Number of items.</summary>
    public int ItemCount { get; }

    /// <summary>Latent dimension k.</summary>
    public int Factors { get; }

    /// <summary>Global mean μ.</summary>
    public double GlobalMean { get; internal set; }

    /// <summary>Number of parameters: I·(k + 1) + 1 (factors and bias per item, then μ).</summary>
    public int ParameterCount => (ItemCount * (Factors + 1)) + 1;

    internal double[] ItemBias { get; }

    internal double[] ItemFactors { get; }

    internal GlobalItemModel Clone()
    {
        var copy = new GlobalItemModel(ItemCount, Factors) { GlobalMean = GlobalMean };
        ItemBias.CopyTo(copy.ItemBias, 0);
        ItemFactors.CopyTo(copy.ItemFactors, 0);
        return copy;
    }
}
