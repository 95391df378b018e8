namespace SecureFedRec.Client;

/// <summary>
/// Settings of the client's recommender mode (section <c>Client:Recommender</c>, docs/integrators.md): the local
/// ratings file (user and item ids integers, items dense in [0, <see cref="Items"/>), the same item space as the
/// coordinator's <c>Rounds:InitialModel = mf:ITEMS:FACTORS</c>) and the local matrix-factorization hyperparameters.
/// Plain settings object; not thread-safe. Values are checked when the recommender is built.
/// </summary>
public sealed class RecommenderSettings
{
    /// <summary>Ratings file (MovieLens CSV/100K/1M or generic CSV), relative to the configuration file.</summary>
    public string? Ratings { get; set; }

    /// <summary>Number of items I of the shared item space.</summary>
    public int Items { get; set; }

    /// <summary>Latent factors k (must match the coordinator's model).</summary>
    public int Factors { get; set; } = 8;

    /// <summary>Passes over the local ratings per round.</summary>
    public int LocalEpochs { get; set; } = 5;

    /// <summary>SGD step size.</summary>
    public double LearningRate { get; set; } = 0.01;

    /// <summary>L2 regularization.</summary>
    public double Regularization { get; set; } = 0.05;

    /// <summary>Fraction of each user's latest ratings held out for the local RMSE report.</summary>
    public double HoldOutFraction { get; set; } = 0.2;

    /// <summary>Seed of the local user-factor initialisation and shuffles.</summary>
    public ulong Seed { get; set; } = 1;
}
