using SecureFedRec.Recommender.Model;

namespace SecureFedRec.Recommender.Federated;

/// <summary>Server-side optimizer applied to the aggregated pseudo-gradient (Reddi et al., ICLR 2021, Alg. 2).</summary>
public enum ServerOptimizerKind
{
    /// <summary>FedAvg: θ ← θ + η·Δ̄.</summary>
    FedAvg = 0,

    /// <summary>FedAdam: Adam moments on Δ̄ with τ-regularized denominator.</summary>
    FedAdam = 1,
}

/// <summary>Deployment shape.</summary>
public enum ClientShape
{
    /// <summary>Cross-silo: a client is an institution holding many users.</summary>
    Silo = 0,

    /// <summary>Cross-device: a client is one user.</summary>
    Device = 1,
}

/// <summary>
/// Configuration of a federated simulation. Local training uses <see cref="Hyperparameters"/> (factors, learning rate,
/// regularization, init) with <see cref="LocalEpochs"/> passes per round. Immutable; validated by <see cref="Validate"/>.
/// </summary>
public sealed record FederatedOptions
{
    /// <summary>Model hyperparameters shared with the centralized baseline.</summary>
    public MfHyperparameters Hyperparameters { get; init; } = new();

    /// <summary>Rounds of federated training.</summary>
    public int Rounds { get; init; } = 30;

    /// <summary>Local passes over a client's ratings per round.</summary>
    public int LocalEpochs { get; init; } = 1;

    /// <summary>Server optimizer.</summary>
    public ServerOptimizerKind Optimizer { get; init; } = ServerOptimizerKind.FedAvg;

    /// <summary>Server learning rate η (FedAvg: 1 = plain averaging).</summary>
    public double ServerLearningRate { get; init; } = 1.0;

    /// <summary>FedAdam β₁.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>FedAdam β₂.</summary>
    public double Beta2 { get; init; } = 0.99;

    /// <summary>FedAdam τ (adaptivity).</summary>
    public double Tau { get; init; } = 1e-3;

    /// <summary>Deployment shape (informational for reports; the partition decides who holds whom).</summary>
    public ClientShape Shape { get; init; } = ClientShape.Silo;

    /// <summary>Fraction of planned participants that drop out after local training in each round, in [0, 0.5].</summary>
    public double DropoutRate { get; init; }

    /// <summary>
    /// User-level L2 clip bound C on each user's item-side delta; null = no clipping (joint local training, counts as
    /// weights). Required by the DP aggregator: each user's contribution to the sum is then at most C in L2 norm.
    /// </summary>
    public double? UserClipNorm { get; init; }

    /// <summary>Fraction of clients sampled per round (1 = all), e.g. for the cross-device shape.</summary>
    public double ClientFraction { get; init; } = 1.0;

    /// <summary>Seed of every random stream of the simulation (initialisation, shuffles, sampling, dropouts).</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a value outside its range.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Hyperparameters);
        Hyperparameters.Validate();
        if (Rounds < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Rounds), Rounds, "rounds must be non-negative");
        }

        if (LocalEpochs < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(LocalEpochs), LocalEpochs, "at least one local epoch");
        }

        if (!(ServerLearningRate > 0 && ServerLearningRate <= 1000))
        {
            throw new ArgumentOutOfRangeException(nameof(ServerLearningRate), ServerLearningRate, "server learning rate must be in (0, 1000]");
        }

        if (!(Beta1 is >= 0 and < 1) || !(Beta2 is >= 0 and < 1) || !(Tau > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(Beta1), "FedAdam needs 0 ≤ β₁, β₂ < 1 and τ > 0");
        }

        if (!(DropoutRate is >= 0 and <= 0.5))
        {
            throw new ArgumentOutOfRangeException(nameof(DropoutRate), DropoutRate, "dropout rate must be in [0, 0.5]");
        }

        if (UserClipNorm is { } c && !(c > 0 && double.IsFinite(c)))
        {
            throw new ArgumentOutOfRangeException(nameof(UserClipNorm), c, "clip norm must be positive and finite");
        }

        if (!(ClientFraction > 0 && ClientFraction <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(ClientFraction), ClientFraction, "client fraction must be in (0, 1]");
        }
    }
}
