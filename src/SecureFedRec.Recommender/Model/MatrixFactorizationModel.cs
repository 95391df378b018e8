using SecureFedRec.Recommender.Internal;

namespace SecureFedRec.Recommender.Model;

/// <summary>
/// Biased matrix factorization: r̂(u, i) = μ + b_u + b_i + ⟨p_u, q_i⟩ (Koren, Bell, Volinsky 2009). Holds the global
/// mean, user and item biases and factors as dense row-major arrays (8·(U + I)·(k + 1) bytes). Not thread-safe for
/// concurrent training; concurrent <see cref="Predict"/> calls on a model nobody trains are safe.
/// </summary>
public sealed class MatrixFactorizationModel
{
    internal MatrixFactorizationModel(int users, int items, int factors)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(users);
        ArgumentOutOfRangeException.ThrowIfNegative(items);
        ArgumentOutOfRangeException.ThrowIfLessThan(factors, 1);
        UserCount = users;
        ItemCount = items;
        Factors = factors;
        UserBias = new double[users];
        ItemBias = new double[items];
        UserFactors = new double[users * factors];
        ItemFactors = new double[items * factors];
    }

    /// <summary>Number of users.</summary>
    public int UserCount { get; }

    /// <summary>Number of items.</summary>
    public int ItemCount { get; }

    /// <summary>Latent dimension k.</summary>
    public int Factors { get; }

    /// <summary>Global mean μ.</summary>
    public double GlobalMean { get; internal set; }

    internal double[] UserBias { get; }

    internal double[] ItemBias { get; }

    internal double[] UserFactors { get; }

    internal double[] ItemFactors { get; }

    /// <summary>Predicted rating of <paramref name="item"/> by <paramref name="user"/> (not clamped).</summary>
    public double Predict(int user, int item)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)user, (uint)UserCount, nameof(user));
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)item, (uint)ItemCount, nameof(item));
        return GlobalMean + UserBias[user] + ItemBias[item]
            + Dot(UserFactors.AsSpan(user * Factors, Factors), ItemFactors.AsSpan(item * Factors, Factors));
    }

    internal void InitializeFactors(Rng rng, double stdDev)
    {
        for (var i = 0; i < UserFactors.Length; i++)
        {
            UserFactors[i] = rng.NextGaussian() * stdDev;
        }

        for (var i = 0; i < ItemFactors.Length; i++)
        {
            ItemFactors[i] = rng.NextGaussian() * stdDev;
        }
    }

    internal static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        var sum = 0.0;
        for (var f = 0; f < a.Length; f++)
        {
            sum += a[f] * b[f];
        }

        return sum;
    }
}
