namespace SecureFedRec.Recommender.Evaluation;

/// <summary>
/// Rating and ranking metrics. RMSE = √(Σ(r̂ − r)²/n), MAE = Σ|r̂ − r|/n. Ranking: the 0-based rank of the held-out
/// positive is the number of candidates scoring at least as high as it (ties count against the positive, so a
/// constant scorer never looks good); HR@K = 1 if rank &lt; K, NDCG@K = 1/log2(rank + 2) if rank &lt; K, else 0 (one
/// relevant item, so IDCG = 1; He et al., WWW 2017, §4.1). Pure functions; thread-safe.
/// </summary>
public static class Metrics
{
    /// <summary>Root mean squared error.</summary>
    /// <exception cref="ArgumentException">The spans differ in length or are empty.</exception>
    public static double Rmse(ReadOnlySpan<double> predicted, ReadOnlySpan<double> actual)
    {
        CheckPaired(predicted, actual);
        var sum = 0.0;
        for (var i = 0; i < predicted.Length; i++)
        {
            var d = predicted[i] - actual[i];
            sum += d * d;
        }

        return Math.Sqrt(sum / predicted.Length);
    }

    /// <summary>Mean absolute error.</summary>
    /// <exception cref="ArgumentException">The spans differ in length or are empty.</exception>
    public static double Mae(ReadOnlySpan<double> predicted, ReadOnlySpan<double> actual)
    {
        CheckPaired(predicted, actual);
        var sum = 0.0;
        for (var i = 0; i < predicted.Length; i++)
        {
            sum += Math.Abs(predicted[i] - actual[i]);
        }

        return sum / predicted.Length;
    }

    /// <summary>
    /// 0-based rank of the positive among candidates: how many candidates score ≥ the positive. A NaN score (a
    /// diverged model) is never in the positive's favour: a NaN positive ranks last, a NaN candidate ranks above it.
    /// </summary>
    public static int RankOf(double positiveScore, ReadOnlySpan<double> candidateScores)
    {
        if (double.IsNaN(positiveScore))
        {
            return candidateScores.Length;
        }

        var rank = 0;
        foreach (var s in candidateScores)
        {
            if (Outranks(s, positiveScore))
            {
                rank++;
            }
        }

        return rank;
    }

    /// <summary>True when a candidate with score <paramref name="candidate"/> ranks at or above the positive.</summary>
    internal static bool Outranks(double candidate, double positiveScore) =>
        double.IsNaN(positiveScore) || double.IsNaN(candidate) || candidate >= positiveScore;

    /// <summary>Hit ratio at K for one positive at <paramref name="rank"/> (0-based).</summary>
    public static double HitRate(int rank, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        return rank < k ? 1.0 : 0.0;
    }

    /// <summary>NDCG at K for one positive at <paramref name="rank"/> (0-based).</summary>
    public static double Ndcg(int rank, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        return rank < k ? 1.0 / Math.Log2(rank + 2) : 0.0;
    }

    private static void CheckPaired(ReadOnlySpan<double> predicted, ReadOnlySpan<double> actual)
    {
        if (predicted.Length != actual.Length)
        {
            throw new ArgumentException($"{predicted.Length} predictions for {actual.Length} ratings", nameof(predicted));
        }

        if (predicted.IsEmpty)
        {
            throw new ArgumentException("no ratings to evaluate", nameof(predicted));
        }
    }
}
