namespace SecureFedRec.Recommender.Data;

/// <summary>
/// A set of explicit ratings with dense user and item indices and the map back to the source's ids.
/// Built by <see cref="DatasetLoader"/>, <see cref="SyntheticDataset"/> or <see cref="FromRatings"/>; immutable after
/// construction, so safe to share between threads. Size: 24 bytes per rating plus the id maps.
/// </summary>
public sealed class RatingDataset
{
    private readonly Rating[] ratings;
    private readonly string[] userIds;
    private readonly string[] itemIds;

    private RatingDataset(string name, Rating[] ratings, string[] userIds, string[] itemIds)
    {
        Name = name;
        this.ratings = ratings;
        this.userIds = userIds;
        this.itemIds = itemIds;
        if (ratings.Length > 0)
        {
            var min = double.MaxValue;
            var max = double.MinValue;
            var sum = 0.0;
            foreach (var r in ratings)
            {
                min = Math.Min(min, r.Value);
                max = Math.Max(max, r.Value);
                sum += r.Value;
            }

            MinRating = min;
            MaxRating = max;
            Mean = sum / ratings.Length;
        }
    }

    /// <summary>Where the data came from (file path or generator description).</summary>
    public string Name { get; }

    /// <summary>All ratings, in source order.</summary>
    public ReadOnlySpan<Rating> Ratings => ratings;

    /// <summary>Number of ratings.</summary>
    public int Count => ratings.Length;

    /// <summary>Number of distinct users; user indices are 0 … UserCount − 1.</summary>
    public int UserCount => userIds.Length;

    /// <summary>Number of distinct items; item indices are 0 … ItemCount − 1.</summary>
    public int ItemCount => itemIds.Length;

    /// <summary>Smallest rating value present.</summary>
    public double MinRating { get; }

    /// <summary>Largest rating value present.</summary>
    public double MaxRating { get; }

    /// <summary>Mean rating.</summary>
    public double Mean { get; }

    /// <summary>The source's id of a dense user index.</summary>
    public string UserId(int user) => userIds[user];

    /// <summary>The source's id of a dense item index.</summary>
    public string ItemId(int item) => itemIds[item];

    /// <summary>
    /// Builds a dataset from ratings whose indices are already dense; the source ids are the indices' decimal strings.
    /// </summary>
    /// <exception cref="ArgumentException">An index is outside [0, count), a value is not finite, or a (user, item) pair repeats.</exception>
    public static RatingDataset FromRatings(string name, IEnumerable<Rating> ratings, int userCount, int itemCount)
    {
        ArgumentNullException.ThrowIfNull(ratings);
        ArgumentOutOfRangeException.ThrowIfNegative(userCount);
        ArgumentOutOfRangeException.ThrowIfNegative(itemCount);
        var array = ratings.ToArray();
        var seen = new HashSet<long>();
        foreach (var r in array)
        {
            if ((uint)r.User >= (uint)userCount || (uint)r.Item >= (uint)itemCount)
            {
                throw new ArgumentException($"rating ({r.User}, {r.Item}) is outside {userCount} users × {itemCount} items", nameof(ratings));
            }

            if (!float.IsFinite(r.Value))
            {
                throw new ArgumentException($"rating ({r.User}, {r.Item}) has a non-finite value", nameof(ratings));
            }

            if (!seen.Add(((long)r.User << 32) | (uint)r.Item))
            {
                throw new ArgumentException($"rating ({r.User}, {r.Item}) appears twice", nameof(ratings));
            }
        }

        return new RatingDataset(
            name,
            array,
            Enumerable.Range(0, userCount).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
            Enumerable.Range(0, itemCount).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
    }

    internal static RatingDataset FromLoaded(string name, Rating[] ratings, string[] userIds, string[] itemIds) =>
        new(name, ratings, userIds, itemIds);

    /// <summary>A dataset with the same users, items and id maps and a subset of the ratings.</summary>
    internal RatingDataset WithRatings(Rating[] subset) => new(Name, subset, userIds, itemIds);

    /// <summary>Ratings grouped by user: element u lists user u's ratings in source order.</summary>
    internal Rating[][] ByUser()
    {
        var counts = new int[UserCount];
        foreach (var r in ratings)
        {
            counts[r.User]++;
        }

        var result = new Rating[UserCount][];
        for (var u = 0; u < UserCount; u++)
        {
            result[u] = new Rating[counts[u]];
        }

        var fill = new int[UserCount];
        foreach (var r in ratings)
        {
            result[r.User][fill[r.User]++] = r;
        }

        return result;
    }
}
