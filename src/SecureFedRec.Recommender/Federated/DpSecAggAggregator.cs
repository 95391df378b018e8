using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using SecureFedRec.Privacy;
using SecureFedRec.Privacy.Accounting;
using SecureFedRec.Privacy.Mechanism;
using SecureFedRec.Recommender.Internal;

namespace SecureFedRec.Recommender.Federated;

/// <summary>Target privacy of a <see cref="DpSecAggAggregator"/> run.</summary>
/// <param name="Epsilon">Total ε over <paramref name="Rounds"/> rounds (user-level), &gt; 0 and finite.</param>
/// <param name="Delta">δ of the (ε, δ) guarantee, in (0, 1).</param>
/// <param name="Rounds">Planned rounds the budget is spread over.</param>
public sealed record DpTarget(double Epsilon, double Delta, int Rounds);

/// <summary>
/// Secure aggregation with distributed DP (Kairouz, Liu, Steinke, ICML 2021): every client encodes its update with
/// <see cref="DistributedDiscreteGaussianMechanism"/> (rotation, scaling by 1/γ, randomized rounding, exact discrete
/// Gaussian noise N_Z(0, σ²), wrap into Z_{2^32}), the SecAgg round sums the encodings (<see cref="SecAggAggregator"/>'s
/// driver and threshold), and the coordinator decodes. Privacy is user-level: each user's item-side delta is clipped to
/// C inside its client, so one user moves the sum by at most C before rounding; with unconditional rounding coupled
/// between neighbours the scaled L2 sensitivity is C/γ + √D (KLS 2021, Thm. 1 first bound). γ = C/(100·√D), so rounding
/// costs about 1% of sensitivity. σ is calibrated once, by bisection, so that <see cref="DpTarget.Rounds"/> rounds with
/// only the threshold t of clients contributing noise reach the target ε at δ; each round is then charged with the
/// actual number of contributors (RDP composition, <see cref="DistributedDiscreteGaussianAccountant.RoundCurve"/>),
/// and <see cref="AggregationResult.EpsilonSpent"/> is the cumulative ε. A decode failure (wrapped sum) throws
/// <see cref="InvalidOperationException"/>. Not thread-safe.
/// </summary>
public sealed class DpSecAggAggregator : IUpdateAggregator
{
    private const int Bits = 32;
    private readonly DpTarget target;
    private readonly ulong seed;
    private readonly int threads;
    private DistributedDiscreteGaussianMechanism? mechanism;
    private MechanismParameters? accounting;
    private int plannedClients;
    private RdpCurve? spent;

    /// <summary>Creates the aggregator.</summary>
    /// <exception cref="ArgumentOutOfRangeException">ε not positive and finite, δ outside (0, 1), or rounds &lt; 1.</exception>
    public DpSecAggAggregator(DpTarget target, ulong seed, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!(target.Epsilon > 0) || !double.IsFinite(target.Epsilon))
        {
            throw new ArgumentOutOfRangeException(nameof(target), target.Epsilon, "ε must be positive and finite (use the secagg aggregator for ε = ∞)");
        }

        if (!(target.Delta > 0 && target.Delta < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(target), target.Delta, "δ must be in (0, 1)");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(target.Rounds, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        this.target = target;
        this.seed = seed;
        this.threads = threads;
    }

    /// <inheritdoc />
    public string Name => "secagg+dp";

    /// <inheritdoc />
    public bool AddsNoise => true;

    /// <summary>The mechanism's parameters once the first round has fixed them (null before).</summary>
    public MechanismParameters? Parameters => mechanism?.Parameters;

    /// <summary>Central noise standard deviation on the sum relative to the user clip C, with t contributors (null before the first round).</summary>
    public double? NoiseMultiplier => accounting is null ? null : Math.Sqrt(accounting.MinClients) * accounting.Sigma * accounting.Gamma / accounting.Clip;

    /// <inheritdoc />
    public AggregationResult Aggregate(int round, IReadOnlyList<double[]> inputs, IReadOnlyList<bool> dropped, AggregationContext context)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(dropped);
        ArgumentNullException.ThrowIfNull(context);
        if (context.UserClipNorm is not { } userClip)
        {
            throw new ArgumentException("distributed DP needs the user-level clip bound", nameof(context));
        }

        if (mechanism is null || plannedClients != inputs.Count || mechanism.Parameters.Dimension != context.Layout.Length)
        {
            Calibrate(context.Layout.Length, userClip, context.MaxUsersPerClient, inputs.Count);
        }

        var roundSeed = RoundSeed(round);
        var encoded = new uint[inputs.Count][];
        using (var rng = Rng.ForPurpose(seed, $"dp-encode-round-{round}"))
        {
            for (var j = 0; j < inputs.Count; j++)
            {
                encoded[j] = mechanism!.Encode(inputs[j], roundSeed, rng.Source);
            }
        }

        var outcome = SecureSum.Run(round, encoded, dropped, Bits, seed, threads, "secagg-dp");
        var contributors = outcome.Contributors.Count;
        var decoded = mechanism!.Decode(outcome.Sum, contributors, roundSeed);

        // Charge before releasing anything (the decoded sum is the release).
        var curve = DistributedDiscreteGaussianAccountant.RoundCurve(accounting!, contributors);
        spent = spent is null ? curve : spent.Plus(curve);
        var epsilon = spent.ToEpsilon(target.Delta).Epsilon;
        if (!decoded.Succeeded)
        {
            throw new InvalidOperationException($"round {round}: the noisy sum could not be decoded ({decoded.Failure})");
        }

        var sum = decoded.Sum!.Take(context.Layout.Length).ToArray();
        return new AggregationResult(sum, contributors, (long)Math.Round(outcome.Metrics.MeanBytesSent), epsilon, "decoded");
    }

    /// <summary>Fixes γ, σ² and the accounting parameters for d coordinates and n planned clients.</summary>
    private void Calibrate(int dimension, double userClip, int maxUsersPerClient, int clients)
    {
        var padded = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)dimension);
        var gamma = userClip / (100 * Math.Sqrt(padded));
        var t = SecAggAggregator.ThresholdFor(clients);
        MechanismParameters With(double sigmaSquared, double clip) => new()
        {
            Dimension = dimension,
            Bits = Bits,
            Clip = clip,
            Gamma = gamma,
            Beta = 0,
            SigmaSquaredNumerator = (ulong)Math.Ceiling(sigmaSquared * 1024),
            SigmaSquaredDenominator = 1024,
            PlannedClients = clients,
            MinClients = t,
            Delta = target.Delta,
        };

        double EpsilonFor(double sigma) =>
            DistributedDiscreteGaussianAccountant.RoundCurve(With(sigma * sigma, userClip), t).Compose(target.Rounds).ToEpsilon(target.Delta).Epsilon;

        // ε decreases in σ: bisection in log space between σ = 1 and σ = 2^40.
        double lo = 0, hi = 40;
        if (EpsilonFor(Math.Pow(2, hi)) > target.Epsilon)
        {
            throw new InvalidOperationException($"the target ε = {target.Epsilon} is unreachable for d = {dimension} over {target.Rounds} rounds");
        }

        for (var iteration = 0; iteration < 60; iteration++)
        {
            var mid = (lo + hi) / 2;
            if (EpsilonFor(Math.Pow(2, mid)) > target.Epsilon)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        var sigmaSq = Math.Pow(2, 2 * hi);
        accounting = With(sigmaSq, userClip);
        var encoding = With(sigmaSq, Math.Max(userClip, maxUsersPerClient * userClip));
        encoding.Validate();
        mechanism = new DistributedDiscreteGaussianMechanism(encoding);
        plannedClients = clients;
        spent = null;
    }

    /// <summary>Public per-round seed of the Hadamard rotation: SHA-256("SecureFedRec/v1/recommender/rotation" ‖ seed ‖ round).</summary>
    private byte[] RoundSeed(int round)
    {
        var label = Encoding.UTF8.GetBytes("SecureFedRec/v1/recommender/rotation\0");
        var input = new byte[label.Length + 12];
        label.CopyTo(input, 0);
        BinaryPrimitives.WriteUInt64BigEndian(input.AsSpan(label.Length), seed);
        BinaryPrimitives.WriteInt32BigEndian(input.AsSpan(label.Length + 8), round);
        return SHA256.HashData(input);
    }
}
