using System.ComponentModel.DataAnnotations;
using SecureFedRec.Configuration;

namespace SecureFedRec.Client;

/// <summary>
/// Settings of the client's recommender mode (section <c>Client:Recommender</c>, docs/integrators.md): the model the
/// coordinator trains (<see cref="Model"/>: biased MF on explicit ratings, or a ranking model on implicit feedback),
/// the local data (a ratings file, or for ranking models an events file; user and item ids integers, items dense in
/// [0, <see cref="Items"/>), the same item space as the coordinator's <c>Rounds:InitialModel</c>) and the local
/// hyperparameters. Plain settings object; not thread-safe. Checked with the rest of the client's settings by <see cref="ClientSettings.Load(string)"/>.
/// </summary>
public sealed class RecommenderSettings : ISettingsRules
{
    /// <summary>
    /// The model (must be the coordinator's <c>Rounds:InitialModel</c> kind): <c>mf</c> (default; biased MF on explicit
    /// ratings, mf:ITEMS:FACTORS), <c>bpr</c>, <c>ials</c>, <c>neural</c> (bpr|ials:ITEMS:FACTORS,
    /// neural:ITEMS:FACTORS:HIDDEN) or <c>knn</c> (knn:ITEMS:CANDIDATES). A client whose model disagrees with the
    /// coordinator's refuses before any round (exit code 9, ModelMismatch).
    /// </summary>
    [AllowedValues("mf", "bpr", "ials", "neural", "knn")]
    public string Model { get; set; } = "mf";

    /// <summary>Ratings file (MovieLens CSV/100K/1M or generic CSV), relative to the configuration file; ranking models binarise it at <see cref="Threshold"/>.</summary>
    public string? Ratings { get; set; }

    /// <summary>Ranking models: events CSV <c>user,item,kind[,weight[,timestamp]]</c> (kind view, click, purchase or rating), relative to the configuration file; instead of <see cref="Ratings"/>.</summary>
    public string? Events { get; set; }

    /// <summary>Ranking models reading <see cref="Ratings"/>: a rating ≥ this is an interaction, lower ones are dropped (default 4).</summary>
    [Range(-1_000_000.0, 1_000_000.0)]
    public double Threshold { get; set; } = 4;

    /// <summary>Number of items I of the shared item space.</summary>
    [Range(0, 10_000_000)]
    public int Items { get; set; }

    /// <summary>Latent factors k (must match the coordinator's model; mf, bpr, ials, neural).</summary>
    [Range(1, 1024)]
    public int Factors { get; set; } = 8;

    /// <summary>neural: hidden width of the MLP towers (must match the coordinator's neural:ITEMS:K:HIDDEN).</summary>
    [Range(1, 4096)]
    public int Hidden { get; set; } = 32;

    /// <summary>knn: candidate items M of the Gram (must match the coordinator's knn:ITEMS:M).</summary>
    [Range(2, 2000)]
    public int Candidates { get; set; } = 500;

    /// <summary>
    /// knn: weight w of this institution's own exact user-kNN signal in the score it serves its users (score = the
    /// DP global score + w × the signal; 0 serves the global score alone). Computed locally from this client's own
    /// users and never sent: what the rounds send, and their ε, do not depend on it.
    /// </summary>
    [Range(0.0, 1000.0)]
    public double LocalWeight { get; set; } = 2;

    /// <summary>iALS: confidence scale α (c = 1 + α·weight).</summary>
    [Range(0.0, 10_000.0, MinimumIsExclusive = true)]
    public double Alpha { get; set; } = 8;

    /// <summary>iALS: L2 regularization λ of the locally solved user factors.</summary>
    [Range(0.0, 100_000.0, MinimumIsExclusive = true)]
    public double Lambda { get; set; } = 50;

    /// <summary>Top-N list length of the recommender report (and of <c>--recommend</c>).</summary>
    [Range(1, 1000)]
    public int TopN { get; set; } = 10;

    /// <summary>Passes over the local data per round (mf, bpr, neural).</summary>
    [Range(1, 10_000)]
    public int LocalEpochs { get; set; } = 5;

    /// <summary>SGD step size (mf, bpr, neural).</summary>
    [Range(0.0, 10.0, MinimumIsExclusive = true)]
    public double LearningRate { get; set; } = 0.01;

    /// <summary>L2 regularization (mf, bpr, neural).</summary>
    [Range(0.0, 100.0)]
    public double Regularization { get; set; } = 0.05;

    /// <summary>mf: fraction of each user's latest ratings held out for the local RMSE report (ranking models hold out each user's latest item for HR@10).</summary>
    [Range(0.0, 1.0, MaximumIsExclusive = true)]
    public double HoldOutFraction { get; set; } = 0.2;

    /// <summary>Seed of the local user-factor initialisation and shuffles.</summary>
    public ulong Seed { get; set; } = 1;

    /// <summary>Whether a recommender is configured (a ratings or events file).</summary>
    public bool IsConfigured => !string.IsNullOrEmpty(Ratings) || !string.IsNullOrEmpty(Events);

    /// <inheritdoc />
    public void CheckRules(string path, SettingsProblems problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        if (!IsConfigured)
        {
            return;
        }

        problems.RequireFile(path + ":Ratings", Ratings);
        problems.RequireFile(path + ":Events", Events);
        problems.Require(string.IsNullOrEmpty(Ratings) || string.IsNullOrEmpty(Events), path + ":Events", "cannot be combined with Ratings: give one data file (Events: implicit-feedback events; Ratings: explicit ratings, binarised at Threshold for ranking models).");
        problems.Require(Model != "mf" || string.IsNullOrEmpty(Events), path + ":Events", "needs a ranking Model (bpr, ials, neural or knn): mf regresses explicit Ratings.");
        if (!problems.IsMalformed(path + ":Items"))
        {
            int least = Model == "mf" ? 1 : 2;
            problems.Require(Items >= least, path + ":Items", $"{Items} is out of range: the shared item space needs Items ≥ {least} (the coordinator's {Model}:ITEMS:…).");
            problems.Require(Model != "knn" || problems.IsMalformed(path + ":Candidates") || Candidates <= Items, path + ":Candidates", $"{Candidates} exceeds Items {Items} (knn:ITEMS:M needs M ≤ ITEMS).");
        }
    }
}
