using SecureFedRec.Rounds.Server;

namespace SecureFedRec.Rounds.Tests;

public sealed class ModelRuleTests
{
    [Theory]
    [InlineData(1.0, 4, new[] { 1.0, -2.0 }, new[] { 8.0, 4.0 }, new[] { 3.0, -1.0 })]
    [InlineData(0.5, 2, new[] { 0.0, 0.0 }, new[] { 2.0, -4.0 }, new[] { 0.5, -1.0 })]
    public void FedAvg_moves_the_model_by_eta_times_the_mean(double eta, int contributors, double[] model, double[] sum, double[] expected)
    {
        double[] next = new FedAvgRule(eta).Apply(model, sum, contributors);
        Assert.Equal(expected, next);
    }

    [Fact]
    public void FedAdam_follows_Reddi_et_al_and_keeps_its_moments()
    {
        var rule = new FedAdamRule(learningRate: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-3);
        double[] model = [0.0];
        double[] first = rule.Apply(model, [2.0], 2); // Δ = 1
        double m1 = 0.1, v1 = 0.01;
        Assert.Equal(0.1 * m1 / (Math.Sqrt(v1) + 1e-3), first[0], 12);
        double[] second = rule.Apply(first, [2.0], 2);
        double m2 = (0.9 * m1) + 0.1, v2 = (0.99 * v1) + 0.01;
        Assert.Equal(first[0] + (0.1 * m2 / (Math.Sqrt(v2) + 1e-3)), second[0], 12);
    }

    public static TheoryData<string> Misuse() => new() { "length", "contributors" };

    [Theory]
    [MemberData(nameof(Misuse))]
    public void Rules_refuse_misuse(string @case)
    {
        IModelUpdateRule[] rules = [new FedAvgRule(), new FedAdamRule()];
        foreach (IModelUpdateRule rule in rules)
        {
            if (@case == "length")
            {
                Assert.Throws<ArgumentException>(() => rule.Apply([0.0, 0.0], [1.0], 1));
            }
            else
            {
                Assert.Throws<ArgumentOutOfRangeException>(() => rule.Apply([0.0], [1.0], 0));
            }
        }
    }
}
