using SecureFedRec.Recommender.Internal;

namespace SecureFedRec.Recommender.Ranking;

/// <summary>Which interaction of each user is held out for testing.</summary>
public enum HoldoutProtocol
{
    /// <summary>The user's latest interaction (ties by source order): leave-latest-out, the NCF protocol (He et al., WWW 2017, §4.1).</summary>
    LeaveLatestOut = 0,

    /// <summary>One interaction drawn uniformly at random per user (seeded): leave-one-out without time order.</summary>
    LeaveOneOutRandom = 1,
}

/// <summary>
/// A ranking evaluation split: for every user with at least two distinct interacted items, one item is held out
/// (<see cref="HoldoutProtocol"/>) and 99 (configurable) negatives are drawn uniformly from the items the user never
/// interacted with (seeded, without replacement); all other interactions are training data. <see cref="Nested"/>
/// holds out one more interaction per user from the training part for validation, so hyperparameters are tuned
/// without ever seeing the test items. Immutable; thread-safe.
/// </summary>
public sealed class RankingSplit
{
    private readonly Interaction[][] train;
    private readonly int[] heldOut;
    private readonly int[][] negatives;
    private readonly HashSet<int>[] excluded;

    private RankingSplit(int items, Interaction[][] train, int[] heldOut, int[][] negatives, HashSet<int>[] excluded, HoldoutProtocol protocol, ulong seed, string description)
    {
        ItemCount = items;
        this.train = train;
        this.heldOut = heldOut;
        this.negatives = negatives;
        this.excluded = excluded;
        Protocol = protocol;
        Seed = seed;
        Description = description;
    }

    /// <summary>Number of items in the catalogue.</summary>
    public int ItemCount { get; }

    /// <summary>Number of users.</summary>
    public int UserCount => train.Length;

    /// <summary>The holdout protocol.</summary>
    public HoldoutProtocol Protocol { get; }

    /// <summary>Seed of the holdout draw (random protocol) and of the sampled negatives.</summary>
    public ulong Seed { get; }

    /// <summary>A one-line description for reports (protocol, seed, users evaluated, training interactions).</summary>
    public string Description { get; }

    /// <summary>Users with a held-out item.</summary>
    public int EvaluatedUsers => heldOut.Count(x => x >= 0);

    /// <summary>Training interactions (distinct user–item pairs).</summary>
    public int TrainCount => train.Sum(t => t.Length);

    /// <summary>The held-out item of a user, or −1 when the user is not evaluated.</summary>
    public int HeldOut(int user) => heldOut[user];

    /// <summary>The sampled negatives of a user (empty when not evaluated).</summary>
    public IReadOnlyList<int> Negatives(int user) => negatives[user];

    /// <summary>True when the item must not be recommended to the user (a training item).</summary>
    internal bool IsExcluded(int user, int item) => excluded[user].Contains(item);

    /// <summary>Training interactions per user, ordered by time.</summary>
    internal Interaction[][] Train => train;

    /// <summary>Splits a dataset.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than 1 negative, or more negatives than the catalogue allows.</exception>
    public static RankingSplit Create(ImplicitDataset data, HoldoutProtocol protocol, int negativeCount, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Create(data.ByUser(), data.ItemCount, protocol, negativeCount, seed, "test");
    }

    /// <summary>
    /// The nested validation split: this split's training data split again by the same protocol (the test items are
    /// not part of it at all), for tuning only.
    /// </summary>
    public RankingSplit Nested() => Create(train, ItemCount, Protocol, negatives.Max(n => n.Length) is > 0 and var k ? k : 99, Seed + 0x9E3779B97F4A7C15UL, "validation");

    private static RankingSplit Create(Interaction[][] byUser, int items, HoldoutProtocol protocol, int negativeCount, ulong seed, string role)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(negativeCount, 1);
        var users = byUser.Length;
        var train = new Interaction[users][];
        var heldOut = new int[users];
        var negatives = new int[users][];
        var excluded = new HashSet<int>[users];
        using var holdRng = Rng.ForPurpose(seed, $"ranking-holdout-{role}");
        using var negRng = Rng.ForPurpose(seed, $"ranking-negatives-{role}");
        for (var u = 0; u < users; u++)
        {
            var all = byUser[u];
            excluded[u] = [.. all.Select(x => x.Item)];
            if (all.Length < 2)
            {
                train[u] = all;
                heldOut[u] = -1;
                negatives[u] = [];
                continue;
            }

            var pick = protocol == HoldoutProtocol.LeaveLatestOut ? all.Length - 1 : holdRng.NextInt(all.Length);
            heldOut[u] = all[pick].Item;
            train[u] = [.. all.Take(pick), .. all.Skip(pick + 1)];
            var available = items - all.Length;
            if (available < negativeCount)
            {
                throw new ArgumentOutOfRangeException(nameof(negativeCount), negativeCount, $"user {u} has only {available} items to draw negatives from");
            }

            var chosen = new HashSet<int>();
            var list = new int[negativeCount];
            for (var n = 0; n < negativeCount;)
            {
                var candidate = negRng.NextInt(items);
                if (excluded[u].Contains(candidate) || !chosen.Add(candidate))
                {
                    continue;
                }

                list[n++] = candidate;
            }

            negatives[u] = list;

            // The test item is hidden from training but still excluded from the candidates of full ranking only as
            // the positive itself; the training items are excluded from full ranking.
            excluded[u].Remove(heldOut[u]);
        }

        var evaluated = heldOut.Count(x => x >= 0);
        var description = $"{(protocol == HoldoutProtocol.LeaveLatestOut ? "leave-latest-out" : "leave-one-out (random)")} {role} split, seed {seed}: {evaluated} users evaluated, {train.Sum(t => t.Length)} training interactions, {negativeCount} sampled negatives";
        return new RankingSplit(items, train, heldOut, negatives, excluded, protocol, seed, description);
    }
}
