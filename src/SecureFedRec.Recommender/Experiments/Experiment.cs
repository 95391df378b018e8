using System.Diagnostics;
using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Evaluation;
using SecureFedRec.Recommender.Federated;
using SecureFedRec.Recommender.Model;

namespace SecureFedRec.Recommender.Experiments;

/// <summary>How a federated setting aggregates.</summary>
public enum AggregationKind
{
    /// <summary>Exact float sum (no secure aggregation).</summary>
    Plain = 0,

    /// <summary>Secure aggregation, fixed-point, no noise.</summary>
    SecAgg = 1,

    /// <summary>Secure aggregation with distributed discrete Gaussian noise.</summary>
    SecAggDp = 2,
}

/// <summary>
/// Settings of a comparison run (<c>securefedrec simulate</c>). The centralized baseline and every federated setting
/// share <see cref="Hyperparameters"/>; federated settings without DP use joint local training with count-weighted
/// FedAvg; the DP setting (and its ε = ∞ reference) uses user-level clipping to <see cref="UserClipNorm"/> with FedAdam.
/// Immutable.
/// </summary>
public sealed record ExperimentOptions
{
    /// <summary>Model hyperparameters (centralized epochs = <see cref="MfHyperparameters.Epochs"/>).</summary>
    public MfHyperparameters Hyperparameters { get; init; } = new() { Factors = 16, Epochs = 40, LearningRate = 0.01, Regularization = 0.1 };

    /// <summary>Clients (silos), or the cohort sampled per round in the device shape.</summary>
    public int Clients { get; init; } = 10;

    /// <summary>Federated rounds.</summary>
    public int Rounds { get; init; } = 30;

    /// <summary>Local epochs per round.</summary>
    public int LocalEpochs { get; init; } = 2;

    /// <summary>FedAvg server learning rate (settings without DP).</summary>
    public double ServerLearningRate { get; init; } = 1.0;

    /// <summary>FedAdam server learning rate (user-clipped settings).</summary>
    public double DpServerLearningRate { get; init; } = 0.1;

    /// <summary>User-level clip C of the DP setting.</summary>
    public double UserClipNorm { get; init; } = 0.1;

    /// <summary>Total ε of the DP setting (∞ = no DP setting).</summary>
    public double Epsilon { get; init; } = 8;

    /// <summary>δ of the DP setting.</summary>
    public double Delta { get; init; } = 1e-5;

    /// <summary>Fraction of each round's participants that drop out after advertising keys.</summary>
    public double DropoutRate { get; init; } = 0.1;

    /// <summary>Deployment shape.</summary>
    public ClientShape Shape { get; init; } = ClientShape.Silo;

    /// <summary>
    /// Optional <c>user,group</c> CSV: silos are the groups (partition by a column) instead of a seeded random deal of
    /// <see cref="Clients"/> silos. Silo shape only.
    /// </summary>
    public string? GroupFile { get; init; }

    /// <summary>Held-out fraction for RMSE/MAE (see <see cref="EvaluationSplit"/>).</summary>
    public double TestFraction { get; init; } = 0.2;

    /// <summary>Seed of everything.</summary>
    public ulong Seed { get; init; } = 1;
}

/// <summary>The figures of one setting.</summary>
/// <param name="Name">Setting name.</param>
/// <param name="Metrics">Accuracy on the evaluation split.</param>
/// <param name="EpsilonSpent">User-level ε spent (0 without DP).</param>
/// <param name="SecondsPerRound">Mean wall time per round (centralized: per epoch).</param>
/// <param name="BytesPerClient">Bytes one client sends per round (0 for centralized).</param>
/// <param name="TotalSeconds">Wall time of training.</param>
/// <param name="Rounds">Per-round reports (empty for centralized).</param>
public sealed record SettingResult(string Name, EvaluationResult Metrics, double EpsilonSpent, double SecondsPerRound, long BytesPerClient, double TotalSeconds, IReadOnlyList<RoundReport> Rounds);

/// <summary>
/// Runs the comparison of <c>securefedrec simulate</c>: centralized, federated (plain), federated with secure
/// aggregation, federated with secure aggregation + DP, on one <see cref="EvaluationSplit"/>. Stateless; thread-safe.
/// </summary>
public static class Experiment
{
    /// <summary>Centralized baseline on the split's training data.</summary>
    public static SettingResult RunCentralized(EvaluationSplit split, ExperimentOptions options)
    {
        ArgumentNullException.ThrowIfNull(split);
        ArgumentNullException.ThrowIfNull(options);
        var watch = Stopwatch.StartNew();
        var model = CentralizedTrainer.Train(split.Train, options.Hyperparameters, options.Seed);
        var seconds = watch.Elapsed.TotalSeconds;
        return new SettingResult("centralized", Evaluator.Evaluate(model, split, options.Seed), 0,
            seconds / Math.Max(1, options.Hyperparameters.Epochs), 0, seconds, []);
    }

    /// <summary>
    /// One federated setting. <paramref name="userClipped"/> selects user-level clipping with FedAdam (forced for DP);
    /// <paramref name="epsilon"/> is the DP target (ignored unless <paramref name="kind"/> is SecAggDp).
    /// </summary>
    public static SettingResult RunFederated(
        EvaluationSplit split, ExperimentOptions options, AggregationKind kind, bool userClipped, double epsilon,
        Action<RoundReport>? progress = null, Action<int, string>? phase = null)
    {
        ArgumentNullException.ThrowIfNull(split);
        ArgumentNullException.ThrowIfNull(options);
        userClipped |= kind == AggregationKind.SecAggDp;
        var train = split.Train;
        UserPartition partition;
        double fraction = 1;
        if (options.Shape == ClientShape.Device)
        {
            partition = UserPartition.OnePerUser(train.UserCount);
            fraction = Math.Min(1.0, (double)options.Clients / train.UserCount);
        }
        else
        {
            partition = options.GroupFile is { } groups
                ? UserPartition.FromGroupFile(train, groups)
                : UserPartition.Random(train.UserCount, options.Clients, options.Seed);
        }

        var fed = new FederatedOptions
        {
            Hyperparameters = options.Hyperparameters,
            Rounds = options.Rounds,
            LocalEpochs = options.LocalEpochs,
            Optimizer = userClipped ? ServerOptimizerKind.FedAdam : ServerOptimizerKind.FedAvg,
            ServerLearningRate = userClipped ? options.DpServerLearningRate : options.ServerLearningRate,
            Shape = options.Shape,
            DropoutRate = options.DropoutRate,
            UserClipNorm = userClipped ? options.UserClipNorm : null,
            ClientFraction = fraction,
            Seed = options.Seed,
        };
        IUpdateAggregator aggregator = kind switch
        {
            AggregationKind.Plain => new PlainAggregator(),
            AggregationKind.SecAgg => new SecureRoundAggregator(null, options.Seed),
            AggregationKind.SecAggDp => new SecureRoundAggregator(new DpTarget(epsilon, options.Delta, options.Rounds), options.Seed),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown aggregation"),
        };
        var name = kind switch
        {
            AggregationKind.Plain => "federated",
            AggregationKind.SecAgg => "federated + secagg",
            _ => FormattableString.Invariant($"federated + secagg + DP (ε={epsilon:G4})"),
        };
        if (userClipped && kind != AggregationKind.SecAggDp)
        {
            name += " (user-clipped)";
        }

        var watch = Stopwatch.StartNew();
        var sim = new FederatedSimulation(train, partition, fed, aggregator);
        var rounds = sim.Run(progress, phase);
        var seconds = watch.Elapsed.TotalSeconds;
        var metrics = Evaluator.Evaluate(sim.AssembleModel(), split, options.Seed);
        return new SettingResult(name, metrics, rounds.Count == 0 ? 0 : rounds[^1].EpsilonSpent,
            rounds.Count == 0 ? 0 : rounds.Average(r => r.Seconds), rounds.Count == 0 ? 0 : (long)rounds.Average(r => r.BytesPerClient), seconds, rounds);
    }
}
