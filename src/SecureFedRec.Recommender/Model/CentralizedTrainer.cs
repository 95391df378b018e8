using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Internal;

namespace SecureFedRec.Recommender.Model;

/// <summary>
/// The centralized baseline: biased MF trained by SGD on pooled ratings, μ fixed to the training mean (Funk/Koren
/// style, as in the Surprise library's SVD). Deterministic for a given seed. Stateless; thread-safe.
/// </summary>
public static class CentralizedTrainer
{
    /// <summary>Trains a model; <paramref name="epochLoss"/> (optional) receives each epoch's training RMSE.</summary>
    public static MatrixFactorizationModel Train(RatingDataset train, MfHyperparameters hyperparameters, ulong seed, Action<int, double>? epochLoss = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(hyperparameters);
        hyperparameters.Validate();
        var k = hyperparameters.Factors;
        var model = new MatrixFactorizationModel(train.UserCount, train.ItemCount, k);
        using (var init = Rng.ForPurpose(seed, "centralized-init"))
        {
            model.InitializeFactors(init, hyperparameters.InitStdDev);
        }

        var mu = train.Mean;
        model.GlobalMean = mu;
        var order = train.Ratings.ToArray();
        using var rng = Rng.ForPurpose(seed, "centralized-sgd");
        for (var epoch = 0; epoch < hyperparameters.Epochs; epoch++)
        {
            rng.Shuffle(order.AsSpan());
            var sq = 0.0;
            foreach (var r in order)
            {
                var e = Sgd.Step(
                    ref mu, ref model.UserBias[r.User], ref model.ItemBias[r.Item],
                    model.UserFactors.AsSpan(r.User * k, k), model.ItemFactors.AsSpan(r.Item * k, k),
                    r.Value, hyperparameters.LearningRate, hyperparameters.Regularization, muRate: 0);
                sq += e * e;
            }

            epochLoss?.Invoke(epoch, order.Length == 0 ? 0 : Math.Sqrt(sq / order.Length));
        }

        return model;
    }
}
