using System.Globalization;
using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Ranking;

namespace SecureFedRec.Recommender.Federated;

/// <summary>
/// A ranking model (<see cref="RankingModelSpec"/>) as one networked client runs it (docs/integrators.md, "Recommender
/// mode"): it holds its users' interaction history and private user state, computes each round's update from the
/// downloaded global model (header included), and produces top-N lists for its own users, excluding the items each
/// user already interacted with. BPR, iALS and the two-tower model run through <see cref="LocalRankingRecommender"/>;
/// knn computes the two item-Gram rounds' vectors of <c>simulate --model knn</c> and scores with the published
/// popularity, candidates and Gram. Not thread-safe; one instance per client.
/// </summary>
public sealed class NetworkRankingRecommender
{
    private static readonly ItemGramSettings GramDefaults = new();
    private readonly LocalRankingRecommender? factors;
    private readonly Dictionary<int, int> localOfUser = [];
    private readonly Interaction[][] train = [];
    private readonly double knnLocalWeight;

    /// <summary>Creates the local state from this client's training events.</summary>
    /// <param name="spec">The model (must be the coordinator's).</param>
    /// <param name="events">Training events: user ≥ 0 (local id), item in [0, <see cref="RankingModelSpec.Items"/>).</param>
    /// <param name="hyperparameters">Local hyperparameters (learning rates, α, λ); k and the hidden width are the spec's.</param>
    /// <param name="localEpochs">Local passes per round (BPR, two-tower).</param>
    /// <param name="seed">Seed of the user-state initialisation and the local sampling.</param>
    /// <param name="knnLocalWeight">knn: weight of the institution's own exact user-kNN signal in the served score (0: the DP global score alone); never sent.</param>
    /// <exception cref="ArgumentException">An event outside the item space or with a non-positive weight, or a negative or non-finite weight.</exception>
    public NetworkRankingRecommender(RankingModelSpec spec, IEnumerable<InteractionEvent> events, RankingHyperparameters hyperparameters, int localEpochs, ulong seed, double knnLocalWeight = 2)
    {
        if (!(knnLocalWeight >= 0) || !double.IsFinite(knnLocalWeight))
        {
            throw new ArgumentOutOfRangeException(nameof(knnLocalWeight), knnLocalWeight, "the local weight must be non-negative and finite");
        }

        this.knnLocalWeight = knnLocalWeight;
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(hyperparameters);
        Spec = spec;
        var list = events.ToList();
        if (spec.Kind != RankingModelKind.Knn)
        {
            var hp = hyperparameters with { Factors = spec.Factors, Hidden = spec.Hyperparameters.Hidden };
            factors = new LocalRankingRecommender(spec.Kind, list, spec.Items, hp, localEpochs, seed);
            Users = factors.Users;
            return;
        }

        var dense = new List<InteractionEvent>(list.Count);
        foreach (var e in list)
        {
            if (e.User < 0 || (uint)e.Item >= (uint)spec.Items || !(e.Weight > 0) || !float.IsFinite(e.Weight))
            {
                throw new ArgumentException($"event ({e.User}, {e.Item}) is outside users ≥ 0 × {spec.Items} items or has a non-positive weight", nameof(events));
            }

            if (!localOfUser.TryGetValue(e.User, out var local))
            {
                local = localOfUser.Count;
                localOfUser.Add(e.User, local);
            }

            dense.Add(e with { User = local });
        }

        train = ImplicitDataset.FromEvents("local", dense, localOfUser.Count, spec.Items).ByUser();
        Users = localOfUser.Keys.Order().ToArray();
    }

    /// <summary>The model.</summary>
    public RankingModelSpec Spec { get; }

    /// <summary>Local user ids held, ascending.</summary>
    public IReadOnlyList<int> Users { get; }

    /// <summary>
    /// Loads this client's events: a ratings file (any <see cref="DatasetLoader"/> format) binarised at
    /// <paramref name="threshold"/>, or, with <paramref name="genericEvents"/>, an events CSV
    /// (<see cref="InteractionLoader.EventsHeader"/>). User and item ids must be integers, items in [0, <paramref name="items"/>).
    /// </summary>
    /// <exception cref="DatasetFormatException">A malformed line, a non-integer id or an item outside the item space (the line is named).</exception>
    public static IReadOnlyList<InteractionEvent> LoadEvents(string path, int items, double threshold, bool genericEvents)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(items, 2);
        var data = genericEvents ? InteractionLoader.LoadEvents(path) : InteractionLoader.LoadRatings(path, threshold);
        var result = new InteractionEvent[data.Count];
        for (var j = 0; j < result.Length; j++)
        {
            var e = data.Events[j];
            if (!int.TryParse(data.UserId(e.User), NumberStyles.None, CultureInfo.InvariantCulture, out var user))
            {
                throw new DatasetFormatException(path, LineOf(path, 0, data.UserId(e.User)), $"user id '{data.UserId(e.User)}' is not a non-negative integer");
            }

            if (!int.TryParse(data.ItemId(e.Item), NumberStyles.None, CultureInfo.InvariantCulture, out var item) || item >= items)
            {
                throw new DatasetFormatException(path, LineOf(path, 1, data.ItemId(e.Item)), $"item id '{data.ItemId(e.Item)}' is not an integer in [0, {items}) (the shared item space of the coordinator's model)");
            }

            result[j] = e with { User = user, Item = item };
        }

        if (result.Length == 0)
        {
            throw new DatasetFormatException(path, 0, $"no interactions (no rating reaches the threshold {threshold.ToString(CultureInfo.InvariantCulture)})");
        }

        return result;
    }

    /// <summary>
    /// Leave-latest-out: per user with at least 3 distinct items, the latest item (by timestamp, then source order) is
    /// held out with all its events; the rest is training data. Deterministic.
    /// </summary>
    public static (IReadOnlyList<InteractionEvent> Train, IReadOnlyList<(int User, int Item)> HeldOut) HoldOutLatest(IReadOnlyList<InteractionEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var held = new HashSet<(int User, int Item)>();
        foreach (var group in events.Select((e, order) => (e, order)).GroupBy(x => x.e.User))
        {
            var latest = group.GroupBy(x => x.e.Item)
                .Select(g => (Item: g.Key, Timestamp: g.Max(x => x.e.Timestamp), Order: g.Max(x => x.order)))
                .OrderBy(x => x.Timestamp).ThenBy(x => x.Order).ToArray();
            if (latest.Length >= 3)
            {
                held.Add((group.Key, latest[^1].Item));
            }
        }

        return (events.Where(e => !held.Contains((e.User, e.Item))).ToArray(), held.OrderBy(x => x.User).ToArray());
    }

    /// <summary>This round's dense update from the downloaded <paramref name="model"/> (see <see cref="RankingModelSpec"/>).</summary>
    /// <exception cref="FormatException">The model is not this client's model, or a knn model already trained.</exception>
    public double[] ComputeUpdate(ReadOnlySpan<double> model)
    {
        Spec.CheckModel(model);
        var body = model[RankingModelSpec.HeaderLength..];
        if (factors is not null)
        {
            return factors.ComputeUpdate(body);
        }

        var update = new double[Spec.UpdateDimension];
        var stage = RankingModelSpec.StageOf(model);
        var one = new double[Spec.UpdateDimension];
        if (stage == 0)
        {
            foreach (var history in train)
            {
                Array.Clear(one);
                ItemGramFederation.PopularityVector(history, one.AsSpan(0, Spec.Items));
                Kernels.Axpy(1, one, update);
            }

            return update;
        }

        if (stage != 1)
        {
            throw new FormatException("the knn model is trained (both of its rounds are released); it takes no further rounds");
        }

        var indexOf = KnnCandidates.IndexOf(body.Slice(Spec.Items, Spec.Factors), Spec.Items);
        double priorScale = Math.Sqrt(GramDefaults.PriorShare), gramScale = Math.Sqrt(1 - GramDefaults.PriorShare);
        foreach (var history in train)
        {
            Array.Clear(one);
            ItemGramFederation.UserVector(history, indexOf, priorScale, gramScale, Spec.Items, Spec.Factors, one);
            ItemGramFederation.Clip(one, 1);
            Kernels.Axpy(1, one, update);
        }

        return update;
    }

    /// <summary>Top-<paramref name="n"/> items for local user <paramref name="user"/> under <paramref name="model"/>, excluding the user's history; best first, ties by item.</summary>
    /// <exception cref="ArgumentException">Unknown user.</exception>
    /// <exception cref="FormatException">The model is not this client's model.</exception>
    public IReadOnlyList<(int Item, double Score)> Recommend(int user, ReadOnlySpan<double> model, int n) => Recommend([user], model, n)[0];

    /// <summary>Top-<paramref name="n"/> lists for several local users (one model preparation for all of them).</summary>
    /// <exception cref="ArgumentException">Unknown user.</exception>
    /// <exception cref="FormatException">The model is not this client's model.</exception>
    public IReadOnlyList<IReadOnlyList<(int Item, double Score)>> Recommend(IReadOnlyList<int> users, ReadOnlySpan<double> model, int n)
    {
        ArgumentNullException.ThrowIfNull(users);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        Spec.CheckModel(model);
        var body = model[RankingModelSpec.HeaderLength..];
        if (factors is not null)
        {
            return factors.RecommendMany(users, body, n);
        }

        var scorer = KnnScorer(body, RankingModelSpec.StageOf(model));
        var scores = new double[Spec.Items];
        var result = new IReadOnlyList<(int Item, double Score)>[users.Count];
        for (var j = 0; j < users.Count; j++)
        {
            if (!localOfUser.TryGetValue(users[j], out var local))
            {
                throw new ArgumentException($"user {users[j]} is not held by this client", nameof(users));
            }

            scorer.Score(local, scores);
            var seen = train[local].Select(x => x.Item).ToHashSet();
            result[j] = Enumerable.Range(0, Spec.Items).Where(i => !seen.Contains(i))
                .OrderByDescending(i => scores[i]).ThenBy(i => i).Take(n).Select(i => (i, scores[i])).ToArray();
        }

        return result;
    }

    /// <summary>HR@<paramref name="n"/> over full ranking: the fraction of <paramref name="heldOut"/> pairs whose item is in its user's top-n unseen items.</summary>
    public double HitRate(IReadOnlyList<(int User, int Item)> heldOut, ReadOnlySpan<double> model, int n = 10)
    {
        ArgumentNullException.ThrowIfNull(heldOut);
        if (heldOut.Count == 0)
        {
            return double.NaN;
        }

        var lists = Recommend(heldOut.Select(h => h.User).ToArray(), model, n);
        var hits = 0;
        for (var j = 0; j < heldOut.Count; j++)
        {
            hits += lists[j].Any(x => x.Item == heldOut[j].Item) ? 1 : 0;
        }

        return (double)hits / heldOut.Count;
    }

    /// <summary>
    /// The knn scorer of a model body at <paramref name="stage"/> (before the first round: every score 0; after it:
    /// popularity), served as <c>simulate --model knn</c> serves it: the DP global score plus
    /// the local weight (default <see cref="ItemGramSettings.LocalWeight"/>) × this institution's own exact user-kNN signal, computed here from
    /// the client's own users and never sent (what the rounds send is unchanged).
    /// </summary>
    private IUserScorer KnnScorer(ReadOnlySpan<double> body, int stage)
    {
        ItemGramScorer global = GlobalKnnScorer(body, stage);
        return knnLocalWeight == 0
            ? global
            : InstitutionBlendScorer.ForOneInstitution(global, train, Spec.Items, knnLocalWeight, GramDefaults.LocalExponent);
    }

    private ItemGramScorer GlobalKnnScorer(ReadOnlySpan<double> body, int stage)
    {
        int items = Spec.Items, m = Spec.Factors;
        var popularity = body[..items].ToArray();
        if (stage == 0)
        {
            return new ItemGramScorer(popularity, [], [], train, GramDefaults.PriorWeight);
        }

        var candidates = body.Slice(items, m).ToArray().Select(c => (int)c).ToArray();
        _ = KnnCandidates.IndexOf(body.Slice(items, m), items);
        var gram = ItemGramFederation.ExpandTriangle(body.Slice(items + m, Spec.Triangle), m);

        return new ItemGramScorer(popularity, candidates, gram, train, GramDefaults.PriorWeight);
    }

    /// <summary>The 1-based line of the first data row whose field <paramref name="field"/> is <paramref name="value"/> (0 when not found).</summary>
    private static int LineOf(string path, int field, string value)
    {
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            var fields = text.Contains("::", StringComparison.Ordinal) ? text.Split("::") : text.Split(text.Contains('\t', StringComparison.Ordinal) ? '\t' : ',');
            if (fields.Length > field && fields[field].Trim() == value)
            {
                return line;
            }
        }

        return 0;
    }
}
