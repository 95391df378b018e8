using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Internal;
using SecureFedRec.Recommender.Model;

namespace SecureFedRec.Recommender.Evaluation;

/// <summary>Accuracy of one model on an <see cref="EvaluationSplit"/>.</summary>
/// <param name="Rmse">RMSE on the held-out ratings (predictions clamped to the training rating scale).</param>
/// <param name="Mae">MAE on the same ratings.</param>
/// <param name="HitRateSampled">HR@K, positive ranked against sampled negatives.</param>
/// <param name="NdcgSampled">NDCG@K against sampled negatives.</param>
/// <param name="HitRateFull">HR@K, positive ranked against every item the user has not seen.</param>
/// <param name="NdcgFull">NDCG@K against every unseen item.</param>
/// <param name="RankedUsers">Users with a ranking positive.</param>
public sealed record EvaluationResult(double Rmse, double Mae, double HitRateSampled, double NdcgSampled, double HitRateFull, double NdcgFull, int RankedUsers);

/// <summary>
/// Evaluates a model: RMSE/MAE on <see cref="EvaluationSplit.RatingTest"/>; HR@K and NDCG@K for each user's held-out
/// latest item, (a) against <c>negatives</c> items sampled uniformly without replacement among the items the user has
/// not interacted with (the NCF protocol, He et al. 2017), and (b) against all such items (full ranking, as Krichene
/// and Rendle, KDD 2020, recommend). Items the user has seen are excluded from both candidate sets. Negatives come from
/// a seeded stream, so results are reproducible. Stateless; thread-safe.
/// </summary>
public static class Evaluator
{
    /// <summary>Evaluates <paramref name="model"/> (K = 10 and 99 negatives by default).</summary>
    public static EvaluationResult Evaluate(MatrixFactorizationModel model, EvaluationSplit split, ulong seed, int k = 10, int negatives = 99)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(split);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(negatives, 1);
        var train = split.Train;
        var test = split.RatingTest;
        double rmse = double.NaN, mae = double.NaN;
        if (test.Count > 0)
        {
            var predicted = new double[test.Count];
            var actual = new double[test.Count];
            for (var j = 0; j < test.Count; j++)
            {
                predicted[j] = Math.Clamp(model.Predict(test[j].User, test[j].Item), train.MinRating, train.MaxRating);
                actual[j] = test[j].Value;
            }

            rmse = Metrics.Rmse(predicted, actual);
            mae = Metrics.Mae(predicted, actual);
        }

        using var rng = Rng.ForPurpose(seed, "evaluation-negatives");
        var scores = new double[model.ItemCount];
        var excluded = new bool[model.ItemCount];
        var sampled = new double[negatives];
        double hrS = 0, ndcgS = 0, hrF = 0, ndcgF = 0;
        var users = 0;
        for (var u = 0; u < model.UserCount; u++)
        {
            var positive = split.RankingPositive(u);
            if (positive < 0)
            {
                continue;
            }

            var seen = split.SeenItems(u);
            var unseen = model.ItemCount - seen.Count - 1;
            if (unseen < negatives)
            {
                continue;
            }

            users++;
            foreach (var i in seen)
            {
                excluded[i] = true;
            }

            excluded[positive] = true;
            for (var i = 0; i < model.ItemCount; i++)
            {
                scores[i] = model.Predict(u, i);
            }

            var positiveScore = scores[positive];

            // Full ranking: every unseen item is a candidate.
            var fullRank = 0;
            for (var i = 0; i < model.ItemCount; i++)
            {
                if (!excluded[i] && Metrics.Outranks(scores[i], positiveScore))
                {
                    fullRank++;
                }
            }

            // Sampled: draw distinct unseen items (marking them excluded while drawing, then unmarking).
            var drawn = new List<int>(negatives);
            while (drawn.Count < negatives)
            {
                var i = rng.NextInt(model.ItemCount);
                if (!excluded[i])
                {
                    excluded[i] = true;
                    drawn.Add(i);
                    sampled[drawn.Count - 1] = scores[i];
                }
            }

            var sampledRank = Metrics.RankOf(positiveScore, sampled);
            hrS += Metrics.HitRate(sampledRank, k);
            ndcgS += Metrics.Ndcg(sampledRank, k);
            hrF += Metrics.HitRate(fullRank, k);
            ndcgF += Metrics.Ndcg(fullRank, k);
            foreach (var i in drawn)
            {
                excluded[i] = false;
            }

            foreach (var i in seen)
            {
                excluded[i] = false;
            }

            excluded[positive] = false;
        }

        return users == 0
            ? new EvaluationResult(rmse, mae, double.NaN, double.NaN, double.NaN, double.NaN, 0)
            : new EvaluationResult(rmse, mae, hrS / users, ndcgS / users, hrF / users, ndcgF / users, users);
    }
}
