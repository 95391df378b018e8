namespace SecureFedRec.Recommender.Ranking;

/// <summary>
/// Ranking metrics of one model on one split, each averaged over the evaluated users. "Sampled": the held-out item
/// ranked against the split's sampled negatives (NCF protocol, He et al. 2017); "full": against every item the user
/// did not interact with in training (Krichene &amp; Rendle, KDD 2020, who show the two disagree). One relevant item
/// per user, so HR@K = Recall@K and NDCG@K = 1/log2(rank + 2) when rank &lt; K; MRR = mean 1/(rank + 1).
/// Ranks count candidates scoring at least as high as the positive (ties count against it).
/// </summary>
/// <param name="SampledHr10">HR@10 against the sampled negatives.</param>
/// <param name="SampledNdcg10">NDCG@10 against the sampled negatives.</param>
/// <param name="SampledRecall20">Recall@20 against the sampled negatives.</param>
/// <param name="SampledMrr">MRR against the sampled negatives.</param>
/// <param name="FullHr10">HR@10 in full ranking.</param>
/// <param name="FullNdcg10">NDCG@10 in full ranking.</param>
/// <param name="FullRecall20">Recall@20 in full ranking.</param>
/// <param name="FullMrr">MRR in full ranking.</param>
/// <param name="Users">Users evaluated.</param>
public sealed record RankingMetrics(
    double SampledHr10, double SampledNdcg10, double SampledRecall20, double SampledMrr,
    double FullHr10, double FullNdcg10, double FullRecall20, double FullMrr, int Users);

/// <summary>Scores every item for one user (higher is better). Implementations are thread-safe for concurrent reads.</summary>
internal interface IUserScorer
{
    /// <summary>Writes the score of every item for <paramref name="user"/> into <paramref name="scores"/> (length = items).</summary>
    void Score(int user, Span<double> scores);
}

/// <summary>Evaluates scorers on a <see cref="RankingSplit"/>. Stateless; thread-safe.</summary>
internal static class RankingEvaluator
{
    public static RankingMetrics Evaluate(IUserScorer scorer, RankingSplit split, int threads = 2)
    {
        var users = Enumerable.Range(0, split.UserCount).Where(u => split.HeldOut(u) >= 0).ToArray();
        var sampled = new int[users.Length];
        var full = new int[users.Length];
        Parallel.For(0, users.Length, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, () => new double[split.ItemCount], (n, _, scores) =>
        {
            var u = users[n];
            scorer.Score(u, scores);
            var positive = split.HeldOut(u);
            var p = scores[positive];
            var rank = 0;
            foreach (var j in split.Negatives(u))
            {
                if (Outranks(scores[j], p))
                {
                    rank++;
                }
            }

            sampled[n] = rank;
            var fullRank = 0;
            for (var i = 0; i < scores.Length; i++)
            {
                if (i != positive && Outranks(scores[i], p) && !split.IsExcluded(u, i))
                {
                    fullRank++;
                }
            }

            full[n] = fullRank;
            return scores;
        }, _ => { });
        return FromRanks(sampled, full);
    }

    /// <summary>Averages the metrics from 0-based ranks (sampled and full) of the held-out items.</summary>
    public static RankingMetrics FromRanks(IReadOnlyList<int> sampled, IReadOnlyList<int> full)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(sampled.Count, full.Count);
        if (sampled.Count == 0)
        {
            return new RankingMetrics(0, 0, 0, 0, 0, 0, 0, 0, 0);
        }

        double Mean(IReadOnlyList<int> ranks, Func<int, double> f) => ranks.Sum(f) / ranks.Count;
        return new RankingMetrics(
            Mean(sampled, r => r < 10 ? 1 : 0), Mean(sampled, r => r < 10 ? 1 / Math.Log2(r + 2) : 0), Mean(sampled, r => r < 20 ? 1 : 0), Mean(sampled, r => 1.0 / (r + 1)),
            Mean(full, r => r < 10 ? 1 : 0), Mean(full, r => r < 10 ? 1 / Math.Log2(r + 2) : 0), Mean(full, r => r < 20 ? 1 : 0), Mean(full, r => 1.0 / (r + 1)),
            sampled.Count);
    }

    /// <summary>A candidate outranks the positive when it scores at least as high; NaN never favours the positive.</summary>
    private static bool Outranks(double candidate, double positive) => double.IsNaN(positive) || double.IsNaN(candidate) || candidate >= positive;
}
