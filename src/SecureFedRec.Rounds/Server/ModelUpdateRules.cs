namespace SecureFedRec.Rounds.Server;

/// <summary>
/// The server's model-update rule: how a released aggregate moves the shared model. Injected into the round host (the
/// coordinator's CLI registers the recommender's rule). Implementations may keep optimizer state across rounds; the host
/// calls <see cref="Apply"/> once per released round, from one thread at a time.
/// </summary>
public interface IModelUpdateRule
{
    /// <summary>Short name for logs and reports.</summary>
    string Name { get; }

    /// <summary>
    /// The next model from <paramref name="model"/> and the decoded (for DP, noised) sum of <paramref name="contributors"/>
    /// clients' updates. Must not modify <paramref name="model"/> or <paramref name="sum"/>.
    /// </summary>
    double[] Apply(IReadOnlyList<double> model, IReadOnlyList<double> sum, int contributors);
}

/// <summary>FedAvg (McMahan et al. 2017) on the server: model + η·(sum / contributors). Stateless.</summary>
public sealed class FedAvgRule : IModelUpdateRule
{
    /// <summary>Creates the rule with server learning rate η (default 1: plain averaging).</summary>
    public FedAvgRule(double learningRate = 1.0)
    {
        if (!(learningRate > 0) || !double.IsFinite(learningRate))
        {
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be positive and finite.");
        }

        LearningRate = learningRate;
    }

    /// <summary>Server learning rate η.</summary>
    public double LearningRate { get; }

    /// <inheritdoc />
    public string Name => "fedavg";

    /// <inheritdoc />
    public double[] Apply(IReadOnlyList<double> model, IReadOnlyList<double> sum, int contributors)
    {
        ModelRuleChecks.Check(model, sum, contributors);
        var next = new double[model.Count];
        for (int i = 0; i < next.Length; i++)
        {
            next[i] = model[i] + (LearningRate * sum[i] / contributors);
        }

        return next;
    }
}

/// <summary>
/// FedAdam (Reddi et al., "Adaptive Federated Optimization", ICLR 2021, Alg. 2): the mean update Δ = sum/contributors is
/// a pseudo-gradient; m ← β₁m + (1−β₁)Δ, v ← β₂v + (1−β₂)Δ², model ← model + η·m/(√v + τ). No bias correction, as in the
/// paper. Keeps m and v across rounds (not thread-safe; the host calls it from one thread).
/// </summary>
public sealed class FedAdamRule : IModelUpdateRule
{
    private double[]? _m;
    private double[]? _v;

    /// <summary>Creates the rule (defaults from Reddi et al. §5: η = 0.01, β₁ = 0.9, β₂ = 0.99, τ = 10⁻³).</summary>
    public FedAdamRule(double learningRate = 0.01, double beta1 = 0.9, double beta2 = 0.99, double tau = 1e-3)
    {
        if (!(learningRate > 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(tau > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(learningRate), "η > 0, β₁, β₂ in [0, 1) and τ > 0 are required.");
        }

        (LearningRate, Beta1, Beta2, Tau) = (learningRate, beta1, beta2, tau);
    }

    /// <summary>η.</summary>
    public double LearningRate { get; }

    /// <summary>β₁.</summary>
    public double Beta1 { get; }

    /// <summary>β₂.</summary>
    public double Beta2 { get; }

    /// <summary>τ (adaptivity).</summary>
    public double Tau { get; }

    /// <inheritdoc />
    public string Name => "fedadam";

    /// <inheritdoc />
    public double[] Apply(IReadOnlyList<double> model, IReadOnlyList<double> sum, int contributors)
    {
        ModelRuleChecks.Check(model, sum, contributors);
        int d = model.Count;
        if (_m is null || _m.Length != d)
        {
            _m = new double[d];
            _v = new double[d];
        }

        var next = new double[d];
        for (int i = 0; i < d; i++)
        {
            double delta = sum[i] / contributors;
            _m[i] = (Beta1 * _m[i]) + ((1 - Beta1) * delta);
            _v![i] = (Beta2 * _v[i]) + ((1 - Beta2) * delta * delta);
            next[i] = model[i] + (LearningRate * _m[i] / (Math.Sqrt(_v[i]) + Tau));
        }

        return next;
    }
}

internal static class ModelRuleChecks
{
    public static void Check(IReadOnlyList<double> model, IReadOnlyList<double> sum, int contributors)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sum);
        ArgumentOutOfRangeException.ThrowIfLessThan(contributors, 1);
        if (model.Count != sum.Count)
        {
            throw new ArgumentException($"The sum has {sum.Count} values; the model has {model.Count}.", nameof(sum));
        }
    }
}
