using SecureFedRec.Recommender.Internal;

namespace SecureFedRec.Recommender.Data;

/// <summary>Parameters of <see cref="SyntheticDataset.Generate"/>; the defaults are the embedded dataset of <c>simulate</c>.</summary>
public sealed record SyntheticOptions
{
    /// <summary>Number of users (≥ 1).</summary>
    public int Users { get; init; } = 600;

    /// <summary>Number of items (≥ 10).</summary>
    public int Items { get; init; } = 1000;

    /// <summary>Rank of the true preference structure.</summary>
    public int Rank { get; init; } = 5;

    /// <summary>Fewest ratings per user (at least 5, so that a test split leaves training data).</summary>
    public int MinRatingsPerUser { get; init; } = 15;

    /// <summary>Median ratings per user; activity is log-normal around it, capped at half the items.</summary>
    public int MedianRatingsPerUser { get; init; } = 40;

    /// <summary>Zipf exponent of item popularity (0 = uniform).</summary>
    public double PopularityExponent { get; init; } = 0.9;

    /// <summary>Standard deviation of the rating noise, in stars.</summary>
    public double NoiseStdDev { get; init; } = 0.5;
}

/// <summary>
/// Deterministic synthetic explicit ratings on a 0.5–5 scale in half stars: a low-rank preference structure
/// (rating = 3.5 + user bias + item bias + ⟨p_u, q_i⟩ + Gaussian noise, rounded and clamped), Zipf item popularity,
/// log-normal user activity, and selection bias (a drawn item is kept with probability 0.2 + 0.8·σ(3·(⟨p_u, q_i⟩ + b_i)),
/// so users mostly rate what they like, as in real data). The same options and seed always give the same dataset. Thread-safe (no shared state).
/// </summary>
public static class SyntheticDataset
{
    /// <summary>Generates the dataset from a 64-bit seed (through <c>DeterministicRandomSource</c>).</summary>
    public static RatingDataset Generate(SyntheticOptions options, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Users, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Items, 10);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Rank, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MinRatingsPerUser, 5);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MedianRatingsPerUser, options.MinRatingsPerUser);
        ArgumentOutOfRangeException.ThrowIfNegative(options.PopularityExponent);
        ArgumentOutOfRangeException.ThrowIfNegative(options.NoiseStdDev);
        if (options.MinRatingsPerUser > options.Items / 2)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MinRatingsPerUser must be at most half the items");
        }

        using var rng = Rng.ForPurpose(seed, "synthetic-data");
        var k = options.Rank;
        var scale = 1.0 / Math.Sqrt(k);
        var p = new double[options.Users * k];
        var q = new double[options.Items * k];
        for (var i = 0; i < p.Length; i++)
        {
            p[i] = rng.NextGaussian() * scale;
        }

        for (var i = 0; i < q.Length; i++)
        {
            q[i] = rng.NextGaussian() * scale;
        }

        var userBias = new double[options.Users];
        var itemBias = new double[options.Items];
        for (var u = 0; u < options.Users; u++)
        {
            userBias[u] = rng.NextGaussian() * 0.35;
        }

        for (var i = 0; i < options.Items; i++)
        {
            itemBias[i] = rng.NextGaussian() * 0.45;
        }

        // Popularity: Zipf weights over a random order of the items; cumulative for inverse-CDF draws.
        var order = Enumerable.Range(0, options.Items).ToArray();
        rng.Shuffle(order.AsSpan());
        var cumulative = new double[options.Items];
        var total = 0.0;
        for (var rank = 0; rank < options.Items; rank++)
        {
            total += Math.Pow(rank + 1, -options.PopularityExponent);
            cumulative[rank] = total;
        }

        var ratings = new List<Rating>();
        var chosen = new HashSet<int>();
        for (var u = 0; u < options.Users; u++)
        {
            var activity = options.MedianRatingsPerUser * Math.Exp(0.7 * rng.NextGaussian());
            var n = (int)Math.Clamp(Math.Round(activity), options.MinRatingsPerUser, options.Items / 2);
            chosen.Clear();
            var t = 0L;
            while (chosen.Count < n)
            {
                var x = rng.NextDouble() * total;
                var rank = Array.BinarySearch(cumulative, x);
                rank = rank < 0 ? ~rank : rank;
                var item = order[Math.Min(rank, options.Items - 1)];
                if (chosen.Contains(item))
                {
                    continue;
                }

                var dot = 0.0;
                for (var f = 0; f < k; f++)
                {
                    dot += p[(u * k) + f] * q[(item * k) + f];
                }

                // Users mostly rate what they expect to like (ratings are missing not at random): accept a drawn
                // item with a probability rising with the user's affinity for it.
                var affinity = dot + itemBias[item];
                if (rng.NextDouble() > 0.2 + (0.8 / (1 + Math.Exp(-3 * affinity))))
                {
                    continue;
                }

                chosen.Add(item);

                var value = 3.5 + userBias[u] + itemBias[item] + dot + (options.NoiseStdDev * rng.NextGaussian());
                value = Math.Clamp(Math.Round(value * 2) / 2, 0.5, 5.0);
                ratings.Add(new Rating(u, item, (float)value, (u * 100_000L) + t++));
            }
        }

        var name = $"synthetic(users={options.Users}, items={options.Items}, rank={k}, seed={seed})";
        return RatingDataset.FromRatings(name, ratings, options.Users, options.Items);
    }
}
