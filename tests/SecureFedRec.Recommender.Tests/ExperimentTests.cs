using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Experiments;
using SecureFedRec.Recommender.Federated;
using SecureFedRec.Recommender.Model;

namespace SecureFedRec.Recommender.Tests;

public sealed class ExperimentTests
{
    private static readonly RatingDataset Data = SyntheticDataset.Generate(new SyntheticOptions { Users = 90, Items = 120, MedianRatingsPerUser = 20 }, 4);
    private static readonly EvaluationSplit Split = EvaluationSplit.Create(Data, 0.2, 1);
    private static readonly ExperimentOptions Options = new() { Hyperparameters = new MfHyperparameters { Factors = 4, Epochs = 5 }, Clients = 3, Rounds = 3, DropoutRate = 0 };

    [Fact]
    public void Partition_by_group_file_makes_one_silo_per_group()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, ["user,group", .. Enumerable.Range(0, Data.UserCount).Select(u => $"{Data.UserId(u)},g{u % 5}")]);
            var r = Experiment.RunFederated(Split, Options with { GroupFile = path }, AggregationKind.Plain, userClipped: false, double.PositiveInfinity);
            Assert.Equal(3, r.Rounds.Count);
            Assert.All(r.Rounds, x => Assert.Equal(5, x.Participants));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Dp_setting_reports_epsilon_and_secagg_setting_reports_none()
    {
        var dp = Experiment.RunFederated(Split, Options, AggregationKind.SecAggDp, userClipped: false, 8);
        var secagg = Experiment.RunFederated(Split, Options, AggregationKind.SecAgg, userClipped: false, 8);
        Assert.InRange(dp.EpsilonSpent, 0.1, 8.0);
        Assert.Equal(0, secagg.EpsilonSpent);
        Assert.True(dp.BytesPerClient > 0 && secagg.BytesPerClient > 0);
        Assert.Contains("DP", dp.Name, StringComparison.Ordinal);
    }

    [Fact]
    public void Device_shape_samples_a_cohort_of_single_user_clients()
    {
        var r = Experiment.RunFederated(Split, Options with { Shape = ClientShape.Device, Clients = 10 }, AggregationKind.Plain, userClipped: false, double.PositiveInfinity);
        Assert.All(r.Rounds, x => Assert.Equal(10, x.Participants));
        Assert.False(double.IsNaN(r.Metrics.Rmse));
    }
}
