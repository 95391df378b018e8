using System.Diagnostics;
using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Federated;
using SecureFedRec.Recommender.Internal;

namespace SecureFedRec.Recommender.Ranking;

/// <summary>Whose contribution differential privacy bounds.</summary>
public enum PrivacyUnit
{
    /// <summary>No clipping (no DP): joint local training, updates weighted by how many users touched each row.</summary>
    None = 0,

    /// <summary>User-level: each user's update is computed alone from the global model and L2-clipped to C inside the client before the client's sum.</summary>
    User = 1,

    /// <summary>Institution-level: the client's whole update is L2-clipped to C (one institution moves the sum by at most C).</summary>
    Institution = 2,
}

/// <summary>Settings of one federated ranking run. Immutable.</summary>
internal sealed record FederationSettings
{
    public int Rounds { get; init; } = 20;

    public int LocalEpochs { get; init; } = 2;

    public Federated.ServerOptimizerKind Optimizer { get; init; } = Federated.ServerOptimizerKind.FedAvg;

    public double ServerLearningRate { get; init; } = 1.0;

    public double Beta1 { get; init; } = 0.9;

    public double Beta2 { get; init; } = 0.99;

    public double Tau { get; init; } = 1e-3;

    public double DropoutRate { get; init; } = 0.1;

    public PrivacyUnit Unit { get; init; } = PrivacyUnit.None;

    public double ClipNorm { get; init; } = 1.0;

    public bool Personalize { get; init; }

    /// <summary>
    /// Share φ of the squared clip norm given to a model's prior block (<see cref="RankingModel.PriorOffset"/>) under
    /// DP: the block is clipped to C·√φ and the rest of the update to C·√(1 − φ), so the whole stays within C.
    /// </summary>
    public double PriorShare { get; init; } = 0.5;

    public ulong Seed { get; init; } = 1;
}

/// <summary>One federated ranking round as measured in the simulation.</summary>
/// <param name="Round">1-based round.</param>
/// <param name="Participants">Clients asked.</param>
/// <param name="Survivors">Clients in the sum.</param>
/// <param name="EpsilonSpent">Cumulative ε (0 without DP).</param>
/// <param name="LocalSecondsPerClient">Mean wall time of one client's local training and update encoding.</param>
/// <param name="AggregationSeconds">Wall time of the aggregation (the secure sum, all clients simulated).</param>
/// <param name="RoundSeconds">Wall time of the whole round.</param>
/// <param name="BytesPerClient">Bytes one client sent.</param>
/// <param name="Dimension">Length d of each update vector.</param>
public sealed record RankingRoundReport(int Round, int Participants, int Survivors, double EpsilonSpent, double LocalSecondsPerClient, double AggregationSeconds, double RoundSeconds, long BytesPerClient, int Dimension);

/// <summary>
/// Packs a ranking model's update rows (width W) into the recommender's <see cref="UpdateLayout"/> (blocks of
/// W − 1 "factor" + 1 "bias" coordinates and a weight coordinate), so that every <see cref="IUpdateAggregator"/>
/// (plain, SecAgg, SecAgg + DP, and the round pipeline behind the same interface) carries it unchanged. The two tail
/// coordinates of the layout are unused (bound 0, always zero).
/// </summary>
internal static class UpdatePacking
{
    public static UpdateLayout Layout(int rows, int width) => new(rows, Math.Max(1, width - 1));

    public static void Pack(ReadOnlySpan<double> rows, ReadOnlySpan<int> weights, int width, Span<double> packed, double weightScale)
    {
        var block = width + 1;
        var count = rows.Length / width;
        for (var r = 0; r < count; r++)
        {
            var w = weights.IsEmpty ? 1.0 : weights[r] * weightScale;
            var src = rows.Slice(r * width, width);
            var dst = packed.Slice(r * block, width);
            if (weights.IsEmpty)
            {
                src.CopyTo(dst);
            }
            else
            {
                for (var c = 0; c < width; c++)
                {
                    dst[c] = w * src[c];
                }

                packed[(r * block) + width] = w;
            }
        }
    }

    public static void Unpack(ReadOnlySpan<double> packed, int width, Span<double> rows, Span<double> weights)
    {
        var block = width + 1;
        var count = rows.Length / width;
        for (var r = 0; r < count; r++)
        {
            packed.Slice(r * block, width).CopyTo(rows.Slice(r * width, width));
            if (!weights.IsEmpty)
            {
                weights[r] = packed[(r * block) + width];
            }
        }
    }
}

/// <summary>
/// Federated training of a <see cref="RankingModel"/> over a <see cref="UserPartition"/>: each round every client
/// receives the shared side, trains (or, for statistic models, solves its users and computes statistics), and sends
/// a dense update over the whole catalogue (a sparse one would reveal which items it touched) through the
/// <see cref="IUpdateAggregator"/>; the server averages delta rows by the number of users that touched them (no DP)
/// or by a public denominator (DP: users in the sum for user-level, clients for institution-level), and applies
/// FedAvg or FedAdam (Reddi et al., ICLR 2021). User state, and with personalization the client's item offsets,
/// stay on the client. Deterministic for a seed. Not thread-safe.
/// </summary>
internal sealed class RankingFederation
{
    private readonly RankingModel model;
    private readonly FederationSettings settings;
    private readonly IUpdateAggregator aggregator;
    private readonly LocalUsers[] clients;
    private readonly double[] shared;
    private readonly double[] adamM;
    private readonly double[] adamV;
    private readonly UpdateLayout layout;
    private readonly AggregationContext context;
    private readonly int userCount;
    private int round;

    public RankingFederation(RankingModel model, RankingSplit split, UserPartition partition, FederationSettings settings, IUpdateAggregator aggregator)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(split);
        ArgumentNullException.ThrowIfNull(partition);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(aggregator);
        if (partition.UserCount != split.UserCount)
        {
            throw new ArgumentException($"partition covers {partition.UserCount} users, split has {split.UserCount}", nameof(partition));
        }

        if (aggregator.AddsNoise && settings.Unit == PrivacyUnit.None)
        {
            throw new ArgumentException("a noising aggregator needs a privacy unit (user or institution) to bound sensitivity", nameof(settings));
        }

        if (!(settings.ClipNorm > 0) || !double.IsFinite(settings.ClipNorm))
        {
            throw new ArgumentOutOfRangeException(nameof(settings), settings.ClipNorm, "clip norm must be positive and finite");
        }

        if (!(settings.PriorShare is > 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(settings), settings.PriorShare, "the prior's share of the clip norm must be in (0, 1)");
        }

        if (!(settings.DropoutRate is >= 0 and <= 0.5))
        {
            throw new ArgumentOutOfRangeException(nameof(settings), settings.DropoutRate, "dropout rate must be in [0, 0.5]");
        }

        this.model = model;
        this.settings = settings;
        this.aggregator = aggregator;
        userCount = split.UserCount;
        shared = new double[model.SharedLength];
        using (var rng = Rng.ForPurpose(settings.Seed, "ranking-init-shared"))
        {
            model.InitShared(shared, rng);
        }

        clients = new LocalUsers[partition.ClientCount];
        for (var c = 0; c < clients.Length; c++)
        {
            clients[c] = new LocalUsers(partition.UsersOf(c).ToArray(), split.Train, model.UserWidth, model.ItemCount, settings.Personalize);
            using var rng = Rng.ForPurpose(settings.Seed, $"ranking-init-client-{c}");
            model.InitUsers(clients[c], rng);
        }

        layout = UpdatePacking.Layout(model.UpdateRows, model.UpdateWidth);
        var maxUsers = clients.Max(c => c.Count);
        var clip = settings.ClipNorm;

        // Public per-coordinate bounds for the fixed-point grid: a delta coordinate moves by at most MaxStep per user
        // (weighted by ≤ maxUsers users); statistics are bounded by the public confidence scale; under DP every
        // user (or institution) adds at most C.
        var deltaBound = model.IsDeltaModel ? maxUsers * MaxStep : maxUsers * StatisticBound(model);
        context = settings.Unit switch
        {
            PrivacyUnit.User => new AggregationContext(layout, maxUsers * clip, 0, 0, 0, clip, maxUsers),
            PrivacyUnit.Institution => new AggregationContext(layout, clip, 0, 0, 0, clip, 1),
            _ => new AggregationContext(layout, deltaBound, model.IsDeltaModel ? maxUsers : 0, 0, 0, null, maxUsers),
        };
        adamM = new double[shared.Length];
        adamV = new double[shared.Length];
    }

    /// <summary>Largest per-round, per-user change of one shared coordinate the fixed-point grid represents.</summary>
    public const double MaxStep = 1.0;

    public ReadOnlySpan<double> Shared => shared;

    public int Dimension => layout.Length;

    public IReadOnlyList<LocalUsers> Clients => clients;

    public IReadOnlyList<RankingRoundReport> Run(Action<RankingRoundReport>? progress = null)
    {
        var reports = new List<RankingRoundReport>();
        while (round < settings.Rounds)
        {
            var report = RunRound();
            reports.Add(report);
            progress?.Invoke(report);
        }

        return reports;
    }

    public RankingRoundReport RunRound()
    {
        var watch = Stopwatch.StartNew();
        round++;
        var n = clients.Length;
        var dropped = SelectDropouts(n);
        var inputs = new double[n][];
        var localSeconds = 0.0;
        (model as IalsModel)?.Prepare(shared);
        for (var c = 0; c < n; c++)
        {
            var local = Stopwatch.StartNew();
            using var rng = Rng.ForPurpose(settings.Seed, $"ranking-client-{c}-round-{round}");
            inputs[c] = ClientUpdate(clients[c], rng);
            localSeconds += local.Elapsed.TotalSeconds;
        }

        var aggregationWatch = Stopwatch.StartNew();
        var result = aggregator.Aggregate(round, inputs, dropped, context);
        var aggregationSeconds = aggregationWatch.Elapsed.TotalSeconds;
        var usersInSum = 0;
        var clientsInSum = 0;
        for (var c = 0; c < n; c++)
        {
            if (!dropped[c])
            {
                usersInSum += clients[c].Count;
                clientsInSum++;
            }
        }

        if (!model.IsDeltaModel && usersInSum > 0)
        {
            // Statistics are sums over users: rescale the survivors' sum to the whole population (public counts),
            // so a dropped client does not shift the balance between data and the regularizer λ.
            Kernels.Scale((double)userCount / usersInSum, result.Sum);
        }

        ServerStep(result.Sum, settings.Unit == PrivacyUnit.Institution ? clientsInSum : usersInSum);
        return new RankingRoundReport(round, n, result.Survivors, result.EpsilonSpent, localSeconds / n, aggregationSeconds, watch.Elapsed.TotalSeconds, result.BytesPerClient, layout.Length);
    }

    /// <summary>The model as the clients hold it after training: shared side plus every client's private side (simulation-side evaluation).</summary>
    public FactorScorer Export()
    {
        if (model is IalsModel ials)
        {
            ials.Prepare(shared);
            foreach (var c in clients)
            {
                ials.RefreshUsers(shared, c);
            }
        }

        return model.Export(shared, clients, userCount);
    }

    private double[] ClientUpdate(LocalUsers client, Rng rng)
    {
        var packed = new double[layout.Length];
        var width = model.UpdateWidth;
        var rows = new double[model.UpdateRows * width];
        switch (settings.Unit)
        {
            case PrivacyUnit.None:
                {
                    var weights = new int[model.UpdateRows];
                    LocalDelta(client, rows, weights, rng);
                    UpdatePacking.Pack(rows, model.IsDeltaModel ? weights : ReadOnlySpan<int>.Empty, width, packed, 1.0);
                    break;
                }

            case PrivacyUnit.Institution:
                LocalDelta(client, rows, null, rng);
                ClipParts(rows);
                UpdatePacking.Pack(rows, ReadOnlySpan<int>.Empty, width, packed, 1.0);
                break;

            default:
                {
                    var one = new double[rows.Length];
                    for (var l = 0; l < client.Count; l++)
                    {
                        var single = client.Single(l);
                        Array.Clear(one);
                        LocalDelta(single, one, null, rng);
                        client.StoreSingle(l, single);
                        ClipParts(one);
                        Kernels.Axpy(1.0, one, rows);
                    }

                    UpdatePacking.Pack(rows, ReadOnlySpan<int>.Empty, width, packed, 1.0);
                    break;
                }
        }

        // A diverged local model (non-finite values, e.g. after heavy DP noise on the shared side) must not poison
        // the encoder or the sum: the client then contributes zeros this round.
        foreach (var v in packed)
        {
            if (!double.IsFinite(v))
            {
                Array.Clear(packed);
                break;
            }
        }

        return packed;
    }

    /// <summary>Delta models: train a copy, delta = copy − global (rows); statistic models: the statistics.</summary>
    private void LocalDelta(LocalUsers users, Span<double> rows, int[]? weights, Rng rng)
    {
        if (!model.IsDeltaModel)
        {
            model.ComputeStatistics(shared, users, rows);
            return;
        }

        var copy = shared.ToArray();
        model.TrainLocal(copy, users, settings.LocalEpochs, rng, weights);
        for (var x = 0; x < copy.Length; x++)
        {
            rows[x] = copy[x] - shared[x];
        }
    }

    /// <summary>Clips the update to C; a prior block separately to C·√φ and the rest to C·√(1 − φ).</summary>
    private void ClipParts(Span<double> v)
    {
        var offset = model.PriorOffset;
        if (offset < 0)
        {
            Clip(v, settings.ClipNorm);
            return;
        }

        // A user's prior block has norm 1: scaled to C·√φ it uses its share exactly; an institution's sum of its
        // users' blocks is scaled the same way, then clipped to the share.
        Clip(v[..offset], settings.ClipNorm * Math.Sqrt(1 - settings.PriorShare));
        var prior = v[offset..];
        var share = settings.ClipNorm * Math.Sqrt(settings.PriorShare);
        Kernels.Scale(share, prior);
        Clip(prior, share);
    }

    private static void Clip(Span<double> v, double c)
    {
        var norm = Math.Sqrt(Kernels.NormSquared(v));
        if (norm > c)
        {
            Kernels.Scale(c / norm, v);
        }
    }

    private void ServerStep(double[] sum, int denominator)
    {
        var width = model.UpdateWidth;
        var rows = new double[model.UpdateRows * width];
        var weights = new double[model.UpdateRows];
        UpdatePacking.Unpack(sum, width, rows, weights);
        var direction = new double[shared.Length];
        if (!model.IsDeltaModel)
        {
            model.Direction(shared, rows, direction);
        }
        else
        {
            for (var r = 0; r < model.UpdateRows; r++)
            {
                double scale;
                if (settings.Unit == PrivacyUnit.None)
                {
                    if (weights[r] < 0.5)
                    {
                        continue;
                    }

                    scale = 1 / weights[r];
                }
                else
                {
                    scale = 1.0 / Math.Max(1, denominator);
                }

                for (var c = 0; c < width; c++)
                {
                    direction[(r * width) + c] = rows[(r * width) + c] * scale;
                }
            }
        }

        var eta = settings.ServerLearningRate;
        for (var p = 0; p < shared.Length; p++)
        {
            var step = direction[p];
            if (settings.Optimizer == Federated.ServerOptimizerKind.FedAdam)
            {
                adamM[p] = (settings.Beta1 * adamM[p]) + ((1 - settings.Beta1) * step);
                adamV[p] = (settings.Beta2 * adamV[p]) + ((1 - settings.Beta2) * step * step);
                step = adamM[p] / (Math.Sqrt(adamV[p]) + settings.Tau);
            }

            shared[p] += eta * step;
        }
    }

    private bool[] SelectDropouts(int participants)
    {
        var dropped = new bool[participants];
        var count = (int)Math.Floor(settings.DropoutRate * participants);
        if (count == 0)
        {
            return dropped;
        }

        var order = Enumerable.Range(0, participants).ToArray();
        using var rng = Rng.ForPurpose(settings.Seed, $"ranking-dropouts-round-{round}");
        rng.Shuffle(order.AsSpan());
        for (var j = 0; j < count; j++)
        {
            dropped[order[j]] = true;
        }

        return dropped;
    }

    /// <summary>Public bound on one user's statistic coordinate for a statistic model.</summary>
    private static double StatisticBound(RankingModel model) => 4 * (1 + (model.Hp.Alpha * MaxEventWeight));

    /// <summary>Largest merged interaction weight the statistic bound assumes (larger weights saturate the fixed-point grid).</summary>
    public const double MaxEventWeight = 8;
}
