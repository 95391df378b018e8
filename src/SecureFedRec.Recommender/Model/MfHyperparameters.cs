namespace SecureFedRec.Recommender.Model;

/// <summary>
/// Hyperparameters of biased matrix factorization trained by SGD (Koren, Bell, Volinsky, IEEE Computer 2009, eq. 5).
/// The same values drive the centralized baseline and each client's local training. Immutable.
/// </summary>
public sealed record MfHyperparameters
{
    /// <summary>Latent factors per user and item (1–1024).</summary>
    public int Factors { get; init; } = 16;

    /// <summary>Passes over the training data (centralized) or over the local data per round (federated).</summary>
    public int Epochs { get; init; } = 25;

    /// <summary>SGD step size.</summary>
    public double LearningRate { get; init; } = 0.01;

    /// <summary>L2 regularization of biases and factors.</summary>
    public double Regularization { get; init; } = 0.05;

    /// <summary>Standard deviation of the Gaussian initialisation of the factors.</summary>
    public double InitStdDev { get; init; } = 0.1;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a value outside its range.</summary>
    public void Validate()
    {
        if (Factors is < 1 or > 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(Factors), Factors, "factors must be in 1..1024");
        }

        if (Epochs < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "epochs must be non-negative");
        }

        if (!(LearningRate > 0 && LearningRate < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "learning rate must be in (0, 1)");
        }

        if (!(Regularization >= 0 && Regularization < 10))
        {
            throw new ArgumentOutOfRangeException(nameof(Regularization), Regularization, "regularization must be in [0, 10)");
        }

        if (!(InitStdDev >= 0 && InitStdDev < 10))
        {
            throw new ArgumentOutOfRangeException(nameof(InitStdDev), InitStdDev, "init std-dev must be in [0, 10)");
        }
    }
}
