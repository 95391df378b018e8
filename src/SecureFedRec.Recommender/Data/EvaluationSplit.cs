using SecureFedRec.Recommender.Internal;

namespace SecureFedRec.Recommender.Data;

/// <summary>
/// The documented evaluation split, one training run serving both kinds of metric. For every user with at least 3
/// ratings: the latest rating (largest timestamp; ties broken by the later position in the file) is held out as the
/// user's leave-latest-out ranking positive; of the remaining ratings, ⌊testFraction·n⌉ chosen uniformly at random
/// (a seeded stream; at least one rating always stays in training) are held out for RMSE/MAE; the rest is training
/// data. Users with fewer than 3 ratings are kept entirely in training. Immutable; thread-safe.
/// </summary>
public sealed class EvaluationSplit
{
    private readonly int[] rankingPositive;
    private readonly int[][] seenItems;

    private EvaluationSplit(RatingDataset train, Rating[] ratingTest, int[] rankingPositive, int[][] seenItems)
    {
        Train = train;
        RatingTest = ratingTest;
        this.rankingPositive = rankingPositive;
        this.seenItems = seenItems;
    }

    /// <summary>Training ratings (same users, items and id maps as the source).</summary>
    public RatingDataset Train { get; }

    /// <summary>Held-out ratings for RMSE and MAE.</summary>
    public IReadOnlyList<Rating> RatingTest { get; }

    /// <summary>The held-out latest item of a user, or −1 when the user has none.</summary>
    public int RankingPositive(int user) => rankingPositive[user];

    /// <summary>Items a user interacted with other than the ranking positive (training and rating-test), ascending: excluded from ranking.</summary>
    public IReadOnlyList<int> SeenItems(int user) => seenItems[user];

    /// <summary>Creates the split; <paramref name="testFraction"/> in [0, 0.9].</summary>
    public static EvaluationSplit Create(RatingDataset dataset, double testFraction, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfNegative(testFraction);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(testFraction, 0.9);
        using var rng = Rng.ForPurpose(seed, "evaluation-split");
        var byUser = dataset.ByUser();
        var train = new List<Rating>(dataset.Count);
        var test = new List<Rating>();
        var positives = new int[dataset.UserCount];
        var seen = new int[dataset.UserCount][];
        for (var u = 0; u < dataset.UserCount; u++)
        {
            var ratings = byUser[u];
            positives[u] = -1;
            if (ratings.Length < 3)
            {
                train.AddRange(ratings);
                seen[u] = ratings.Select(r => r.Item).Order().ToArray();
                continue;
            }

            // Latest by timestamp; ByUser keeps file order, so ">=" picks the later line on a tie.
            var latest = 0;
            for (var j = 1; j < ratings.Length; j++)
            {
                if (ratings[j].Timestamp >= ratings[latest].Timestamp)
                {
                    latest = j;
                }
            }

            positives[u] = ratings[latest].Item;
            var rest = ratings.Where((_, j) => j != latest).ToArray();
            rng.Shuffle(rest.AsSpan());
            var nTest = Math.Min((int)Math.Round(testFraction * rest.Length), rest.Length - 1);
            test.AddRange(rest.Take(nTest));
            train.AddRange(rest.Skip(nTest));
            seen[u] = rest.Select(r => r.Item).Order().ToArray();
        }

        return new EvaluationSplit(dataset.WithRatings(train.ToArray()), test.ToArray(), positives, seen);
    }
}
