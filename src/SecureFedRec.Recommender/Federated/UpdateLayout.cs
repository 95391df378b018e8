namespace SecureFedRec.Recommender.Federated;

/// <summary>
/// The layout of a client's update vector, which is what goes into the secure sum. Per item i a block of k + 2
/// coordinates: w_i·Δq_i (k values), w_i·Δb_i, w_i; then the tail w_μ·Δμ, w_μ. Without user-level clipping w_i is the
/// number of the client's ratings of item i and w_μ its number of ratings, so the server's per-item weighted average
/// is Σ_c w·Δ / Σ_c w (counts ride in the same secure sum as the deltas). With user-level clipping (DP) every weight
/// is 1 per contributing user, the count coordinates are zero, and the server divides by a public denominator instead
/// (the fixed-denominator estimator of McMahan et al., ICLR 2018), because noised small counts would blow up a ratio.
/// Immutable; thread-safe.
/// </summary>
public sealed class UpdateLayout
{
    /// <summary>Creates the layout for I items and k factors.</summary>
    public UpdateLayout(int items, int factors)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(items, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(factors, 1);
        Items = items;
        Factors = factors;
    }

    /// <summary>Number of items.</summary>
    public int Items { get; }

    /// <summary>Latent dimension k.</summary>
    public int Factors { get; }

    /// <summary>Coordinates per item: k + 2.</summary>
    public int BlockSize => Factors + 2;

    /// <summary>Total length d = I·(k + 2) + 2.</summary>
    public int Length => (Items * BlockSize) + 2;

    /// <summary>Index of item i's first factor delta.</summary>
    public int FactorOffset(int item) => item * BlockSize;

    /// <summary>Index of item i's bias delta.</summary>
    public int BiasOffset(int item) => (item * BlockSize) + Factors;

    /// <summary>Index of item i's weight.</summary>
    public int WeightOffset(int item) => (item * BlockSize) + Factors + 1;

    /// <summary>Index of the μ delta.</summary>
    public int MeanOffset => Items * BlockSize;

    /// <summary>Index of the μ weight.</summary>
    public int MeanWeightOffset => (Items * BlockSize) + 1;

    /// <summary>True when coordinate j is a weight (count) coordinate.</summary>
    public bool IsWeight(int j) => j == MeanWeightOffset || (j < MeanOffset && j % BlockSize == BlockSize - 1);
}
