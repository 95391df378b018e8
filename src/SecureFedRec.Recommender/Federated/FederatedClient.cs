using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Internal;
using SecureFedRec.Recommender.Model;

namespace SecureFedRec.Recommender.Federated;

/// <summary>
/// One federated client (an institution in the cross-silo shape, a single user in the cross-device shape). It holds
/// its users' ratings and their user biases and factors, which never leave it; each round it trains locally from the
/// received <see cref="GlobalItemModel"/> and emits only an item-side update vector (<see cref="UpdateLayout"/>). It
/// also answers top-N recommendations for its own users locally. Not thread-safe; one instance per client.
/// </summary>
public sealed class FederatedClient
{
    private readonly int[] users;
    private readonly Dictionary<int, int> localOfUser = [];
    private readonly int[] items;
    private readonly int[] itemWeights;
    private readonly (int LocalUser, int Slot, float Value)[] ratings;
    private readonly int[][] ratingsOfUser;
    private readonly HashSet<int>[] seenOfUser;
    private readonly double[] userBias;
    private readonly double[] userFactors;
    private readonly int factors;

    internal FederatedClient(int id, IReadOnlyList<int> users, Rating[][] ratingsByUser, int factors, double initStdDev, ulong seed)
    {
        Id = id;
        this.users = users.ToArray();
        this.factors = factors;
        var slotOf = new Dictionary<int, int>();
        var itemList = new List<int>();
        var weights = new List<int>();
        var list = new List<(int, int, float)>();
        ratingsOfUser = new int[this.users.Length][];
        seenOfUser = new HashSet<int>[this.users.Length];
        for (var lu = 0; lu < this.users.Length; lu++)
        {
            localOfUser[this.users[lu]] = lu;
            var own = new List<int>();
            seenOfUser[lu] = [];
            foreach (var r in ratingsByUser[this.users[lu]])
            {
                if (!slotOf.TryGetValue(r.Item, out var slot))
                {
                    slot = itemList.Count;
                    slotOf.Add(r.Item, slot);
                    itemList.Add(r.Item);
                    weights.Add(0);
                }

                weights[slot]++;
                own.Add(list.Count);
                list.Add((lu, slot, r.Value));
                seenOfUser[lu].Add(r.Item);
            }

            ratingsOfUser[lu] = own.ToArray();
        }

        items = itemList.ToArray();
        itemWeights = weights.ToArray();
        ratings = list.ToArray();
        userBias = new double[this.users.Length];
        userFactors = new double[this.users.Length * factors];
        using var rng = Rng.ForPurpose(seed, $"client-init-{id}");
        for (var i = 0; i < userFactors.Length; i++)
        {
            userFactors[i] = rng.NextGaussian() * initStdDev;
        }
    }

    /// <summary>Client index in the partition.</summary>
    public int Id { get; }

    /// <summary>The (global) user indices this client holds.</summary>
    public IReadOnlyList<int> Users => users;

    /// <summary>Number of training ratings held.</summary>
    public int RatingCount => ratings.Length;

    /// <summary>
    /// Top-<paramref name="n"/> items for one of this client's users under the current global model, excluding items
    /// the user has rated; computed locally from the user's private factors. Highest score first; ties by item index.
    /// </summary>
    /// <exception cref="ArgumentException">The user is not held by this client.</exception>
    public IReadOnlyList<int> RecommendTopN(int user, GlobalItemModel model, int n) =>
        RecommendScored(user, model, n).Select(x => x.Item).ToArray();

    /// <summary>Top-N as in <see cref="RecommendTopN"/>, with each item's predicted score.</summary>
    internal IReadOnlyList<(int Item, double Score)> RecommendScored(int user, GlobalItemModel model, int n)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (!localOfUser.TryGetValue(user, out var lu))
        {
            throw new ArgumentException($"user {user} is not held by client {Id}", nameof(user));
        }

        if (model.Factors != factors)
        {
            throw new ArgumentException($"model has {model.Factors} factors, client has {factors}", nameof(model));
        }

        var p = userFactors.AsSpan(lu * factors, factors);
        var best = new PriorityQueue<int, (double Score, int Item)>(n + 1, Comparer<(double Score, int Item)>.Create(
            (a, b) => a.Score != b.Score ? a.Score.CompareTo(b.Score) : b.Item.CompareTo(a.Item)));
        for (var i = 0; i < model.ItemCount; i++)
        {
            if (seenOfUser[lu].Contains(i))
            {
                continue;
            }

            var score = model.GlobalMean + userBias[lu] + model.ItemBias[i] + MatrixFactorizationModel.Dot(p, model.ItemFactors.AsSpan(i * factors, factors));
            best.Enqueue(i, (score, i));
            if (best.Count > n)
            {
                best.Dequeue();
            }
        }

        var result = new (int Item, double Score)[best.Count];
        for (var j = result.Length - 1; j >= 0; j--)
        {
            best.TryDequeue(out var item, out var key);
            result[j] = (item, key.Score);
        }

        return result;
    }

    /// <summary>Predicted rating of <paramref name="item"/> by one of this client's users under <paramref name="model"/>.</summary>
    /// <exception cref="ArgumentException">The user is not held by this client.</exception>
    internal double Predict(int user, int item, GlobalItemModel model)
    {
        if (!localOfUser.TryGetValue(user, out var lu))
        {
            throw new ArgumentException($"user {user} is not held by client {Id}", nameof(user));
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)item, (uint)model.ItemCount, nameof(item));
        return model.GlobalMean + userBias[lu] + model.ItemBias[item]
            + MatrixFactorizationModel.Dot(userFactors.AsSpan(lu * factors, factors), model.ItemFactors.AsSpan(item * factors, factors));
    }

    /// <summary>Copies this client's user parameters into a full model (simulation-side evaluation only).</summary>
    internal void CopyUserParameters(MatrixFactorizationModel model)
    {
        for (var lu = 0; lu < users.Length; lu++)
        {
            model.UserBias[users[lu]] = userBias[lu];
            userFactors.AsSpan(lu * factors, factors).CopyTo(model.UserFactors.AsSpan(users[lu] * factors, factors));
        }
    }

    /// <summary>
    /// Local training for one round. Returns the update vector and the sum of squared errors / count of the last local
    /// epoch (a simulation diagnostic). Without clipping all users train jointly on a copy of the item side (count
    /// weights); with <paramref name="userClipNorm"/> each user trains alone from the global item side and the user's
    /// delta is L2-clipped to C before it is added, so one user moves the client's vector by at most C.
    /// </summary>
    internal (double[] Update, double SquaredError, int Count) TrainRound(
        GlobalItemModel global, FederatedOptions options, UpdateLayout layout, double? userClipNorm, Rng rng)
    {
        var hp = options.Hyperparameters;
        var update = new double[layout.Length];
        if (ratings.Length == 0)
        {
            return (update, 0, 0);
        }

        return userClipNorm is { } clip
            ? TrainPerUser(global, hp, options.LocalEpochs, layout, clip, update, rng)
            : TrainJoint(global, hp, options.LocalEpochs, layout, update, rng);
    }

    private (double[], double, int) TrainJoint(GlobalItemModel global, MfHyperparameters hp, int epochs, UpdateLayout layout, double[] update, Rng rng)
    {
        var k = factors;
        var lq = new double[items.Length * k];
        var lb = new double[items.Length];
        for (var s = 0; s < items.Length; s++)
        {
            global.ItemFactors.AsSpan(items[s] * k, k).CopyTo(lq.AsSpan(s * k, k));
            lb[s] = global.ItemBias[items[s]];
        }

        var mu = global.GlobalMean;
        var order = Enumerable.Range(0, ratings.Length).ToArray();
        var sq = 0.0;
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            rng.Shuffle(order.AsSpan());
            sq = 0;
            foreach (var j in order)
            {
                var (lu, s, value) = ratings[j];
                var e = Sgd.Step(ref mu, ref userBias[lu], ref lb[s], userFactors.AsSpan(lu * k, k), lq.AsSpan(s * k, k), value, hp.LearningRate, hp.Regularization, MeanRate);
                sq += e * e;
            }
        }

        for (var s = 0; s < items.Length; s++)
        {
            var item = items[s];
            double w = itemWeights[s];
            var fo = layout.FactorOffset(item);
            for (var f = 0; f < k; f++)
            {
                update[fo + f] = w * (lq[(s * k) + f] - global.ItemFactors[(item * k) + f]);
            }

            update[layout.BiasOffset(item)] = w * (lb[s] - global.ItemBias[item]);
            update[layout.WeightOffset(item)] = w;
        }

        update[layout.MeanOffset] = ratings.Length * (mu - global.GlobalMean);
        update[layout.MeanWeightOffset] = ratings.Length;
        return (update, sq, ratings.Length);
    }

    private (double[], double, int) TrainPerUser(GlobalItemModel global, MfHyperparameters hp, int epochs, UpdateLayout layout, double clip, double[] update, Rng rng)
    {
        var k = factors;
        var sqTotal = 0.0;
        for (var lu = 0; lu < users.Length; lu++)
        {
            var own = ratingsOfUser[lu];
            if (own.Length == 0)
            {
                continue;
            }

            var lq = new double[own.Length * k];
            var lb = new double[own.Length];
            for (var j = 0; j < own.Length; j++)
            {
                var item = items[ratings[own[j]].Slot];
                global.ItemFactors.AsSpan(item * k, k).CopyTo(lq.AsSpan(j * k, k));
                lb[j] = global.ItemBias[item];
            }

            var mu = global.GlobalMean;
            var order = Enumerable.Range(0, own.Length).ToArray();
            var sq = 0.0;
            for (var epoch = 0; epoch < epochs; epoch++)
            {
                rng.Shuffle(order.AsSpan());
                sq = 0;
                foreach (var j in order)
                {
                    var value = ratings[own[j]].Value;
                    var e = Sgd.Step(ref mu, ref userBias[lu], ref lb[j], userFactors.AsSpan(lu * k, k), lq.AsSpan(j * k, k), value, hp.LearningRate, hp.Regularization, MeanRate);
                    sq += e * e;
                }
            }

            sqTotal += sq;

            // Delta of this user, then clip its L2 norm to C.
            var norm2 = (mu - global.GlobalMean) * (mu - global.GlobalMean);
            for (var j = 0; j < own.Length; j++)
            {
                var item = items[ratings[own[j]].Slot];
                lb[j] -= global.ItemBias[item];
                norm2 += lb[j] * lb[j];
                for (var f = 0; f < k; f++)
                {
                    lq[(j * k) + f] -= global.ItemFactors[(item * k) + f];
                    norm2 += lq[(j * k) + f] * lq[(j * k) + f];
                }
            }

            var scale = Math.Min(1.0, clip / Math.Max(Math.Sqrt(norm2), double.Epsilon));
            for (var j = 0; j < own.Length; j++)
            {
                var item = items[ratings[own[j]].Slot];
                var fo = layout.FactorOffset(item);
                for (var f = 0; f < k; f++)
                {
                    update[fo + f] += scale * lq[(j * k) + f];
                }

                update[layout.BiasOffset(item)] += scale * lb[j];
            }

            update[layout.MeanOffset] += scale * (mu - global.GlobalMean);
        }

        return (update, sqTotal, ratings.Length);
    }

    /// <summary>μ's local step relative to the factor learning rate: μ is shared by every rating, so it moves slowly.</summary>
    internal const double MeanRate = 0.1;
}
