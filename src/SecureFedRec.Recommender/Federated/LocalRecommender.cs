using System.Globalization;
using SecureFedRec.Crypto;
using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Evaluation;
using SecureFedRec.Recommender.Internal;
using SecureFedRec.Recommender.Model;
using SecureFedRec.Recommender.Ranking;

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

/// <summary>
/// A ranking model (<see cref="RankingModelKind"/>: BPR-MF, iALS, two-tower) as one networked client runs it: it holds
/// its users' interaction history and private user state (and, with personalization, its private item offsets),
/// computes its dense update from the global shared model each round, and produces top-N lists for its own users
/// locally, excluding the items each user already interacted with.
/// <para>
/// The global model is the model's shared side, <see cref="Dimension"/> values: item rows (BPR and two-tower
/// [q_i (k), b_i]; iALS q_i) and, for the two-tower model, the towers' dense weights after them. An update of a delta
/// model (BPR, two-tower) is the change of the client's local copy after training (the coordinator averages over
/// contributors); an iALS update is the client's sufficient statistics, <see cref="UpdateDimension"/> values (the
/// coordinator sums them and applies <see cref="ApplyAggregate"/>).
/// </para>
/// Not thread-safe; one instance per client. Invalid arguments throw <see cref="ArgumentException"/>.
/// </summary>
public sealed class LocalRankingRecommender
{
    private readonly RankingModel model;
    private readonly LocalUsers users;
    private readonly Dictionary<int, int> localOfUser = [];
    private readonly int localEpochs;
    private readonly ulong seed;
    private int round;

    /// <summary>Creates the local state from this client's training events.</summary>
    /// <param name="kind">The ranking model.</param>
    /// <param name="events">Interaction events: <see cref="InteractionEvent.User"/> ≥ 0 (local user id), item in [0, <paramref name="items"/>).</param>
    /// <param name="items">Catalogue size I of the shared item space.</param>
    /// <param name="hyperparameters">Model hyperparameters (must match the coordinator's model).</param>
    /// <param name="localEpochs">Local passes per round (delta models).</param>
    /// <param name="seed">Seed of the user-state initialisation and local sampling.</param>
    /// <param name="personalize">Also learn private item-score offsets (never sent).</param>
    public LocalRankingRecommender(RankingModelKind kind, IEnumerable<InteractionEvent> events, int items, RankingHyperparameters hyperparameters, int localEpochs, ulong seed, bool personalize = false)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(hyperparameters);
        ArgumentOutOfRangeException.ThrowIfLessThan(items, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(localEpochs, 1);
        var list = new List<InteractionEvent>();
        foreach (var e in events)
        {
            if (e.User < 0 || (uint)e.Item >= (uint)items || !(e.Weight > 0) || !float.IsFinite(e.Weight))
            {
                throw new ArgumentException($"event ({e.User}, {e.Item}) is outside users ≥ 0 × {items} items or has a non-positive weight", nameof(events));
            }

            if (!localOfUser.TryGetValue(e.User, out var dense))
            {
                dense = localOfUser.Count;
                localOfUser.Add(e.User, dense);
            }

            list.Add(e with { User = dense });
        }

        model = RankingSimulation.Create(kind, items, hyperparameters);
        var data = ImplicitDataset.FromEvents("local", list, localOfUser.Count, items);
        users = new LocalUsers(Enumerable.Range(0, localOfUser.Count).ToArray(), data.ByUser(), model.UserWidth, items, personalize);
        using (var rng = Rng.ForPurpose(seed, "local-ranking-init"))
        {
            model.InitUsers(users, rng);
        }

        this.localEpochs = localEpochs;
        this.seed = seed;
    }

    /// <summary>Length of the global shared model.</summary>
    public int Dimension => model.SharedLength;

    /// <summary>Length of an update: <see cref="Dimension"/> for delta models, the statistics' length for iALS.</summary>
    public int UpdateDimension => model.IsDeltaModel ? model.SharedLength : model.UpdateRows * model.UpdateWidth;

    /// <summary>Local user ids held, ascending.</summary>
    public IReadOnlyList<int> Users => localOfUser.Keys.Order().ToArray();

    /// <summary>A freshly initialised global model for the coordinator (seeded; the same for every party given the seed).</summary>
    public static double[] InitialModel(RankingModelKind kind, int items, RankingHyperparameters hyperparameters, ulong seed)
    {
        var m = RankingSimulation.Create(kind, items, hyperparameters);
        var shared = new double[m.SharedLength];
        using var rng = Rng.ForPurpose(seed, "ranking-init-shared");
        m.InitShared(shared, rng);
        return shared;
    }

    /// <summary>
    /// The coordinator's rule: applies the aggregate of <paramref name="contributors"/> clients' updates to the global
    /// model in place (delta models: + sum / contributors; iALS: the preconditioned step from the summed statistics).
    /// </summary>
    public static void ApplyAggregate(RankingModelKind kind, int items, RankingHyperparameters hyperparameters, Span<double> global, ReadOnlySpan<double> sum, int contributors)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(contributors, 1);
        var m = RankingSimulation.Create(kind, items, hyperparameters);
        if (global.Length != m.SharedLength)
        {
            throw new ArgumentException($"model length {global.Length}, expected {m.SharedLength}", nameof(global));
        }

        if (m.IsDeltaModel)
        {
            if (sum.Length != m.SharedLength)
            {
                throw new ArgumentException($"sum length {sum.Length}, expected {m.SharedLength}", nameof(sum));
            }

            Kernels.Axpy(1.0 / contributors, sum, global);
            return;
        }

        if (sum.Length != m.UpdateRows * m.UpdateWidth)
        {
            throw new ArgumentException($"sum length {sum.Length}, expected {m.UpdateRows * m.UpdateWidth}", nameof(sum));
        }

        var direction = new double[m.SharedLength];
        m.Direction(global, sum, direction);
        Kernels.Axpy(1.0, direction, global);
    }

    /// <summary>Trains locally from <paramref name="global"/> and returns this round's dense update (see the type's remarks).</summary>
    public double[] ComputeUpdate(ReadOnlySpan<double> global)
    {
        CheckModel(global);
        round++;
        var update = new double[UpdateDimension];
        if (!model.IsDeltaModel)
        {
            model.ComputeStatistics(global, users, update);
            return update;
        }

        var copy = global.ToArray();
        using var rng = Rng.ForPurpose(seed, $"local-ranking-round-{round}");
        model.TrainLocal(copy, users, localEpochs, rng, null);
        for (var x = 0; x < copy.Length; x++)
        {
            update[x] = copy[x] - global[x];
        }

        return update;
    }

    /// <summary>
    /// Top-<paramref name="n"/> items for one local user under <paramref name="global"/>, excluding the user's own
    /// history; highest score first, ties by item index. iALS solves the user's factors from the global model first.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown user or a model of the wrong length.</exception>
    public IReadOnlyList<(int Item, double Score)> Recommend(int user, ReadOnlySpan<double> global, int n)
    {
        CheckModel(global);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (!localOfUser.TryGetValue(user, out var local))
        {
            throw new ArgumentException($"user {user} is not held by this client", nameof(user));
        }

        if (model is IalsModel ials)
        {
            ials.Prepare(global);
            ials.RefreshUsers(global, users);
        }

        var scorer = model.Export(global, [users], users.Count);
        var scores = new double[model.ItemCount];
        scorer.Score(local, scores);
        var seen = users.Seen[local];
        return Enumerable.Range(0, model.ItemCount)
            .Where(i => !seen.Contains(i))
            .OrderByDescending(i => scores[i]).ThenBy(i => i)
            .Take(n)
            .Select(i => (i, scores[i]))
            .ToArray();
    }

    /// <summary>Top-<paramref name="n"/> lists for several local users under one model (iALS solves the user factors once for all of them).</summary>
    /// <exception cref="ArgumentException">Unknown user or a model of the wrong length.</exception>
    internal IReadOnlyList<(int Item, double Score)>[] RecommendMany(IReadOnlyList<int> wanted, ReadOnlySpan<double> global, int n)
    {
        CheckModel(global);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (model is IalsModel ials)
        {
            ials.Prepare(global);
            ials.RefreshUsers(global, users);
        }

        var scorer = model.Export(global, [users], users.Count);
        var scores = new double[model.ItemCount];
        var result = new IReadOnlyList<(int Item, double Score)>[wanted.Count];
        for (var j = 0; j < wanted.Count; j++)
        {
            if (!localOfUser.TryGetValue(wanted[j], out var local))
            {
                throw new ArgumentException($"user {wanted[j]} is not held by this client", nameof(wanted));
            }

            scorer.Score(local, scores);
            var seen = users.Seen[local];
            result[j] = Enumerable.Range(0, model.ItemCount)
                .Where(i => !seen.Contains(i))
                .OrderByDescending(i => scores[i]).ThenBy(i => i)
                .Take(n)
                .Select(i => (i, scores[i]))
                .ToArray();
        }

        return result;
    }

    private void CheckModel(ReadOnlySpan<double> global)
    {
        if (global.Length != model.SharedLength)
        {
            throw new ArgumentException($"model length {global.Length}, expected {model.SharedLength}", nameof(global));
        }
    }
}
