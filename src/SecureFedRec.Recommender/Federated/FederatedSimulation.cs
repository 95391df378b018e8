using System.Diagnostics;
using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Internal;
using SecureFedRec.Recommender.Model;

namespace SecureFedRec.Recommender.Federated;

/// <summary>Progress of one federated round.</summary>
/// <param name="Round">1-based round number.</param>
/// <param name="Participants">Clients asked to take part.</param>
/// <param name="Survivors">Clients whose update is in the sum.</param>
/// <param name="EpsilonSpent">Cumulative ε after the round (0 without DP).</param>
/// <param name="TrainLoss">RMSE of the clients' last local epoch (simulation diagnostic; not released by the protocol).</param>
/// <param name="Seconds">Wall time of the round (local training + aggregation + server step).</param>
/// <param name="AggregationSeconds">Wall time of the aggregation alone.</param>
/// <param name="BytesPerClient">Bytes one client sent.</param>
/// <param name="Phase">Last phase reached.</param>
public sealed record RoundReport(int Round, int Participants, int Survivors, double EpsilonSpent, double TrainLoss, double Seconds, double AggregationSeconds, long BytesPerClient, string Phase);

/// <summary>
/// Federated matrix factorization over a <see cref="UserPartition"/>: each round the server sends the
/// <see cref="GlobalItemModel"/> to the participating clients, each trains locally and returns an item-side update
/// (<see cref="UpdateLayout"/>), the updates go through the <see cref="IUpdateAggregator"/>, and the server turns the
/// sum into a pseudo-gradient (count-weighted average, or a public fixed denominator under DP) and applies FedAvg or
/// FedAdam (Reddi et al. 2021). μ starts at the middle of the rating scale (public) and is learned like an item
/// parameter. Deterministic for a seed. Not thread-safe.
/// </summary>
public sealed class FederatedSimulation
{
    private readonly RatingDataset train;
    private readonly FederatedOptions options;
    private readonly IUpdateAggregator aggregator;
    private readonly FederatedClient[] clients;
    private readonly UpdateLayout layout;
    private readonly AggregationContext context;
    private readonly double[] adamM;
    private readonly double[] adamV;
    private int round;

    /// <summary>Sets up clients and the initial global model.</summary>
    /// <exception cref="ArgumentException">The partition does not match the data, or DP is asked for without a clip bound.</exception>
    public FederatedSimulation(RatingDataset train, UserPartition partition, FederatedOptions options, IUpdateAggregator aggregator)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(partition);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(aggregator);
        options.Validate();
        if (partition.UserCount != train.UserCount)
        {
            throw new ArgumentException($"partition covers {partition.UserCount} users, data has {train.UserCount}", nameof(partition));
        }

        if (aggregator.AddsNoise && options.UserClipNorm is null)
        {
            throw new ArgumentException("a noising aggregator needs options.UserClipNorm (user-level sensitivity)", nameof(options));
        }

        this.train = train;
        this.options = options;
        this.aggregator = aggregator;
        var k = options.Hyperparameters.Factors;
        layout = new UpdateLayout(train.ItemCount, k);
        Global = new GlobalItemModel(train.ItemCount, k) { GlobalMean = (train.MinRating + train.MaxRating) / 2 };
        using (var rng = Rng.ForPurpose(options.Seed, "federated-init-items"))
        {
            for (var i = 0; i < Global.ItemFactors.Length; i++)
            {
                Global.ItemFactors[i] = rng.NextGaussian() * options.Hyperparameters.InitStdDev;
            }
        }

        var byUser = train.ByUser();
        clients = new FederatedClient[partition.ClientCount];
        for (var c = 0; c < clients.Length; c++)
        {
            clients[c] = new FederatedClient(c, partition.UsersOf(c), byUser, k, options.Hyperparameters.InitStdDev, options.Seed);
        }

        // Public sizes bound every coordinate: an item's weight is at most the client's user count (one rating per
        // user and item), μ's weight at most its rating count; a parameter moves by at most MaxStep per round (larger
        // local moves are clamped by fixed-point encoders). Under user-level clipping each user adds at most C.
        var maxUsers = clients.Max(c => c.Users.Count);
        var maxRatings = clients.Max(c => c.RatingCount);
        context = options.UserClipNorm is { } clip
            ? new AggregationContext(layout, maxUsers * clip, 0, maxUsers * clip, 0, clip, maxUsers)
            : new AggregationContext(layout, maxUsers * MaxStep, maxUsers, maxRatings * MaxStep, maxRatings, null, maxUsers);
        adamM = new double[Global.ParameterCount];
        adamV = new double[Global.ParameterCount];
    }

    /// <summary>Largest per-round change of one parameter that the fixed-point grid represents (|Δ| ≤ 1).</summary>
    public const double MaxStep = 1.0;

    /// <summary>The current global item model.</summary>
    public GlobalItemModel Global { get; }

    /// <summary>The clients.</summary>
    public IReadOnlyList<FederatedClient> Clients => clients;

    /// <summary>The update layout (d = <see cref="UpdateLayout.Length"/>).</summary>
    public UpdateLayout Layout => layout;

    /// <summary>
    /// Runs all remaining rounds; <paramref name="progress"/> receives each round's report and <paramref name="phase"/>
    /// (optional) each phase as it starts: "local training", "secure aggregation" (or the aggregator's name), "server update".
    /// </summary>
    public IReadOnlyList<RoundReport> Run(Action<RoundReport>? progress = null, Action<int, string>? phase = null)
    {
        var reports = new List<RoundReport>();
        while (round < options.Rounds)
        {
            var report = RunRound(phase);
            reports.Add(report);
            progress?.Invoke(report);
        }

        return reports;
    }

    /// <summary>Runs one round and returns its report.</summary>
    public RoundReport RunRound(Action<int, string>? phase = null)
    {
        var watch = Stopwatch.StartNew();
        round++;
        phase?.Invoke(round, "local training");
        var participants = SelectParticipants();
        var dropped = SelectDropouts(participants.Length);
        var inputs = new double[participants.Length][];
        double sq = 0;
        long n = 0;
        for (var j = 0; j < participants.Length; j++)
        {
            using var rng = Rng.ForPurpose(options.Seed, $"client-{participants[j]}-round-{round}");
            var (update, s, count) = clients[participants[j]].TrainRound(Global, options, layout, options.UserClipNorm, rng);
            inputs[j] = update;
            sq += s;
            n += count;
        }

        phase?.Invoke(round, aggregator.Name == "plain" ? "plain sum" : $"{aggregator.Name} round");
        var aggregationWatch = Stopwatch.StartNew();
        var result = aggregator.Aggregate(round, inputs, dropped, context);
        var aggregationSeconds = aggregationWatch.Elapsed.TotalSeconds;
        var usersInSum = 0;
        for (var j = 0; j < participants.Length; j++)
        {
            if (!dropped[j])
            {
                usersInSum += clients[participants[j]].Users.Count;
            }
        }

        phase?.Invoke(round, "server update");
        ApplyServerStep(result.Sum, usersInSum);
        return new RoundReport(round, participants.Length, result.Survivors, result.EpsilonSpent, n == 0 ? double.NaN : Math.Sqrt(sq / n),
            watch.Elapsed.TotalSeconds, aggregationSeconds, result.BytesPerClient, result.Phase);
    }

    /// <summary>
    /// The full model for simulation-side evaluation: the global item side plus every client's private user side
    /// (in a deployment each client evaluates its own users; here the simulation sees all of them).
    /// </summary>
    public MatrixFactorizationModel AssembleModel()
    {
        var model = new MatrixFactorizationModel(train.UserCount, train.ItemCount, Global.Factors) { GlobalMean = Global.GlobalMean };
        Global.ItemBias.CopyTo(model.ItemBias, 0);
        Global.ItemFactors.CopyTo(model.ItemFactors, 0);
        foreach (var c in clients)
        {
            c.CopyUserParameters(model);
        }

        return model;
    }

    private int[] SelectParticipants()
    {
        var all = Enumerable.Range(0, clients.Length).ToArray();
        if (options.ClientFraction >= 1)
        {
            return all;
        }

        var count = Math.Max(2, (int)Math.Round(options.ClientFraction * clients.Length));
        using var rng = Rng.ForPurpose(options.Seed, $"sampling-round-{round}");
        rng.Shuffle(all.AsSpan());
        var chosen = all.AsSpan(0, Math.Min(count, all.Length)).ToArray();
        Array.Sort(chosen);
        return chosen;
    }

    private bool[] SelectDropouts(int participants)
    {
        var dropped = new bool[participants];
        var count = (int)Math.Floor(options.DropoutRate * participants);
        if (count == 0)
        {
            return dropped;
        }

        var order = Enumerable.Range(0, participants).ToArray();
        using var rng = Rng.ForPurpose(options.Seed, $"dropouts-round-{round}");
        rng.Shuffle(order.AsSpan());
        for (var j = 0; j < count; j++)
        {
            dropped[order[j]] = true;
        }

        return dropped;
    }

    private void ApplyServerStep(double[] sum, int usersInSum)
    {
        var k = Global.Factors;
        var g = new double[Global.ParameterCount];
        var weighted = options.UserClipNorm is null;
        var denominator = Math.Max(1, usersInSum);
        for (var i = 0; i < Global.ItemCount; i++)
        {
            double scale;
            if (weighted)
            {
                var w = sum[layout.WeightOffset(i)];
                if (w < 0.5)
                {
                    continue;
                }

                scale = 1.0 / w;
            }
            else
            {
                scale = 1.0 / denominator;
            }

            var fo = layout.FactorOffset(i);
            for (var f = 0; f < k; f++)
            {
                g[(i * (k + 1)) + f] = sum[fo + f] * scale;
            }

            g[(i * (k + 1)) + k] = sum[layout.BiasOffset(i)] * scale;
        }

        var mw = weighted ? sum[layout.MeanWeightOffset] : denominator;
        g[^1] = mw >= 0.5 ? sum[layout.MeanOffset] / mw : 0;

        var eta = options.ServerLearningRate;
        for (var p = 0; p < g.Length; p++)
        {
            var step = g[p];
            if (options.Optimizer == ServerOptimizerKind.FedAdam)
            {
                adamM[p] = (options.Beta1 * adamM[p]) + ((1 - options.Beta1) * g[p]);
                adamV[p] = (options.Beta2 * adamV[p]) + ((1 - options.Beta2) * g[p] * g[p]);
                step = adamM[p] / (Math.Sqrt(adamV[p]) + options.Tau);
            }

            step *= eta;
            if (p == g.Length - 1)
            {
                Global.GlobalMean += step;
            }
            else if (p % (k + 1) == k)
            {
                Global.ItemBias[p / (k + 1)] += step;
            }
            else
            {
                Global.ItemFactors[((p / (k + 1)) * k) + (p % (k + 1))] += step;
            }
        }
    }
}
