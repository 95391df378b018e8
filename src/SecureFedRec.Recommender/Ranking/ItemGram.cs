using System.Diagnostics;
using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Federated;
using SecureFedRec.Recommender.Internal;

namespace SecureFedRec.Recommender.Ranking;

/// <summary>
/// Settings of the item-kNN model over a DP item Gram matrix (<see cref="ItemGramFederation"/>). Immutable;
/// <see cref="Validate"/> throws <see cref="ArgumentOutOfRangeException"/> naming the setting.
/// </summary>
internal sealed record ItemGramSettings
{
    /// <summary>M: the candidate catalogue (the M most popular items by the first round's DP popularity) the Gram covers.</summary>
    public int Candidates { get; init; } = 500;

    /// <summary>φ: share of the second round's squared norm given to a second popularity measurement of the non-candidate items (the Gram gets 1 − φ).</summary>
    public double PriorShare { get; init; } = 0.85;

    /// <summary>β: weight of the normalised popularity beside the normalised neighbourhood score among the candidates.</summary>
    public double PriorWeight { get; init; } = 0.5;

    /// <summary>R: 0 scores with the noised Gram itself; R &gt; 0 with its rank-R positive part (top eigenpairs).</summary>
    public int Rank { get; init; }

    /// <summary>
    /// w: weight of each institution's own exact neighbourhood signal beside the DP global score when it scores its users
    /// (<see cref="InstitutionBlendScorer"/>; 0 = the global model alone). Used only in scoring, inside the institution:
    /// it changes nothing that is sent. Chosen on the nested validation split of ml-latest-small (session 5).
    /// </summary>
    public double LocalWeight { get; init; } = 2;

    /// <summary>γ: power of the user–user cosine in the institution's signal (<see cref="InstitutionNeighbourhood"/>; 0 = its exact popularity).</summary>
    public double LocalExponent { get; init; } = 3;

    /// <summary>Whose contribution is bounded (None: exact sums, not private).</summary>
    public PrivacyUnit Unit { get; init; } = PrivacyUnit.User;

    /// <summary>Fraction of clients dropping out of each round after sending their keys.</summary>
    public double DropoutRate { get; init; } = 0.1;

    /// <summary>Seed of the dropouts (the aggregator has its own).</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Largest M: the upper triangle then has ~2 M entries.</summary>
    public const int MaxCandidates = 2000;

    public void Validate(int items)
    {
        static void Check(bool ok, string name, object value, string message)
        {
            if (!ok)
            {
                throw new ArgumentOutOfRangeException(name, value, message);
            }
        }

        var most = Math.Min(items, MaxCandidates);
        Check(Candidates >= 2 && Candidates <= most, "--gram-items", Candidates, $"the Gram's candidate items must be in 2..{most} (the catalogue has {items} items)");
        Check(PriorShare is > 0 and < 1, "--prior-share", PriorShare, "the prior share must be in (0, 1)");
        Check(PriorWeight >= 0 && double.IsFinite(PriorWeight), "--prior-weight", PriorWeight, "the prior weight must be non-negative and finite");
        Check(Rank >= 0 && Rank <= Candidates, "--gram-rank", Rank, "the Gram's rank must be 0 (full) or in 1..M");
        Check(LocalWeight >= 0 && double.IsFinite(LocalWeight), "--local-weight", LocalWeight, "the local weight must be non-negative and finite");
        Check(LocalExponent >= 0 && double.IsFinite(LocalExponent), "--local-exponent", LocalExponent, "the local similarity exponent must be non-negative and finite");
        Check(DropoutRate is >= 0 and <= 0.5, "--dropout", DropoutRate, "dropout rate must be in [0, 0.5]");
    }
}

/// <summary>What one item-Gram run measured.</summary>
/// <param name="Scorer">The model as the clients hold it.</param>
/// <param name="Rounds">The two rounds' reports (ε spent is cumulative: the ledger's composition of both).</param>
internal sealed record ItemGramResult(ItemGramScorer Scorer, IReadOnlyList<RankingRoundReport> Rounds);

/// <summary>
/// Item-kNN over a differentially private item Gram matrix, trained in two secure-sum rounds of the one round
/// pipeline (<see cref="IUpdateAggregator"/>; DP through <see cref="SecureRoundAggregator"/> with a target planned
/// for both rounds, so its ledger composes them).
/// <list type="number">
/// <item>Round 1 (DP popularity): each user adds its training items' indicator divided by √(its item count), L2 norm
/// 1. The server keeps the M items with the largest noised sums as the public candidate catalogue (post-processing).</item>
/// <item>Round 2: each user forms r_u, its indicator over the candidates divided by √(its candidate count), and adds
/// the upper triangle of r_u r_uᵀ (off-diagonal entries × √2, so the vector's L2 norm is ‖r_u r_uᵀ‖_F = ‖r_u‖² = 1)
/// scaled by √(1 − φ), beside its round-1 vector scaled by √φ; the whole is clipped to 1. The server un-scales the
/// noised sum into G̃ = Σ_u r_u r_uᵀ + noise ("Analyze Gauss", Dwork et al., STOC 2014) and a second popularity
/// measurement over the items outside the candidates, spending each user's √φ on its non-candidate items only
/// (weight 1/√(their count)); the server adds it to the first measurement there with a signal-to-noise weight.</item>
/// </list>
/// Both vectors are dense over their catalogue (a sparse one would reveal the touched items). User level: each user's
/// vector is clipped to 1 inside its client before the client's sum (sensitivity 1 per round); institution level:
/// the client's sum is clipped to 1. The client scores locally from its own history (<see cref="ItemGramScorer"/>).
/// Deterministic for a seed. Not thread-safe.
/// </summary>
internal static class ItemGramFederation
{
    /// <summary>Packing width of both rounds' vectors (<see cref="UpdatePacking"/>).</summary>
    private const int Width = 64;

    /// <summary>Candidate index of an item outside the candidates.</summary>
    internal const int Other = -1;

    public static ItemGramResult Train(RankingSplit split, UserPartition partition, ItemGramSettings settings, IUpdateAggregator aggregator)
    {
        ArgumentNullException.ThrowIfNull(split);
        ArgumentNullException.ThrowIfNull(partition);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(aggregator);
        settings.Validate(split.ItemCount);
        if (partition.UserCount != split.UserCount)
        {
            throw new ArgumentException($"partition covers {partition.UserCount} users, split has {split.UserCount}", nameof(partition));
        }

        if (aggregator.AddsNoise && settings.Unit == PrivacyUnit.None)
        {
            throw new ArgumentException("a noising aggregator needs a privacy unit (user or institution) to bound sensitivity", nameof(settings));
        }

        var items = split.ItemCount;
        var m = settings.Candidates;
        var n = partition.ClientCount;
        var reports = new List<RankingRoundReport>(2);

        // Round 1: DP popularity.
        var inputs = new double[n][];
        var round1 = UpdatePacking.Layout(Rows(items), Width);
        var watch = Stopwatch.StartNew();
        for (var c = 0; c < n; c++)
        {
            var sum = new double[Rows(items) * Width];
            var one = new double[items];
            foreach (var u in partition.UsersOf(c))
            {
                Array.Clear(one);
                PopularityVector(split.Train[u], one);
                AddUser(one, sum, settings.Unit);
            }

            inputs[c] = Finish(sum, round1, settings.Unit);
        }

        var local1 = watch.Elapsed.TotalSeconds / n;
        var result = aggregator.Aggregate(1, inputs, Dropouts(n, settings, 1), Context(round1, partition, settings.Unit));
        var first = new double[Rows(items) * Width];
        UpdatePacking.Unpack(result.Sum, Width, first, Span<double>.Empty);
        reports.Add(new RankingRoundReport(1, n, result.Survivors, result.EpsilonSpent, local1, watch.Elapsed.TotalSeconds - (local1 * n), watch.Elapsed.TotalSeconds, result.BytesPerClient, round1.Length));
        var candidates = TopItems(first.AsSpan(0, items), m);
        var indexOf = new int[items];
        Array.Fill(indexOf, Other);
        for (var a = 0; a < m; a++)
        {
            indexOf[candidates[a]] = a;
        }

        // Round 2: √φ · popularity, then √(1 − φ) · the upper triangle of r_u r_uᵀ over the candidates.
        var triangle = (m * (m + 1)) / 2;
        var length = items + triangle;
        var round2 = UpdatePacking.Layout(Rows(length), Width);
        var priorScale = Math.Sqrt(settings.PriorShare);
        var gramScale = Math.Sqrt(1 - settings.PriorShare);
        watch.Restart();
        for (var c = 0; c < n; c++)
        {
            var sum = new double[Rows(length) * Width];
            var one = new double[length];
            foreach (var u in partition.UsersOf(c))
            {
                Array.Clear(one);
                UserVector(split.Train[u], indexOf, priorScale, gramScale, items, m, one);
                AddUser(one, sum, settings.Unit);
            }

            inputs[c] = Finish(sum, round2, settings.Unit);
        }

        var local2 = watch.Elapsed.TotalSeconds / n;
        var aggregationStart = watch.Elapsed.TotalSeconds;
        result = aggregator.Aggregate(2, inputs, Dropouts(n, settings, 2), Context(round2, partition, settings.Unit));
        var second = new double[Rows(length) * Width];
        UpdatePacking.Unpack(result.Sum, Width, second, Span<double>.Empty);
        reports.Add(new RankingRoundReport(2, n, result.Survivors, result.EpsilonSpent, local2, watch.Elapsed.TotalSeconds - aggregationStart, watch.Elapsed.TotalSeconds, result.BytesPerClient, round2.Length));

        // The other items' popularity: the first measurement plus the second round's block, which spends the users'
        // whole √φ on the items outside the candidates (each user's weight 1/√(its non-candidate count) ≥ 1/√(its
        // item count): more signal per item under the same noise). Both have noise σ per coordinate, so the
        // signal-to-noise-optimal weight of the block is the ratio of the two signals, estimated from their sums over
        // those items (thousands of coordinates: the noise averages out); post-processing of DP outputs.
        var popularity = first.AsSpan(0, items).ToArray();
        var unscaled = new double[triangle];
        MergeSecondRound(popularity, second.AsSpan(0, items), second.AsSpan(items, triangle), indexOf, m, priorScale, gramScale, unscaled);
        var gram = ExpandTriangle(unscaled, m);

        if (settings.Rank > 0)
        {
            using var rng = Rng.ForPurpose(settings.Seed, "item-gram-eigen");
            PositiveLowRank(gram, m, settings.Rank, rng);
        }

        return new ItemGramResult(new ItemGramScorer(popularity, candidates, gram, split.Train, settings.PriorWeight), reports);
    }

    /// <summary>
    /// The model as each institution serves its own users: <paramref name="result"/>'s DP global score plus
    /// <see cref="ItemGramSettings.LocalWeight"/> × the user's institution's own exact neighbourhood signal
    /// (<see cref="InstitutionBlendScorer"/>; the global scorer itself when the weight is 0). Post-processing inside each
    /// institution: nothing sent changes.
    /// </summary>
    internal static IUserScorer Serve(ItemGramResult result, RankingSplit split, UserPartition partition, ItemGramSettings settings)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(split);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate(split.ItemCount);
        return settings.LocalWeight == 0
            ? result.Scorer
            : new InstitutionBlendScorer(result.Scorer, split.Train, partition, split.ItemCount, settings.LocalWeight, settings.LocalExponent);
    }

    /// <summary>A user's round-1 vector: its items' indicator divided by √(its item count) (L2 norm 1; zero for no items).</summary>
    internal static void PopularityVector(Interaction[] train, Span<double> v)
    {
        if (train.Length == 0)
        {
            return;
        }

        var w = 1 / Math.Sqrt(train.Length);
        foreach (var x in train)
        {
            v[x.Item] = w;
        }
    }

    /// <summary>
    /// The post-processing of the second round's DP outputs (here and in the coordinator's knn rule): the non-candidate
    /// items' popularity <paramref name="popularity"/> (the first round's, updated in place) gains the second round's
    /// block with the signal-to-noise weight estimated from the two sums over those items (√φ when either is not
    /// positive), and <paramref name="triangle"/> receives the un-scaled upper triangle of the m × m Gram (row-major, a ≤ b).
    /// </summary>
    internal static void MergeSecondRound(Span<double> popularity, ReadOnlySpan<double> secondPopularity, ReadOnlySpan<double> secondTriangle,
        int[] indexOf, int m, double priorScale, double gramScale, Span<double> triangle)
    {
        double firstTail = 0, secondTail = 0;
        for (var i = 0; i < popularity.Length; i++)
        {
            if (indexOf[i] == Other)
            {
                firstTail += popularity[i];
                secondTail += secondPopularity[i];
            }
        }

        var tailWeight = firstTail > 0 && secondTail > 0 ? secondTail / firstTail : priorScale;
        for (var i = 0; i < popularity.Length; i++)
        {
            if (indexOf[i] == Other)
            {
                popularity[i] += tailWeight * secondPopularity[i];
            }
        }

        var t = 0;
        for (var a = 0; a < m; a++)
        {
            for (var b = a; b < m; b++, t++)
            {
                triangle[t] = secondTriangle[t] / gramScale / (a == b ? 1 : Math.Sqrt(2));
            }
        }
    }

    /// <summary>The symmetric m × m matrix (row-major) of an upper triangle (row-major, a ≤ b).</summary>
    internal static double[] ExpandTriangle(ReadOnlySpan<double> triangle, int m)
    {
        var gram = new double[m * m];
        var t = 0;
        for (var a = 0; a < m; a++)
        {
            for (var b = a; b < m; b++, t++)
            {
                gram[(a * m) + b] = triangle[t];
                gram[(b * m) + a] = triangle[t];
            }
        }

        return gram;
    }

    /// <summary>
    /// A user's round-2 vector: √φ · the round-1 vector of its items outside the candidates (indicator / √(their
    /// count)) over the <paramref name="items"/> catalogue, then √(1 − φ) ·
    /// the upper triangle (row-major, diagonal included) of r_u r_uᵀ over the <paramref name="m"/> candidates with
    /// off-diagonal entries × √2. L2 norm 1 when the user has items both in and outside the candidates, less otherwise.
    /// </summary>
    internal static void UserVector(Interaction[] train, int[] indexOf, double priorScale, double gramScale, int items, int m, Span<double> v)
    {
        var tail = train.Where(x => indexOf[x.Item] == Other).ToArray();
        PopularityVector(tail, v[..items]);
        Kernels.Scale(priorScale, v[..items]);
        var mine = train.Select(x => indexOf[x.Item]).Where(a => a >= 0).Distinct().Order().ToArray();
        if (mine.Length == 0)
        {
            return;
        }

        var diagonal = gramScale / mine.Length;
        var off = diagonal * Math.Sqrt(2);
        for (var x = 0; x < mine.Length; x++)
        {
            var a = mine[x];
            var row = items + TriangleIndex(a, a, m);
            v[row] = diagonal;
            for (var y = x + 1; y < mine.Length; y++)
            {
                v[row + (mine[y] - a)] = off;
            }
        }
    }

    /// <summary>Position of (a, b), a ≤ b, in the row-major upper triangle of an m × m matrix.</summary>
    internal static int TriangleIndex(int a, int b, int m) => (a * m) - ((a * (a - 1)) / 2) + (b - a);

    /// <summary>The <paramref name="m"/> items with the largest values (ties by index), in that order.</summary>
    internal static int[] TopItems(ReadOnlySpan<double> values, int m)
    {
        var copy = values.ToArray();
        var order = Enumerable.Range(0, copy.Length).ToArray();
        Array.Sort(order, (x, y) => copy[y].CompareTo(copy[x]) is var c && c != 0 ? c : x.CompareTo(y));
        return order[..m];
    }

    private static int Rows(int length) => (length + Width - 1) / Width;

    /// <summary>Adds one user's vector to its client's sum: user level clips it to 1 first (the sensitivity bound).</summary>
    private static void AddUser(double[] one, double[] sum, PrivacyUnit unit)
    {
        if (unit == PrivacyUnit.User)
        {
            Clip(one, 1);
        }

        Kernels.Axpy(1, one, sum.AsSpan(0, one.Length));
    }

    private static double[] Finish(double[] sum, UpdateLayout layout, PrivacyUnit unit)
    {
        if (unit == PrivacyUnit.Institution)
        {
            Clip(sum, 1);
        }

        var packed = new double[layout.Length];
        UpdatePacking.Pack(sum, ReadOnlySpan<int>.Empty, Width, packed, 1);
        return packed;
    }

    internal static void Clip(Span<double> v, double c)
    {
        var norm = Math.Sqrt(Kernels.NormSquared(v));
        if (norm > c)
        {
            Kernels.Scale(c / norm, v);
        }
    }

    /// <summary>
    /// Public bounds: a user's coordinate is at most 1 in magnitude (its vector has norm ≤ 1), so a client's is at most
    /// its user count (user level, or no DP) or 1 (institution level); sensitivity 1.
    /// </summary>
    private static AggregationContext Context(UpdateLayout layout, UserPartition partition, PrivacyUnit unit)
    {
        var maxUsers = Enumerable.Range(0, partition.ClientCount).Max(c => partition.UsersOf(c).Count);
        return unit == PrivacyUnit.Institution
            ? new AggregationContext(layout, 1, 0, 0, 0, 1.0, 1)
            : new AggregationContext(layout, maxUsers, 0, 0, 0, unit == PrivacyUnit.User ? 1.0 : null, maxUsers);
    }

    private static bool[] Dropouts(int n, ItemGramSettings settings, int round)
    {
        var dropped = new bool[n];
        var count = (int)Math.Floor(settings.DropoutRate * n);
        var order = Enumerable.Range(0, n).ToArray();
        using var rng = Rng.ForPurpose(settings.Seed, $"item-gram-dropouts-round-{round}");
        rng.Shuffle(order.AsSpan());
        for (var j = 0; j < count; j++)
        {
            dropped[order[j]] = true;
        }

        return dropped;
    }

    /// <summary>
    /// Replaces the symmetric <paramref name="a"/> (m × m) by its rank-R positive part V·Λ⁺·Vᵀ: orthogonal (subspace)
    /// iteration on A + sI with the shift s = ‖A‖_F/√m (so the large positive eigenvalues dominate the noise's negative
    /// ones), then Rayleigh–Ritz on the R-dimensional subspace and eigenvalues floored at 0.
    /// </summary>
    internal static void PositiveLowRank(double[] a, int m, int rank, Rng rng)
    {
        var shift = Math.Sqrt(Kernels.NormSquared(a) / m);
        var q = new double[m * rank];
        for (var x = 0; x < q.Length; x++)
        {
            q[x] = rng.NextGaussian();
        }

        var z = new double[m * rank];
        Orthonormalize(q, m, rank);
        for (var iteration = 0; iteration < 30; iteration++)
        {
            Multiply(a, q, z, m, rank, shift);
            Orthonormalize(z, m, rank);
            (q, z) = (z, q);
        }

        Multiply(a, q, z, m, rank, 0);
        var small = new double[rank * rank];
        for (var e = 0; e < rank; e++)
        {
            for (var f = 0; f < rank; f++)
            {
                var s = 0.0;
                for (var i = 0; i < m; i++)
                {
                    s += q[(i * rank) + e] * z[(i * rank) + f];
                }

                small[(e * rank) + f] = s;
            }
        }

        // small = QᵀAQ; its positive part, mapped back: A ≈ Q·(QᵀAQ)⁺·Qᵀ.
        Kernels.ProjectToEigenvalueFloor(small, rank, 0);
        var qs = new double[m * rank];
        for (var i = 0; i < m; i++)
        {
            for (var f = 0; f < rank; f++)
            {
                var s = 0.0;
                for (var e = 0; e < rank; e++)
                {
                    s += q[(i * rank) + e] * small[(e * rank) + f];
                }

                qs[(i * rank) + f] = s;
            }
        }

        for (var i = 0; i < m; i++)
        {
            for (var j = i; j < m; j++)
            {
                var s = Kernels.Dot(qs.AsSpan(i * rank, rank), q.AsSpan(j * rank, rank));
                a[(i * m) + j] = s;
                a[(j * m) + i] = s;
            }
        }
    }

    /// <summary>z = (A + sI)·q for q m × r (row-major).</summary>
    private static void Multiply(double[] a, double[] q, double[] z, int m, int r, double shift)
    {
        for (var i = 0; i < m; i++)
        {
            var zi = z.AsSpan(i * r, r);
            q.AsSpan(i * r, r).CopyTo(zi);
            Kernels.Scale(shift, zi);
            var row = a.AsSpan(i * m, m);
            for (var j = 0; j < m; j++)
            {
                if (row[j] != 0)
                {
                    Kernels.Axpy(row[j], q.AsSpan(j * r, r), zi);
                }
            }
        }
    }

    /// <summary>Modified Gram–Schmidt on the r columns of q (m × r, row-major).</summary>
    private static void Orthonormalize(double[] q, int m, int r)
    {
        for (var e = 0; e < r; e++)
        {
            for (var f = 0; f < e; f++)
            {
                var dot = 0.0;
                for (var i = 0; i < m; i++)
                {
                    dot += q[(i * r) + e] * q[(i * r) + f];
                }

                for (var i = 0; i < m; i++)
                {
                    q[(i * r) + e] -= dot * q[(i * r) + f];
                }
            }

            var norm = 0.0;
            for (var i = 0; i < m; i++)
            {
                norm += q[(i * r) + e] * q[(i * r) + e];
            }

            norm = Math.Sqrt(norm);
            for (var i = 0; i < m; i++)
            {
                q[(i * r) + e] = norm > 0 ? q[(i * r) + e] / norm : 0;
            }
        }
    }
}

/// <summary>
/// Scores of the item-Gram model for a user from its own history: the M candidates rank above every other item, by
/// n(u)_i + β·p_i, where n(u) = G̃·r_u / ‖·‖_∞ is the user's neighbourhood score (the mean of the Gram rows of its
/// candidate items, normalised to max 1) and p = popularity / max popularity; the other items follow by p. Seen
/// items are excluded by <see cref="Recommend"/> (the evaluator excludes them itself). Immutable; thread-safe.
/// </summary>
internal sealed class ItemGramScorer : IUserScorer
{
    private readonly double[] popularity;
    private readonly int[] candidates;
    private readonly int[] indexOf;
    private readonly double[] gram;
    private readonly Interaction[][] train;
    private readonly double maxPopularity;

    public ItemGramScorer(double[] popularity, int[] candidates, double[] gram, Interaction[][] train, double priorWeight)
    {
        this.popularity = popularity;
        this.candidates = candidates;
        this.gram = gram;
        this.train = train;
        PriorWeight = priorWeight;
        indexOf = new int[popularity.Length];
        Array.Fill(indexOf, -1);
        for (var a = 0; a < candidates.Length; a++)
        {
            indexOf[candidates[a]] = a;
        }

        maxPopularity = Math.Max(1e-12, popularity.Max(Math.Abs));
    }

    public double PriorWeight { get; }

    public IReadOnlyList<int> Candidates => candidates;

    /// <summary>The same model with another β (for tuning on a validation split).</summary>
    public ItemGramScorer WithPriorWeight(double beta) => new(popularity, candidates, gram, train, beta);

    public void Score(int user, Span<double> scores)
    {
        var m = candidates.Length;
        var neighbourhood = new double[m];
        var count = 0;
        foreach (var x in train[user])
        {
            var a = indexOf[x.Item];
            if (a >= 0)
            {
                Kernels.Axpy(1, gram.AsSpan(a * m, m), neighbourhood);
                count++;
            }
        }

        var top = count == 0 ? 0 : neighbourhood.Max(Math.Abs);
        for (var i = 0; i < scores.Length; i++)
        {
            scores[i] = popularity[i] / maxPopularity;
        }

        // Candidates: 2 + n_i + β·p_i ∈ [1 − β, 3 + β] for |n|, |p| ≤ 1; others p ∈ [−1, 1]: shift the tiers apart.
        var tier = 2 + (2 * PriorWeight);
        for (var a = 0; a < m; a++)
        {
            var i = candidates[a];
            scores[i] = tier + (top > 0 ? neighbourhood[a] / top : 0) + (PriorWeight * scores[i]);
        }
    }

    /// <summary>Top <paramref name="n"/> items for <paramref name="user"/>, excluding its training items; best first, ties by index.</summary>
    public int[] Recommend(int user, int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        var scores = new double[popularity.Length];
        Score(user, scores);
        var seen = train[user].Select(x => x.Item).ToHashSet();
        return Enumerable.Range(0, scores.Length).Where(i => !seen.Contains(i)).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(n).ToArray();
    }
}
