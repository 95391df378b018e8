using SecureFedRec.Recommender.Internal;

namespace SecureFedRec.Recommender.Ranking;

/// <summary>
/// The users one party trains: a client's users in federation, every user centrally, or one user alone (user-level
/// clipping). Holds their training items, their private parameters (<see cref="State"/>, UserWidth per user) and,
/// with personalization, the party's private item-score offsets. Nothing here is ever sent. Not thread-safe.
/// </summary>
internal sealed class LocalUsers
{
    public LocalUsers(int[] users, Interaction[][] trainOfUser, int userWidth, int items, bool personalize)
    {
        Users = users;
        Items = new int[users.Length][];
        Weights = new float[users.Length][];
        Seen = new HashSet<int>[users.Length];
        for (var l = 0; l < users.Length; l++)
        {
            var t = trainOfUser[users[l]];
            Items[l] = t.Select(x => x.Item).ToArray();
            Weights[l] = t.Select(x => x.Weight).ToArray();
            Seen[l] = [.. Items[l]];
            InteractionCount += t.Length;
        }

        State = new double[users.Length * userWidth];
        UserWidth = userWidth;
        ItemOffset = personalize ? new double[items] : null;
    }

    private LocalUsers(LocalUsers parent, int local)
    {
        Users = [parent.Users[local]];
        Items = [parent.Items[local]];
        Weights = [parent.Weights[local]];
        Seen = [parent.Seen[local]];
        InteractionCount = Items[0].Length;
        UserWidth = parent.UserWidth;
        State = parent.State.AsSpan(local * UserWidth, UserWidth).ToArray();
        ItemOffset = parent.ItemOffset;
    }

    public int[] Users { get; }

    public int[][] Items { get; }

    public float[][] Weights { get; }

    public HashSet<int>[] Seen { get; }

    public double[] State { get; }

    public int UserWidth { get; }

    public double[]? ItemOffset { get; }

    public int InteractionCount { get; }

    public int Count => Users.Length;

    /// <summary>One user alone (a copy of its state; write back with <see cref="StoreSingle"/>).</summary>
    public LocalUsers Single(int local) => new(this, local);

    public void StoreSingle(int local, LocalUsers single) => single.State.CopyTo(State.AsSpan(local * UserWidth, UserWidth));
}

/// <summary>Hyperparameters of the ranking models (the subset a model does not use is ignored). Immutable.</summary>
public sealed record RankingHyperparameters
{
    /// <summary>Embedding dimension k (64–128 wins for ranking on the nested validation split of ml-latest-small).</summary>
    public int Factors { get; init; } = 64;

    /// <summary>SGD learning rate of the embeddings (BPR, neural).</summary>
    public double LearningRate { get; init; } = 0.05;

    /// <summary>L2 regularization of the embeddings (BPR, neural).</summary>
    public double Regularization { get; init; } = 0.005;

    /// <summary>Standard deviation of the initial embeddings.</summary>
    public double InitStdDev { get; init; } = 0.1;

    /// <summary>Hidden width h of the neural model's MLP towers.</summary>
    public int Hidden { get; init; } = 32;

    /// <summary>SGD learning rate of the neural towers' dense weights.</summary>
    public double TowerLearningRate { get; init; } = 0.01;

    /// <summary>iALS confidence scale α: c = 1 + α·w (Hu, Koren, Volinsky 2008).</summary>
    public double Alpha { get; init; } = 8;

    /// <summary>iALS L2 regularization λ.</summary>
    public double Lambda { get; init; } = 50;

    /// <summary>Learning rate of the personalization offsets (local item-score offsets).</summary>
    public double OffsetLearningRate { get; init; } = 0.02;

    /// <summary>L2 regularization of the personalization offsets.</summary>
    public double OffsetRegularization { get; init; } = 0.05;

    /// <summary>
    /// iALS popularity prior weight β (0 = off): the model also learns, in the same secure sums, each item's
    /// popularity (every user adds its items' indicator divided by √(its item count)), and scores
    /// s(u, i) = β·b_i / max_j b_j + ⟨p_u, q_i⟩. Used by the DP settings, where the factors of rarely seen items are
    /// mostly noise and the prior ranks them.
    /// </summary>
    public double PopularityPrior { get; init; }

    /// <summary>Items of each user the popularity prior counts: its latest W training items (0 = all of them).</summary>
    public int PriorWindow { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a value outside its range.</summary>
    public void Validate()
    {
        if (Factors is < 1 or > 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(Factors), Factors, "factors must be in 1..4096");
        }

        if (Hidden is < 1 or > 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(Hidden), Hidden, "hidden width must be in 1..4096");
        }

        foreach (var (value, name) in new[] { (LearningRate, nameof(LearningRate)), (TowerLearningRate, nameof(TowerLearningRate)), (OffsetLearningRate, nameof(OffsetLearningRate)), (InitStdDev, nameof(InitStdDev)), (Alpha, nameof(Alpha)), (Lambda, nameof(Lambda)) })
        {
            if (!(value > 0) || !double.IsFinite(value))
            {
                throw new ArgumentOutOfRangeException(name, value, "must be positive and finite");
            }
        }

        if (!(PopularityPrior >= 0) || !double.IsFinite(PopularityPrior))
        {
            throw new ArgumentOutOfRangeException(nameof(PopularityPrior), PopularityPrior, "the popularity prior weight must be non-negative and finite");
        }

        if (PriorWindow < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(PriorWindow), PriorWindow, "the prior window must be 0 (all items) or positive");
        }

        if (!(Regularization >= 0) || !(OffsetRegularization >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(Regularization), "regularization must be non-negative");
        }
    }
}

/// <summary>
/// A ranking model split into the shared side (item rows, RowWidth values per item, then DenseRows rows of shared
/// dense weights; the only part that is aggregated) and the user side (UserWidth values per user, never sent).
/// Delta models (BPR, neural) train locally and send the change of the shared side; statistic models (iALS) send
/// sufficient statistics and the server turns their sum into a step (<see cref="Direction"/>). Stateless apart
/// from hyperparameters; thread-safe.
/// </summary>
internal abstract class RankingModel
{
    protected RankingModel(int items, RankingHyperparameters hp)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(items, 2);
        ArgumentNullException.ThrowIfNull(hp);
        hp.Validate();
        ItemCount = items;
        Hp = hp;
    }

    public int ItemCount { get; }

    public RankingHyperparameters Hp { get; }

    public abstract string Name { get; }

    public abstract int RowWidth { get; }

    public virtual int DenseRows => 0;

    public int SharedLength => (ItemCount + DenseRows) * RowWidth;

    public abstract int UserWidth { get; }

    /// <summary>True: the update is the change of the shared side; false: sufficient statistics (UpdateWidth × UpdateRows).</summary>
    public virtual bool IsDeltaModel => true;

    public virtual int UpdateWidth => RowWidth;

    public virtual int UpdateRows => ItemCount + DenseRows;

    /// <summary>
    /// Start (in update coordinates) of the update's prior block, which the trainer clips apart from the rest
    /// (its own share of the clip norm), or −1 when the model has none. A user's prior block has L2 norm 1.
    /// </summary>
    public virtual int PriorOffset => -1;

    public abstract void InitShared(Span<double> shared, Rng rng);

    public virtual void InitUsers(LocalUsers users, Rng rng)
    {
        for (var i = 0; i < users.State.Length; i++)
        {
            users.State[i] = rng.NextGaussian() * Hp.InitStdDev;
        }
    }

    /// <summary>
    /// Trains in place on <paramref name="shared"/> (a local copy) and the users' private state. When
    /// <paramref name="rowUsers"/> is given, row r's entry counts the distinct users whose training touched row r.
    /// </summary>
    public abstract void TrainLocal(Span<double> shared, LocalUsers users, int epochs, Rng rng, int[]? rowUsers);

    /// <summary>Centralized training: the whole data set as one party, straight on the model.</summary>
    public virtual void TrainCentral(Span<double> shared, LocalUsers all, int epochs, Rng rng) => TrainLocal(shared, all, epochs, rng, null);

    /// <summary>Statistic models: the party's statistics at the global model (solving the users' state locally first).</summary>
    public virtual void ComputeStatistics(ReadOnlySpan<double> shared, LocalUsers users, Span<double> update) => throw new NotSupportedException();

    /// <summary>Statistic models: the server's step from the summed statistics.</summary>
    public virtual void Direction(ReadOnlySpan<double> shared, ReadOnlySpan<double> sum, Span<double> direction) => throw new NotSupportedException();

    /// <summary>Final vectors for scoring: user vectors of every user of every party, item vectors and biases.</summary>
    public abstract FactorScorer Export(ReadOnlySpan<double> shared, IReadOnlyList<LocalUsers> parties, int userCount);

    protected static void CheckNegatives(LocalUsers users, int items)
    {
        for (var l = 0; l < users.Count; l++)
        {
            if (users.Seen[l].Count >= items)
            {
                throw new ArgumentException($"user {users.Users[l]} interacted with every item; no negative to sample", nameof(users));
            }
        }
    }

    protected static int SampleNegative(Rng rng, HashSet<int> seen, int items)
    {
        int j;
        do
        {
            j = rng.NextInt(items);
        }
        while (seen.Contains(j));
        return j;
    }
}

/// <summary>
/// Scores s(u, i) = b_i + o_{c(u), i} + ⟨p_u, v_i⟩: user vectors, item vectors, item biases and, with
/// personalization, the offsets of the user's own party. Immutable after construction; thread-safe.
/// </summary>
internal sealed class FactorScorer : IUserScorer
{
    public FactorScorer(int users, int items, int width)
    {
        Width = width;
        UserVectors = new double[users * width];
        ItemVectors = new double[items * width];
        ItemBias = new double[items];
        OffsetOfUser = new double[]?[users];
    }

    public int Width { get; }

    public double[] UserVectors { get; }

    public double[] ItemVectors { get; }

    public double[] ItemBias { get; }

    public double[]?[] OffsetOfUser { get; }

    public void Score(int user, Span<double> scores)
    {
        var p = UserVectors.AsSpan(user * Width, Width);
        var offset = OffsetOfUser[user];
        for (var i = 0; i < ItemBias.Length; i++)
        {
            scores[i] = ItemBias[i] + Kernels.Dot(p, ItemVectors.AsSpan(i * Width, Width)) + (offset is null ? 0 : offset[i]);
        }
    }
}

/// <summary>Most popular items: s(u, i) = number of training users of item i. Immutable; thread-safe.</summary>
internal sealed class PopularityScorer(double[] counts) : IUserScorer
{
    public double[] Counts { get; } = counts;

    public static PopularityScorer Fit(RankingSplit split)
    {
        var counts = new double[split.ItemCount];
        foreach (var t in split.Train)
        {
            foreach (var x in t)
            {
                counts[x.Item]++;
            }
        }

        return new PopularityScorer(counts);
    }

    public void Score(int user, Span<double> scores) => Counts.CopyTo(scores);
}

/// <summary>
/// BPR-MF (Rendle et al., UAI 2009): s(u, i) = b_i + ⟨p_u, q_i⟩, trained by SGD on ln σ(s(u, i) − s(u, j)) for each
/// training pair (u, i) with a negative j drawn uniformly from the items u never interacted with. Shared rows:
/// [q_i (k), b_i]; user state p_u (k).
/// </summary>
internal sealed class BprModel(int items, RankingHyperparameters hp) : RankingModel(items, hp)
{
    public override string Name => "BPR-MF";

    public override int RowWidth => Hp.Factors + 1;

    public override int UserWidth => Hp.Factors;

    public override void InitShared(Span<double> shared, Rng rng)
    {
        var k = Hp.Factors;
        for (var i = 0; i < ItemCount; i++)
        {
            for (var f = 0; f < k; f++)
            {
                shared[(i * (k + 1)) + f] = rng.NextGaussian() * Hp.InitStdDev;
            }

            shared[(i * (k + 1)) + k] = 0;
        }
    }

    public override void TrainLocal(Span<double> shared, LocalUsers users, int epochs, Rng rng, int[]? rowUsers)
    {
        CheckNegatives(users, ItemCount);
        var k = Hp.Factors;
        var w = k + 1;
        var lr = Hp.LearningRate;
        var reg = Hp.Regularization;
        var offset = users.ItemOffset;
        var pairs = new List<(int Local, int Item)>(users.InteractionCount);
        for (var l = 0; l < users.Count; l++)
        {
            foreach (var i in users.Items[l])
            {
                pairs.Add((l, i));
            }
        }

        var order = pairs.ToArray();
        var mark = rowUsers is null ? null : new HashSet<long>();
        Span<double> diff = stackalloc double[k];
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            rng.Shuffle(order.AsSpan());
            foreach (var (l, i) in order)
            {
                var j = SampleNegative(rng, users.Seen[l], ItemCount);
                var p = users.State.AsSpan(l * k, k);
                var qi = shared.Slice(i * w, k);
                var qj = shared.Slice(j * w, k);
                for (var f = 0; f < k; f++)
                {
                    diff[f] = qi[f] - qj[f];
                }

                var x = shared[(i * w) + k] - shared[(j * w) + k] + Kernels.Dot(p, diff);
                if (offset is not null)
                {
                    x += offset[i] - offset[j];
                }

                var g = 1 / (1 + Math.Exp(Math.Clamp(x, -30, 30)));
                Kernels.Scale(1 - (lr * reg), qi);
                Kernels.Axpy(lr * g, p, qi);
                Kernels.Scale(1 - (lr * reg), qj);
                Kernels.Axpy(-lr * g, p, qj);
                Kernels.Scale(1 - (lr * reg), p);
                Kernels.Axpy(lr * g, diff, p);
                shared[(i * w) + k] += lr * (g - (reg * shared[(i * w) + k]));
                shared[(j * w) + k] += lr * (-g - (reg * shared[(j * w) + k]));
                if (offset is not null)
                {
                    var olr = Hp.OffsetLearningRate;
                    offset[i] += olr * (g - (Hp.OffsetRegularization * offset[i]));
                    offset[j] += olr * (-g - (Hp.OffsetRegularization * offset[j]));
                }

                if (mark is not null)
                {
                    Touch(mark, rowUsers!, i, l);
                    Touch(mark, rowUsers!, j, l);
                }
            }
        }
    }

    public override FactorScorer Export(ReadOnlySpan<double> shared, IReadOnlyList<LocalUsers> parties, int userCount)
    {
        var k = Hp.Factors;
        var scorer = new FactorScorer(userCount, ItemCount, k);
        for (var i = 0; i < ItemCount; i++)
        {
            shared.Slice(i * (k + 1), k).CopyTo(scorer.ItemVectors.AsSpan(i * k, k));
            scorer.ItemBias[i] = shared[(i * (k + 1)) + k];
        }

        foreach (var party in parties)
        {
            for (var l = 0; l < party.Count; l++)
            {
                party.State.AsSpan(l * k, k).CopyTo(scorer.UserVectors.AsSpan(party.Users[l] * k, k));
                scorer.OffsetOfUser[party.Users[l]] = party.ItemOffset;
            }
        }

        return scorer;
    }

    /// <summary>Counts user <paramref name="local"/> once per row.</summary>
    internal static void Touch(HashSet<long> mark, int[] rowUsers, int row, int local)
    {
        if (mark.Add(((long)row << 32) | (uint)local))
        {
            rowUsers[row]++;
        }
    }
}
