using System.Globalization;
using SecureFedRec.Crypto;
using SecureFedRec.Recommender.Ranking;
using SecureFedRec.Rounds.Server;

namespace SecureFedRec.Recommender.Federated;

/// <summary>
/// A ranking model as a coordinator and its networked clients agree on it (docs/operators.md, "Recommender models"):
/// <c>bpr:ITEMS:K</c>, <c>ials:ITEMS:K[:LAMBDA]</c>, <c>neural:ITEMS:K[:HIDDEN]</c> or <c>knn:ITEMS:M</c> — the coordinator's
/// <c>Rounds:InitialModel</c> and the client's <c>Recommender</c> settings describe the same model, and the model itself
/// says which one it is.
/// <para>
/// Model layout (what <c>GetModel</c> returns, <see cref="ModelLength"/> values): a header of
/// <see cref="HeaderLength"/> values — the tag 1397051953 ("SFR1"), the kind (<see cref="RankingModelKind"/> as a
/// number), ITEMS, K (or M), HIDDEN for neural or the server's λ for iALS (else 0) and the stage (knn: 0 before its popularity round, 1 before its
/// Gram round, 2 trained; the other kinds: 0) — then the body: for BPR, iALS and the two-tower model the shared side of
/// <see cref="LocalRankingRecommender"/>; for knn the DP popularity (ITEMS values), the M candidate item indices (by
/// decreasing popularity) and the upper triangle, row-major, of the M × M candidate Gram matrix.
/// </para>
/// <para>
/// Update layout (<see cref="UpdateDimension"/> values, the round's <c>Dimension</c>): BPR and two-tower send the change
/// of the shared side (averaged: FedAvg or FedAdam); iALS sends its sufficient statistics (summed, then the item factors
/// are solved by <see cref="LocalRankingRecommender.ApplyAggregate"/>); knn sends, in its first round, each user's
/// items' indicator divided by √(its item count) and, in its second, the item-Gram vector of
/// <c>simulate --model knn</c> over the published candidates (ITEMS + M(M + 1)/2 values in both rounds).
/// </para>
/// Immutable; thread-safe.
/// </summary>
public sealed class RankingModelSpec : IEquatable<RankingModelSpec>
{
    /// <summary>Values of the model header.</summary>
    public const int HeaderLength = 6;

    /// <summary>The header's first value ("SFR1" as a big-endian integer).</summary>
    public const double Tag = 1397051953;

    /// <summary>Stage of a knn model after both rounds.</summary>
    public const int KnnTrained = 2;

    private const int StageIndex = 5;

    private RankingModelSpec(RankingModelKind kind, int items, int factors, int hidden, double lambda)
    {
        (Kind, Items, Factors, Hidden, Lambda) = (kind, items, factors, hidden, lambda);
        if (kind == RankingModelKind.Knn)
        {
            Triangle = checked((factors * (factors + 1)) / 2);
            UpdateDimension = checked(items + Triangle);
            ModelLength = checked(HeaderLength + items + factors + Triangle);
        }
        else
        {
            var model = RankingSimulation.Create(kind, items, Hyperparameters);
            UpdateDimension = model.IsDeltaModel ? model.SharedLength : checked(model.UpdateRows * model.UpdateWidth);
            ModelLength = checked(HeaderLength + model.SharedLength);
        }
    }

    /// <summary>The model.</summary>
    public RankingModelKind Kind { get; }

    /// <summary>Catalogue size I (items are dense integers 0 … I − 1, the same for every client).</summary>
    public int Items { get; }

    /// <summary>Embedding dimension k; for knn the number M of candidate items its Gram covers.</summary>
    public int Factors { get; }

    /// <summary>Hidden width of the two-tower model's MLP towers (0 for the other kinds).</summary>
    public int Hidden { get; }

    /// <summary>
    /// iALS: the coordinator's ridge λ of the item-factor solve (default 50, tuned on ml-latest-small; smaller for small
    /// federations), 0 for the other kinds. Not part of what a client must match: each client solves its users with its own λ.
    /// </summary>
    public double Lambda { get; }

    /// <summary>Length of an update, the round's <c>Dimension</c>.</summary>
    public int UpdateDimension { get; }

    /// <summary>Length of the model, header included.</summary>
    public int ModelLength { get; }

    /// <summary>The model's hyperparameters that both sides must share (k and the hidden width; the rest at their defaults).</summary>
    public RankingHyperparameters Hyperparameters => new()
    {
        Factors = Kind == RankingModelKind.Knn ? 1 : Factors,
        Hidden = Hidden > 0 ? Hidden : new RankingHyperparameters().Hidden,
        Lambda = Lambda > 0 ? Lambda : new RankingHyperparameters().Lambda,
    };

    /// <summary>Whether the model's update is a delta averaged by FedAvg or FedAdam (BPR, two-tower); false for iALS and knn, whose updates are summed.</summary>
    public bool IsDeltaModel => Kind is RankingModelKind.Bpr or RankingModelKind.Neural;

    /// <summary>M(M + 1)/2 for knn, else 0.</summary>
    internal int Triangle { get; }

    /// <summary>The accepted forms, for error messages.</summary>
    public const string Forms = "bpr:ITEMS:K, ials:ITEMS:K[:LAMBDA], neural:ITEMS:K[:HIDDEN] or knn:ITEMS:M (ITEMS ≥ 2, K in 1..1024, LAMBDA > 0 (default 50), HIDDEN in 1..4096, M in 2..min(ITEMS, 2000))";

    /// <summary>Whether <paramref name="text"/> names a ranking model at all (starts with bpr:, ials:, neural: or knn:).</summary>
    public static bool IsRankingForm(string? text) =>
        text is not null && (text.StartsWith("bpr:", StringComparison.Ordinal) || text.StartsWith("ials:", StringComparison.Ordinal)
                             || text.StartsWith("neural:", StringComparison.Ordinal) || text.StartsWith("knn:", StringComparison.Ordinal));

    /// <summary>Parses one of the <see cref="Forms"/>.</summary>
    /// <exception cref="FormatException">Not one of the forms, or a value out of its range (the message says which).</exception>
    public static RankingModelSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Split(':');
        RankingModelKind? kind = parts[0] switch
        {
            "bpr" => RankingModelKind.Bpr,
            "ials" => RankingModelKind.Ials,
            "neural" => RankingModelKind.Neural,
            "knn" => RankingModelKind.Knn,
            _ => null,
        };
        int most = kind is RankingModelKind.Neural or RankingModelKind.Ials ? 4 : 3;
        if (kind is null || parts.Length < 3 || parts.Length > most
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int items)
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int factors))
        {
            throw new FormatException($"'{text}' must be one of {Forms}.");
        }

        int hidden = 0;
        if (kind == RankingModelKind.Neural)
        {
            hidden = new RankingHyperparameters().Hidden;
            if (parts.Length == 4 && (!int.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out hidden) || hidden is < 1 or > 4096))
            {
                throw new FormatException($"'{text}': HIDDEN must be an integer in 1..4096.");
            }
        }

        double lambda = 0;
        if (kind == RankingModelKind.Ials)
        {
            lambda = new RankingHyperparameters().Lambda;
            if (parts.Length == 4 && (!double.TryParse(parts[3], NumberStyles.Float, CultureInfo.InvariantCulture, out lambda) || !(lambda > 0) || lambda > 1e6))
            {
                throw new FormatException($"'{text}': LAMBDA must be a number in (0, 1000000].");
            }
        }

        return Create(kind.Value, items, factors, kind == RankingModelKind.Ials ? 0 : hidden, lambda, text);
    }

    /// <summary>The spec of <paramref name="kind"/> with these sizes (<paramref name="hidden"/>: the two-tower model only; 0 takes its default).</summary>
    /// <exception cref="FormatException">A size out of its range.</exception>
    public static RankingModelSpec Create(RankingModelKind kind, int items, int factors, int hidden = 0) => Create(kind, items, factors, hidden, 0, null);

    private static RankingModelSpec Create(RankingModelKind kind, int items, int factors, int hidden, double lambda, string? text)
    {
        string what = text is null ? string.Empty : $"'{text}': ";
        if (items < 2 || items > 10_000_000)
        {
            throw new FormatException(what + $"ITEMS must be in 2..10000000 (found {items}).");
        }

        if (kind == RankingModelKind.Knn)
        {
            int most = Math.Min(items, ItemGramSettings.MaxCandidates);
            if (factors < 2 || factors > most)
            {
                throw new FormatException(what + $"M (the Gram's candidate items) must be in 2..{most} (found {factors}).");
            }

            return new RankingModelSpec(kind, items, factors, 0, 0);
        }

        if (factors is < 1 or > 1024)
        {
            throw new FormatException(what + $"K must be in 1..1024 (found {factors}).");
        }

        if (kind == RankingModelKind.Neural)
        {
            hidden = hidden == 0 ? new RankingHyperparameters().Hidden : hidden;
            if (hidden is < 1 or > 4096)
            {
                throw new FormatException(what + $"HIDDEN must be in 1..4096 (found {hidden}).");
            }
        }
        else
        {
            hidden = 0;
        }

        lambda = kind == RankingModelKind.Ials ? (lambda > 0 ? lambda : new RankingHyperparameters().Lambda) : 0;
        var spec = new RankingModelSpec(kind, items, factors, hidden, lambda);
        if (spec.ModelLength > 100_000_000 || spec.UpdateDimension > 100_000_000)
        {
            throw new FormatException(what + $"the model needs {spec.ModelLength} values and updates of {spec.UpdateDimension}: at most 100000000.");
        }

        return spec;
    }

    /// <summary>The spec a model's header names, or null when <paramref name="model"/> has no ranking header (an mf or zeros model).</summary>
    /// <exception cref="FormatException">A header that names no valid model, or a model whose length disagrees with its header.</exception>
    public static RankingModelSpec? FromModel(ReadOnlySpan<double> model)
    {
        if (model.Length < HeaderLength || model[0] != Tag)
        {
            return null;
        }

        static int Whole(double v) => v >= 0 && v <= int.MaxValue && Math.Floor(v) == v ? (int)v : -1;
        int kind = Whole(model[1]);
        if (kind is < 0 or > (int)RankingModelKind.Knn)
        {
            throw new FormatException($"the model header names kind {model[1]}, not one of bpr (0), ials (1), neural (2), knn (3).");
        }

        bool ials = kind == (int)RankingModelKind.Ials;
        if (ials && !(model[4] > 0 && model[4] <= 1e6))
        {
            throw new FormatException($"the model header's iALS λ {model[4]} is not in (0, 1000000].");
        }

        var spec = Create((RankingModelKind)kind, Whole(model[2]), Whole(model[3]), ials ? 0 : Math.Max(0, Whole(model[4])), ials ? model[4] : 0, null);
        if (model.Length != spec.ModelLength)
        {
            throw new FormatException($"the model has {model.Length} values; its header names {spec}, which has {spec.ModelLength}.");
        }

        return spec;
    }

    /// <summary>The stage a model's header records (knn: rounds released so far, at most <see cref="KnnTrained"/>).</summary>
    public static int StageOf(ReadOnlySpan<double> model) => model.Length >= HeaderLength ? (int)model[StageIndex] : 0;

    /// <summary>
    /// A fresh model: the header, then BPR, iALS and two-tower item rows drawn N(0, 0.1²) from a seed drawn from
    /// <paramref name="rng"/> (the coordinator passes the system CSPRNG) with the towers' initialisation of
    /// <see cref="LocalRankingRecommender.InitialModel"/>; knn starts from zeros at stage 0.
    /// </summary>
    public double[] CreateInitialModel(RandomSource rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var model = new double[ModelLength];
        WriteHeader(model, 0);
        if (Kind != RankingModelKind.Knn)
        {
            LocalRankingRecommender.InitialModel(Kind, Items, Hyperparameters, rng.NextUInt64()).CopyTo(model, HeaderLength);
        }

        return model;
    }

    /// <summary>
    /// The coordinator's rule for this model: <paramref name="deltaRule"/> (default FedAvg, η = 1) on the shared side of
    /// BPR and two-tower; the iALS solve of <see cref="LocalRankingRecommender.ApplyAggregate"/>; the two knn rounds.
    /// The header is carried over (the knn stage advanced).
    /// </summary>
    /// <exception cref="ArgumentException">A delta rule for iALS or knn, whose updates are summed statistics.</exception>
    public IModelUpdateRule CreateRule(IModelUpdateRule? deltaRule = null)
    {
        if (deltaRule is not null && !IsDeltaModel)
        {
            throw new ArgumentException($"{Kind.ToString().ToLowerInvariant()} sums statistics; FedAvg/FedAdam apply to the delta models (mf, bpr, neural)", nameof(deltaRule));
        }

        return new RankingModelRule(this, deltaRule ?? new FedAvgRule());
    }

    /// <summary>
    /// Whether <paramref name="other"/> is the same model for a client: kind, items, K (or M) and hidden width equal
    /// (the server-side iALS λ may differ from the one a client was configured without).
    /// </summary>
    public bool IsSameModel(RankingModelSpec? other) => other is not null && other.Kind == Kind && other.Items == Items && other.Factors == Factors && other.Hidden == Hidden;

    /// <summary>Throws <see cref="FormatException"/> unless <paramref name="model"/> is a model of this spec (<see cref="IsSameModel"/>).</summary>
    internal void CheckModel(ReadOnlySpan<double> model)
    {
        var found = FromModel(model);
        if (!IsSameModel(found))
        {
            throw new FormatException($"the model is {(found is null ? $"not a ranking model ({model.Length} values, no header)" : found.ToString())}; expected {this}.");
        }
    }

    internal void WriteHeader(Span<double> model, int stage)
    {
        model[0] = Tag;
        model[1] = (int)Kind;
        model[2] = Items;
        model[3] = Factors;
        model[4] = Kind == RankingModelKind.Ials ? Lambda : Hidden;
        model[StageIndex] = stage;
    }

    /// <summary>The canonical form (<c>ials:1000:16</c>, <c>neural:1000:16:32</c>).</summary>
    public override string ToString() => Kind switch
    {
        RankingModelKind.Neural => string.Create(CultureInfo.InvariantCulture, $"neural:{Items}:{Factors}:{Hidden}"),
        RankingModelKind.Ials when Lambda != new RankingHyperparameters().Lambda => string.Create(CultureInfo.InvariantCulture, $"ials:{Items}:{Factors}:{Lambda}"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{Kind.ToString().ToLowerInvariant()}:{Items}:{Factors}"),
    };

    /// <inheritdoc />
    public bool Equals(RankingModelSpec? other) => IsSameModel(other) && other!.Lambda == Lambda;

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as RankingModelSpec);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Kind, Items, Factors, Hidden, Lambda);
}

/// <summary>The coordinator's update rule of a <see cref="RankingModelSpec"/> (see <see cref="RankingModelSpec.CreateRule"/>). Not thread-safe (FedAdam keeps state); the host calls it from one thread.</summary>
internal sealed class RankingModelRule(RankingModelSpec spec, IModelUpdateRule deltaRule) : IModelUpdateRule
{
    private static readonly ItemGramSettings GramDefaults = new();

    public string Name => spec.Kind switch
    {
        RankingModelKind.Ials => "ials-solve",
        RankingModelKind.Knn => "knn-gram",
        _ => deltaRule.Name,
    };

    public double[] Apply(IReadOnlyList<double> model, IReadOnlyList<double> sum, int contributors)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sum);
        ArgumentOutOfRangeException.ThrowIfLessThan(contributors, 1);
        double[] current = [.. model];
        double[] total = [.. sum];
        spec.CheckModel(current);
        if (total.Length != spec.UpdateDimension)
        {
            throw new ArgumentException($"The sum has {total.Length} values; {spec} updates have {spec.UpdateDimension}.", nameof(sum));
        }

        int h = RankingModelSpec.HeaderLength;
        switch (spec.Kind)
        {
            case RankingModelKind.Ials:
                LocalRankingRecommender.ApplyAggregate(spec.Kind, spec.Items, spec.Hyperparameters, current.AsSpan(h), total, contributors);
                return current;
            case RankingModelKind.Knn:
                return ApplyKnn(current, total);
            default:
                double[] shared = deltaRule.Apply(new ArraySegment<double>(current, h, current.Length - h), total, contributors);
                shared.CopyTo(current, h);
                return current;
        }
    }

    /// <summary>
    /// Stage 0 → 1: the noised popularity sums, and the M items with the largest as the public candidates (post-processing).
    /// Stage 1 → 2: the second round's popularity block added to the first over the non-candidate items with the
    /// signal-to-noise weight, and the un-scaled Gram triangle: <c>ItemGramFederation.MergeSecondRound</c>, the
    /// post-processing the simulation runs. A trained model is not changed by further rounds.
    /// </summary>
    private double[] ApplyKnn(double[] model, double[] sum)
    {
        int items = spec.Items, m = spec.Factors, h = RankingModelSpec.HeaderLength;
        int stage = RankingModelSpec.StageOf(model);
        Span<double> popularity = model.AsSpan(h, items);
        Span<double> candidates = model.AsSpan(h + items, m);
        Span<double> triangle = model.AsSpan(h + items + m, spec.Triangle);
        if (stage == 0)
        {
            sum.AsSpan(0, items).CopyTo(popularity);
            int[] top = ItemGramFederation.TopItems(popularity, m);
            for (var a = 0; a < m; a++)
            {
                candidates[a] = top[a];
            }

            spec.WriteHeader(model, 1);
            return model;
        }

        if (stage != 1)
        {
            return model;
        }

        double priorScale = Math.Sqrt(GramDefaults.PriorShare), gramScale = Math.Sqrt(1 - GramDefaults.PriorShare);
        ItemGramFederation.MergeSecondRound(popularity, sum.AsSpan(0, items), sum.AsSpan(items, spec.Triangle),
            KnnCandidates.IndexOf(candidates, items), m, priorScale, gramScale, triangle);
        spec.WriteHeader(model, RankingModelSpec.KnnTrained);
        return model;
    }
}

/// <summary>The knn model's candidate list as published in the model.</summary>
internal static class KnnCandidates
{
    /// <summary>Candidate index of each item (<see cref="ItemGramFederation.Other"/> outside the candidates).</summary>
    /// <exception cref="FormatException">A candidate that is not a distinct item index.</exception>
    public static int[] IndexOf(ReadOnlySpan<double> candidates, int items)
    {
        var indexOf = new int[items];
        Array.Fill(indexOf, ItemGramFederation.Other);
        for (var a = 0; a < candidates.Length; a++)
        {
            double c = candidates[a];
            if (!(c >= 0 && c < items && Math.Floor(c) == c) || indexOf[(int)c] != ItemGramFederation.Other)
            {
                throw new FormatException($"candidate {a} of the knn model ({c}) is not a distinct item index in [0, {items})");
            }

            indexOf[(int)c] = a;
        }

        return indexOf;
    }
}
