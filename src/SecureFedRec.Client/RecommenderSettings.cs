using System.ComponentModel.DataAnnotations;
using SecureFedRec.Configuration;

namespace SecureFedRec.Client;

/// <summary>
/// Settings of the client's recommender mode (section <c>Client:Recommender</c>, docs/integrators.md): the local
/// ratings file (user and item ids integers, items dense in [0, <see cref="Items"/>), the same item space as the
/// coordinator's <c>Rounds:InitialModel = mf:ITEMS:FACTORS</c>) and the local matrix-factorization hyperparameters.
/// Plain settings object; not thread-safe. Checked with the rest of the client's settings by <see cref="ClientSettings.Load(string)"/>.
/// </summary>
public sealed class RecommenderSettings : ISettingsRules
{
    /// <summary>Ratings file (MovieLens CSV/100K/1M or generic CSV), relative to the configuration file.</summary>
    public string? Ratings { get; set; }

    /// <summary>Number of items I of the shared item space.</summary>
    [Range(0, 10_000_000)]
    public int Items { get; set; }

    /// <summary>Latent factors k (must match the coordinator's model).</summary>
    [Range(1, 1024)]
    public int Factors { get; set; } = 8;

    /// <summary>Passes over the local ratings per round.</summary>
    [Range(1, 10_000)]
    public int LocalEpochs { get; set; } = 5;

    /// <summary>SGD step size.</summary>
    [Range(0.0, 10.0, MinimumIsExclusive = true)]
    public double LearningRate { get; set; } = 0.01;

    /// <summary>L2 regularization.</summary>
    [Range(0.0, 100.0)]
    public double Regularization { get; set; } = 0.05;

    /// <summary>Fraction of each user's latest ratings held out for the local RMSE report.</summary>
    [Range(0.0, 1.0, MaximumIsExclusive = true)]
    public double HoldOutFraction { get; set; } = 0.2;

    /// <summary>Seed of the local user-factor initialisation and shuffles.</summary>
    public ulong Seed { get; set; } = 1;

    /// <inheritdoc />
    public void CheckRules(string path, SettingsProblems problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        if (string.IsNullOrEmpty(Ratings))
        {
            return;
        }

        problems.RequireFile(path + ":Ratings", Ratings);
        if (!problems.IsMalformed(path + ":Items"))
        {
            problems.Require(Items >= 1, path + ":Items", $"{Items} is out of range: the shared item space needs Items ≥ 1 (the coordinator's mf:ITEMS:FACTORS).");
        }
    }
}
