using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Model;

namespace SecureFedRec.Recommender.Tests;

public sealed class ModelTests
{
    [Fact]
    public void Sgd_step_matches_hand_computed_update()
    {
        // μ = 3, b_u = 0.1, b_i = −0.2, p = (0.5, 1), q = (1, −0.5), r = 4, η = 0.1, λ = 0.1.
        // r̂ = 3 + 0.1 − 0.2 + (0.5 − 0.5) = 2.9, e = 1.1.
        double mu = 3, bu = 0.1, bi = -0.2;
        double[] p = [0.5, 1.0];
        double[] q = [1.0, -0.5];
        var e = Sgd.Step(ref mu, ref bu, ref bi, p, q, 4.0, 0.1, 0.1, muRate: 0);
        Assert.Equal(1.1, e, 12);
        Assert.Equal(0.209, bu, 12);     // 0.1 + 0.1·(1.1 − 0.01)
        Assert.Equal(-0.088, bi, 12);    // −0.2 + 0.1·(1.1 + 0.02)
        Assert.Equal(0.605, p[0], 12);   // 0.5 + 0.1·(1.1·1 − 0.05)
        Assert.Equal(0.935, p[1], 12);   // 1 + 0.1·(1.1·(−0.5) − 0.1)
        Assert.Equal(1.045, q[0], 12);   // 1 + 0.1·(1.1·0.5 − 0.1)
        Assert.Equal(-0.385, q[1], 12);  // −0.5 + 0.1·(1.1·1 + 0.05)
        Assert.Equal(3.0, mu, 12);       // μ fixed when muRate = 0
    }

    [Fact]
    public void Sgd_step_with_mu_rate_moves_mu_along_the_error()
    {
        double mu = 3, bu = 0, bi = 0;
        double[] p = [0.0];
        double[] q = [0.0];
        Sgd.Step(ref mu, ref bu, ref bi, p, q, 4.0, 0.1, 0.0, muRate: 0.5);
        Assert.Equal(3.05, mu, 12); // 3 + 0.1·0.5·1
    }

    private static double Loss(double mu, double bu, double bi, double[] p, double[] q, double r, double reg)
    {
        var pred = mu + bu + bi + MatrixFactorizationModel.Dot(p, q);
        var e = r - pred;
        return (0.5 * e * e) + (0.5 * reg * ((bu * bu) + (bi * bi) + MatrixFactorizationModel.Dot(p, p) + MatrixFactorizationModel.Dot(q, q)));
    }

    [Fact]
    public void Sgd_step_is_minus_learning_rate_times_the_numerical_gradient()
    {
        var random = new Random(7);
        for (var trial = 0; trial < 50; trial++)
        {
            const int k = 4;
            const double lr = 0.05;
            var reg = random.NextDouble() * 0.2;
            var mu = 1 + (random.NextDouble() * 3);
            var bu = random.NextDouble() - 0.5;
            var bi = random.NextDouble() - 0.5;
            var p = Enumerable.Range(0, k).Select(_ => random.NextDouble() - 0.5).ToArray();
            var q = Enumerable.Range(0, k).Select(_ => random.NextDouble() - 0.5).ToArray();
            var r = 1 + (random.NextDouble() * 4);

            const double h = 1e-6;
            double Numeric(Func<double, double> lossAt, double x) => (lossAt(x + h) - lossAt(x - h)) / (2 * h);
            var gBu = Numeric(x => Loss(mu, x, bi, p, q, r, reg), bu);
            var gBi = Numeric(x => Loss(mu, bu, x, p, q, r, reg), bi);
            var gP = new double[k];
            var gQ = new double[k];
            for (var f = 0; f < k; f++)
            {
                var ff = f;
                gP[f] = Numeric(x => { var c = (double[])p.Clone(); c[ff] = x; return Loss(mu, bu, bi, c, q, r, reg); }, p[f]);
                gQ[f] = Numeric(x => { var c = (double[])q.Clone(); c[ff] = x; return Loss(mu, bu, bi, p, c, r, reg); }, q[f]);
            }

            double bu2 = bu, bi2 = bi, mu2 = mu;
            var p2 = (double[])p.Clone();
            var q2 = (double[])q.Clone();
            Sgd.Step(ref mu2, ref bu2, ref bi2, p2, q2, r, lr, reg, 0);
            Assert.Equal(-lr * gBu, bu2 - bu, 8);
            Assert.Equal(-lr * gBi, bi2 - bi, 8);
            for (var f = 0; f < k; f++)
            {
                Assert.Equal(-lr * gP[f], p2[f] - p[f], 8);
                Assert.Equal(-lr * gQ[f], q2[f] - q[f], 8);
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1025)]
    public void Hyperparameters_out_of_range_are_refused(int factors)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MfHyperparameters { Factors = factors }.Validate());
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void Learning_rate_out_of_range_is_refused(double lr)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MfHyperparameters { LearningRate = lr }.Validate());
    }

    [Fact]
    public void Centralized_training_is_deterministic_under_a_seed_and_depends_on_it()
    {
        var ds = SyntheticDataset.Generate(new SyntheticOptions { Users = 60, Items = 80, MedianRatingsPerUser = 20 }, 3);
        var hp = new MfHyperparameters { Factors = 4, Epochs = 5 };
        var a = CentralizedTrainer.Train(ds, hp, 11);
        var b = CentralizedTrainer.Train(ds, hp, 11);
        var c = CentralizedTrainer.Train(ds, hp, 12);
        Assert.Equal(a.Predict(3, 7), b.Predict(3, 7));
        Assert.NotEqual(a.Predict(3, 7), c.Predict(3, 7));
    }

    [Fact]
    public void Centralized_training_reduces_training_loss()
    {
        var ds = SyntheticDataset.Generate(new SyntheticOptions { Users = 100, Items = 120, MedianRatingsPerUser = 25 }, 4);
        var losses = new List<double>();
        CentralizedTrainer.Train(ds, new MfHyperparameters { Factors = 4, Epochs = 10 }, 1, (_, l) => losses.Add(l));
        Assert.Equal(10, losses.Count);
        Assert.True(losses[^1] < 0.8 * losses[0], $"loss {losses[0]} → {losses[^1]}");
    }

    [Fact]
    public void Predict_refuses_unknown_user_or_item()
    {
        var ds = SyntheticDataset.Generate(new SyntheticOptions { Users = 20, Items = 40, MinRatingsPerUser = 5, MedianRatingsPerUser = 10 }, 1);
        var m = CentralizedTrainer.Train(ds, new MfHyperparameters { Factors = 2, Epochs = 1 }, 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Predict(20, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Predict(0, -1));
    }
}
