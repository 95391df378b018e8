using System.Globalization;
using SecureFedRec.Crypto;
using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Evaluation;
using SecureFedRec.Recommender.Internal;
using SecureFedRec.Recommender.Model;

namespace SecureFedRec.Recommender.Federated;

/// <summary>
/// The recommender as one networked client runs it (docs/integrators.md, "Recommender mode"): biased matrix
/// factorization (Koren, Bell, Volinsky 2009) trained federatedly, FedAvg style (McMahan et al. 2017). The client holds
/// its users' ratings and their user biases and factors, which never leave this object; each round it trains locally
/// from the global item model and returns only the item-side delta.
/// <para>
/// Flattened model layout shared by coordinator and clients (length <see cref="ModelDimension"/> = I·(k + 1) + 1):
/// item factors q_i row-major (I·k values, item i at [i·k, i·k + k)), then item biases b_i (I values, at I·k + i),
/// then the global mean μ (last). Items are dense integers 0 … I − 1, the same for every client; user ids are
/// non-negative integers local to the client. An update has the same layout and holds, per item the client rated,
/// the mean change of its local copy (zero for items it did not rate); the coordinator adds the average over
/// contributors.
/// </para>
/// Not thread-safe; one instance per client. Invalid arguments throw <see cref="ArgumentException"/>.
/// </summary>
public sealed class LocalRecommender
{
    private readonly FederatedClient client;
    private readonly Dictionary<int, int> denseOfUser = [];
    private readonly FederatedOptions options;
    private readonly UpdateLayout layout;
    private readonly ulong seed;
    private int round;

    /// <summary>Creates the local state from this client's training ratings.</summary>
    /// <param name="ratings">Training ratings: <see cref="Rating.User"/> ≥ 0 (local user id), <see cref="Rating.Item"/> in [0, <paramref name="items"/>).</param>
    /// <param name="items">Number of items I of the shared item space.</param>
    /// <param name="hyperparameters">Factors k, learning rate, regularization and the user-factor initialisation.</param>
    /// <param name="localEpochs">Passes over the local ratings per round (≥ 1).</param>
    /// <param name="seed">Seed of the user-factor initialisation and the local shuffles (deterministic under a seed).</param>
    public LocalRecommender(IEnumerable<Rating> ratings, int items, MfHyperparameters hyperparameters, int localEpochs, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(ratings);
        ArgumentNullException.ThrowIfNull(hyperparameters);
        ArgumentOutOfRangeException.ThrowIfLessThan(items, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(localEpochs, 1);
        hyperparameters.Validate();
        var byUser = new List<List<Rating>>();
        foreach (var r in ratings)
        {
            if (r.User < 0 || (uint)r.Item >= (uint)items || !float.IsFinite(r.Value))
            {
                throw new ArgumentException($"rating ({r.User}, {r.Item}) is outside users ≥ 0 × {items} items or not finite", nameof(ratings));
            }

            if (!denseOfUser.TryGetValue(r.User, out var dense))
            {
                dense = byUser.Count;
                denseOfUser.Add(r.User, dense);
                byUser.Add([]);
            }

            byUser[dense].Add(r with { User = dense });
        }

        Items = items;
        Factors = hyperparameters.Factors;
        this.seed = seed;
        options = new FederatedOptions { Hyperparameters = hyperparameters, LocalEpochs = localEpochs, Seed = seed };
        layout = new UpdateLayout(items, Factors);
        client = new FederatedClient(0, Enumerable.Range(0, byUser.Count).ToArray(), byUser.Select(l => l.ToArray()).ToArray(), Factors, hyperparameters.InitStdDev, seed);
    }

    /// <summary>Number of items I.</summary>
    public int Items { get; }

    /// <summary>Latent dimension k.</summary>
    public int Factors { get; }

    /// <summary>Length of the flattened model and of every update: I·(k + 1) + 1.</summary>
    public int Dimension => ModelDimension(Items, Factors);

    /// <summary>Number of local training ratings.</summary>
    public int RatingCount => client.RatingCount;

    /// <summary>I·(k + 1) + 1: the flattened model's length for <paramref name="items"/> items and <paramref name="factors"/> factors.</summary>
    public static int ModelDimension(int items, int factors)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(items, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(factors, 1);
        return checked((items * (factors + 1)) + 1);
    }

    /// <summary>
    /// A fresh global model: item factors drawn N(0, <paramref name="stdDev"/>²) from <paramref name="rng"/> (a zero
    /// item side never moves under MF-SGD), item biases 0, μ = <paramref name="mean"/>.
    /// </summary>
    public static double[] InitialModel(int items, int factors, RandomSource rng, double mean = 0, double stdDev = 0.1)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (!double.IsFinite(mean) || !(stdDev > 0 && stdDev < 10))
        {
            throw new ArgumentOutOfRangeException(nameof(stdDev), "mean must be finite and stdDev in (0, 10)");
        }

        var model = new double[ModelDimension(items, factors)];
        var r = new Rng(rng);
        for (var i = 0; i < items * factors; i++)
        {
            model[i] = r.NextGaussian() * stdDev;
        }

        model[^1] = mean;
        return model;
    }

    /// <summary>
    /// Loads a ratings file with <see cref="DatasetLoader"/> whose user and item ids are integers (items dense in
    /// [0, <paramref name="items"/>)); ratings keep those ids.
    /// </summary>
    /// <exception cref="DatasetFormatException">Malformed file, a non-integer id, or an item outside the item space.</exception>
    public static IReadOnlyList<Rating> LoadRatings(string path, int items)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(items, 1);
        var dataset = DatasetLoader.Load(path);
        var result = new Rating[dataset.Count];
        for (var j = 0; j < result.Length; j++)
        {
            var r = dataset.Ratings[j];
            if (!int.TryParse(dataset.UserId(r.User), NumberStyles.None, CultureInfo.InvariantCulture, out var user))
            {
                throw new DatasetFormatException(path, 0, $"user id '{dataset.UserId(r.User)}' is not a non-negative integer");
            }

            if (!int.TryParse(dataset.ItemId(r.Item), NumberStyles.None, CultureInfo.InvariantCulture, out var item) || item >= items)
            {
                throw new DatasetFormatException(path, 0, $"item id '{dataset.ItemId(r.Item)}' is not an integer in [0, {items})");
            }

            result[j] = r with { User = user, Item = item };
        }

        return result;
    }

    /// <summary>
    /// Holds out, per user with at least 3 ratings, the latest max(1, ⌊<paramref name="fraction"/>·n⌋) ratings by
    /// timestamp (at most n − 2); deterministic. Returns the training and held-out ratings.
    /// </summary>
    public static (IReadOnlyList<Rating> Train, IReadOnlyList<Rating> HeldOut) HoldOut(IReadOnlyList<Rating> ratings, double fraction)
    {
        ArgumentNullException.ThrowIfNull(ratings);
        if (!(fraction >= 0 && fraction <= 0.9))
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "fraction must be in [0, 0.9]");
        }

        var train = new List<Rating>();
        var held = new List<Rating>();
        foreach (var group in ratings.GroupBy(r => r.User))
        {
            var ordered = group.OrderBy(r => r.Timestamp).ThenBy(r => r.Item).ToArray();
            var n = ordered.Length;
            var k = n < 3 || fraction == 0 ? 0 : Math.Min(n - 2, Math.Max(1, (int)(fraction * n)));
            train.AddRange(ordered.Take(n - k));
            held.AddRange(ordered.Skip(n - k));
        }

        return (train, held);
    }

    /// <summary>
    /// Trains the local user factors and biases for the configured local epochs from <paramref name="globalItemModel"/>
    /// and returns the item-side delta (same layout as the model; user parameters never appear in it).
    /// </summary>
    public double[] ComputeUpdate(ReadOnlySpan<double> globalItemModel)
    {
        var global = ToGlobal(globalItemModel);
        using var rng = Rng.ForPurpose(seed, "local-round-" + round.ToString(CultureInfo.InvariantCulture));
        round++;
        var (weighted, _, _) = client.TrainRound(global, options, layout, userClipNorm: null, rng);
        var k = Factors;
        var delta = new double[Dimension];
        for (var i = 0; i < Items; i++)
        {
            var w = weighted[layout.WeightOffset(i)];
            if (w <= 0)
            {
                continue;
            }

            var fo = layout.FactorOffset(i);
            for (var f = 0; f < k; f++)
            {
                delta[(i * k) + f] = weighted[fo + f] / w;
            }

            delta[(Items * k) + i] = weighted[layout.BiasOffset(i)] / w;
        }

        var wm = weighted[layout.MeanWeightOffset];
        delta[^1] = wm > 0 ? weighted[layout.MeanOffset] / wm : 0;
        return delta;
    }

    /// <summary>Top-<paramref name="n"/> unseen items for local user <paramref name="user"/>, highest score first (ties by item).</summary>
    /// <exception cref="ArgumentException">Unknown user or a model of the wrong length.</exception>
    public IReadOnlyList<(int Item, double Score)> Recommend(int user, int n, ReadOnlySpan<double> globalItemModel)
    {
        var global = ToGlobal(globalItemModel);
        return client.RecommendScored(Dense(user), global, n);
    }

    /// <summary>RMSE of <paramref name="heldOut"/> ratings of local users under the model and the local user parameters (not clamped).</summary>
    /// <exception cref="ArgumentException">A rating of an unknown user, an item outside the space, or a model of the wrong length.</exception>
    public double Rmse(IReadOnlyList<Rating> heldOut, ReadOnlySpan<double> globalItemModel)
    {
        ArgumentNullException.ThrowIfNull(heldOut);
        var global = ToGlobal(globalItemModel);
        var predicted = new double[heldOut.Count];
        var actual = new double[heldOut.Count];
        for (var j = 0; j < heldOut.Count; j++)
        {
            predicted[j] = client.Predict(Dense(heldOut[j].User), heldOut[j].Item, global);
            actual[j] = heldOut[j].Value;
        }

        return Metrics.Rmse(predicted, actual);
    }

    private int Dense(int user) =>
        denseOfUser.TryGetValue(user, out var dense) ? dense : throw new ArgumentException($"user {user} has no local ratings", nameof(user));

    private GlobalItemModel ToGlobal(ReadOnlySpan<double> model)
    {
        if (model.Length != Dimension)
        {
            throw new ArgumentException($"the model has {model.Length} values; {Items} items × {Factors} factors need {Dimension}", nameof(model));
        }

        var global = new GlobalItemModel(Items, Factors) { GlobalMean = model[^1] };
        model[..(Items * Factors)].CopyTo(global.ItemFactors);
        model.Slice(Items * Factors, Items).CopyTo(global.ItemBias);
        return global;
    }
}
