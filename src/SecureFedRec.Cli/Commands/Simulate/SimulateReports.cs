using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Evaluation;
using SecureFedRec.Recommender.Experiments;
using SecureFedRec.Recommender.Ranking;

namespace SecureFedRec.Cli.Commands;

/// <summary>
/// <c>simulate --model mf --json</c>: the field names (camelCase) are the ones the JSON has always had; non-finite
/// values are null.
/// </summary>
internal sealed record MfReport(string Model, string Dataset, int Users, int Items, int Ratings, MfSplitReport Split, MfOptionsReport Options, IReadOnlyList<MfSettingReport> Results)
{
    public static MfReport From(RatingDataset data, EvaluationSplit split, ExperimentOptions o, IReadOnlyList<SettingResult> results) => new(
        "mf",
        data.Name,
        data.UserCount,
        data.ItemCount,
        data.Count,
        new MfSplitReport("per user: latest rating held out for ranking; 20% of the rest (seeded) held out for RMSE/MAE", split.Train.Count, split.RatingTest.Count),
        new MfOptionsReport(
            o.Shape.ToString().ToLowerInvariant(), o.Clients, o.Rounds, o.LocalEpochs, o.Hyperparameters.Factors, o.Hyperparameters.Epochs,
            o.Hyperparameters.LearningRate, o.Hyperparameters.Regularization, Finite(o.Epsilon), o.Delta, o.UserClipNorm, o.DropoutRate, o.Seed),
        [.. results.Select(MfSettingReport.From)]);

    internal static double? Finite(double v) => double.IsFinite(v) ? v : null;
}

/// <summary>The MF split.</summary>
internal sealed record MfSplitReport(string Protocol, int Train, int RatingTest);

/// <summary>The MF options of the run.</summary>
internal sealed record MfOptionsReport(string Shape, int Clients, int Rounds, int LocalEpochs, int Factors, int CentralizedEpochs, double LearningRate, double Regularization, double? EpsilonTarget, double Delta, double UserClip, double Dropout, ulong Seed);

/// <summary>One MF setting (a table row) with its rounds.</summary>
internal sealed record MfSettingReport(string Setting, double? Rmse, double? Mae, double? Hr10Sampled, double? Ndcg10Sampled, double? Hr10Full, double? Ndcg10Full, double? EpsilonSpent, double SecondsPerRound, long BytesPerClient, double TotalSeconds, IReadOnlyList<MfRoundReport> Rounds)
{
    public static MfSettingReport From(SettingResult r)
    {
        EvaluationResult m = r.Metrics;
        return new(
            r.Name, MfReport.Finite(m.Rmse), MfReport.Finite(m.Mae), MfReport.Finite(m.HitRateSampled), MfReport.Finite(m.NdcgSampled),
            MfReport.Finite(m.HitRateFull), MfReport.Finite(m.NdcgFull), r.EpsilonSpent > 0 ? r.EpsilonSpent : null,
            r.SecondsPerRound, r.BytesPerClient, r.TotalSeconds,
            [.. r.Rounds.Select(x => new MfRoundReport(x.Round, x.Participants, x.Survivors, x.EpsilonSpent, MfReport.Finite(x.TrainLoss), x.Seconds, x.AggregationSeconds, x.BytesPerClient))]);
    }
}

/// <summary>One MF round.</summary>
internal sealed record MfRoundReport(int Round, int Participants, int Survivors, double Epsilon, double? TrainLoss, double Seconds, double AggregationSeconds, long BytesPerClient);

/// <summary><c>simulate --model bpr|ials|neural --json</c>: the options the run used and its <see cref="RankingReport"/>.</summary>
internal sealed record RankingJson(string Model, RankingOptions Options, RankingReport Report, double TotalSeconds);
