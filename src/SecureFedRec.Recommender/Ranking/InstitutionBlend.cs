using SecureFedRec.Recommender.Data;

namespace SecureFedRec.Recommender.Ranking;

/// <summary>
/// What one institution holds in the clear about its own users, as a neighbourhood signal for one of them: the
/// user-kNN score l(u)_i = Σ_{v ≠ u} s(u, v)^γ · [i ∈ v] over the institution's other users v, with s the cosine
/// |u ∩ v| / √(|u|·|v|) of the two item sets (γ = 0: the institution's exact popularity among those users), normalised
/// to max 1 over the items u has not interacted with. Computed inside the institution from its own data only; it never
/// leaves it, so it changes nothing that is sent (and nothing of the DP accounting, which bounds what leaves).
/// Immutable; thread-safe.
/// </summary>
internal sealed class InstitutionNeighbourhood
{
    private readonly HashSet<int>[] sets;

    /// <summary>Builds the signal from the institution's users' training items (index = the institution's own user order).</summary>
    /// <param name="users">Each user's training interactions.</param>
    /// <param name="items">Catalogue size.</param>
    /// <param name="exponent">γ ≥ 0: the similarity's power (larger: the nearest users count more).</param>
    public InstitutionNeighbourhood(IReadOnlyList<Interaction[]> users, int items, double exponent)
    {
        ArgumentNullException.ThrowIfNull(users);
        ArgumentOutOfRangeException.ThrowIfLessThan(items, 1);
        if (!(exponent >= 0) || !double.IsFinite(exponent))
        {
            throw new ArgumentOutOfRangeException(nameof(exponent), exponent, "the similarity exponent must be non-negative and finite");
        }

        sets = users.Select(t => t.Select(x => x.Item).ToHashSet()).ToArray();
        ItemCount = items;
        Exponent = exponent;
        foreach (var s in sets)
        {
            if (s.Any(i => (uint)i >= (uint)items))
            {
                throw new ArgumentException($"an item is outside the catalogue of {items} items", nameof(users));
            }
        }
    }

    /// <summary>Catalogue size.</summary>
    public int ItemCount { get; }

    /// <summary>γ, the similarity's power.</summary>
    public double Exponent { get; }

    /// <summary>Users held.</summary>
    public int UserCount => sets.Length;

    /// <summary>Writes l(u) (in [0, 1]; 0 everywhere when no other user shares an item with u) into <paramref name="scores"/>.</summary>
    /// <param name="user">The user's index among the institution's users.</param>
    /// <param name="scores">Length <see cref="ItemCount"/>; overwritten.</param>
    public void Score(int user, Span<double> scores)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(user);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(user, sets.Length);
        if (scores.Length != ItemCount)
        {
            throw new ArgumentException($"scores has length {scores.Length}, expected {ItemCount}", nameof(scores));
        }

        scores.Clear();
        var mine = sets[user];
        if (mine.Count == 0)
        {
            return;
        }

        for (var v = 0; v < sets.Length; v++)
        {
            var other = sets[v];
            if (v == user || other.Count == 0)
            {
                continue;
            }

            var (small, large) = mine.Count <= other.Count ? (mine, other) : (other, mine);
            var common = 0;
            foreach (var i in small)
            {
                if (large.Contains(i))
                {
                    common++;
                }
            }

            if (common == 0 && Exponent > 0)
            {
                continue;
            }

            var weight = Exponent == 0 ? 1 : Math.Pow(common / Math.Sqrt((double)mine.Count * other.Count), Exponent);
            foreach (var i in other)
            {
                scores[i] += weight;
            }
        }

        var top = 0.0;
        for (var i = 0; i < scores.Length; i++)
        {
            if (!mine.Contains(i) && scores[i] > top)
            {
                top = scores[i];
            }
        }

        if (top > 0)
        {
            for (var i = 0; i < scores.Length; i++)
            {
                scores[i] /= top;
            }
        }
    }
}

/// <summary>
/// The item-kNN model as an institution serves it: the DP global score g(u) of <see cref="ItemGramScorer"/> (noisy
/// popularity and noisy candidate Gram, the same for every institution) plus w · l(u), the institution's own exact
/// neighbourhood signal (<see cref="InstitutionNeighbourhood"/>) over its other users. The local part is
/// post-processing inside the institution (PFedRec-style per-institution personalization): what the institution sends
/// and the coordinator sees is unchanged. w = 0 is the global model alone. Immutable; thread-safe.
/// </summary>
internal sealed class InstitutionBlendScorer : IUserScorer
{
    private readonly IUserScorer global;
    private readonly InstitutionNeighbourhood[] institutions;
    private readonly int[] institutionOf;
    private readonly int[] indexInInstitution;

    /// <summary>Blends <paramref name="global"/> with each user's own institution's signal.</summary>
    /// <param name="global">The shared model's scorer (user ids of <paramref name="train"/>).</param>
    /// <param name="train">Every user's training interactions.</param>
    /// <param name="partition">Which institution holds which user.</param>
    /// <param name="items">Catalogue size.</param>
    /// <param name="localWeight">w ≥ 0.</param>
    /// <param name="exponent">γ of <see cref="InstitutionNeighbourhood"/>.</param>
    public InstitutionBlendScorer(IUserScorer global, Interaction[][] train, UserPartition partition, int items, double localWeight, double exponent)
    {
        ArgumentNullException.ThrowIfNull(global);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(partition);
        if (partition.UserCount != train.Length)
        {
            throw new ArgumentException($"partition covers {partition.UserCount} users, the data has {train.Length}", nameof(partition));
        }

        if (!(localWeight >= 0) || !double.IsFinite(localWeight))
        {
            throw new ArgumentOutOfRangeException(nameof(localWeight), localWeight, "the local weight must be non-negative and finite");
        }

        this.global = global;
        LocalWeight = localWeight;
        institutionOf = new int[train.Length];
        indexInInstitution = new int[train.Length];
        institutions = new InstitutionNeighbourhood[partition.ClientCount];
        for (var c = 0; c < partition.ClientCount; c++)
        {
            var users = partition.UsersOf(c);
            for (var k = 0; k < users.Count; k++)
            {
                institutionOf[users[k]] = c;
                indexInInstitution[users[k]] = k;
            }

            institutions[c] = new InstitutionNeighbourhood(users.Select(u => train[u]).ToArray(), items, exponent);
        }
    }

    /// <summary>
    /// The blend as one institution (a networked client) computes it from its own users only: <paramref name="train"/>
    /// holds just those users, all in one institution.
    /// </summary>
    public static InstitutionBlendScorer ForOneInstitution(IUserScorer global, Interaction[][] train, int items, double localWeight, double exponent)
    {
        ArgumentNullException.ThrowIfNull(train);
        return new(global, train, UserPartition.ByKey(train.Length, _ => "this institution"), items, localWeight, exponent);
    }

    /// <summary>The institutions' own signals alone (no global part; weight 1): what an institution could do without federating.</summary>
    public static InstitutionBlendScorer LocalOnly(Interaction[][] train, UserPartition partition, int items, double exponent) =>
        new(new NoGlobal(), train, partition, items, 1, exponent);

    /// <summary>w, the weight of the institution's own signal.</summary>
    public double LocalWeight { get; }

    public void Score(int user, Span<double> scores)
    {
        global.Score(user, scores);
        if (LocalWeight == 0)
        {
            return;
        }

        var local = new double[scores.Length];
        institutions[institutionOf[user]].Score(indexInInstitution[user], local);
        for (var i = 0; i < scores.Length; i++)
        {
            scores[i] += LocalWeight * local[i];
        }
    }

    private sealed class NoGlobal : IUserScorer
    {
        public void Score(int user, Span<double> scores) => scores.Clear();
    }
}
