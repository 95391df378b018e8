using SecureFedRec.Protocol.Simulation;
using SecureFedRec.Recommender.Internal;

namespace SecureFedRec.Recommender.Federated;

/// <summary>
/// Secure aggregation without DP: each client's update is fixed-point encoded into Z_{2^b} (<c>FixedPointCodec</c>:
/// per-coordinate public bounds, b = 32 by default), the whole SecAgg round (Bonawitz et al., CCS 2017: advertise keys,
/// share keys, masked input, unmasking; full graph) runs through <see cref="InProcessRound"/> with the dropped clients
/// going silent after advertising their keys, and the modular sum is decoded. Threshold t = ⌊2n/3⌋ + 1, so up to
/// ⌈n/3⌉ − 1 dropouts are tolerated. A round the protocol does not complete throws <see cref="InvalidOperationException"/>
/// naming the outcome. Randomness is a seeded stream per round (reproducible simulation). Not thread-safe.
/// </summary>
public sealed class SecAggAggregator : IUpdateAggregator
{
    private readonly ulong seed;
    private readonly int bits;
    private readonly int threads;

    /// <summary>Creates the aggregator.</summary>
    /// <param name="seed">Seed of the protocol's randomness streams (keys, masks).</param>
    /// <param name="bits">Bits b of the modulus 2^b (8–32).</param>
    /// <param name="threads">Worker threads of the in-process round (0 = all cores).</param>
    public SecAggAggregator(ulong seed, int bits = 32, int threads = 0)
    {
        if (bits is < 8 or > 32)
        {
            throw new ArgumentOutOfRangeException(nameof(bits), bits, "bits must be in 8..32");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        this.seed = seed;
        this.bits = bits;
        this.threads = threads;
    }

    /// <inheritdoc />
    public string Name => "secagg";

    /// <inheritdoc />
    public bool AddsNoise => false;

    /// <summary>The Shamir threshold used for n clients: ⌊2n/3⌋ + 1 (at most n).</summary>
    public static int ThresholdFor(int clients) => Math.Min(clients, (2 * clients / 3) + 1);

    /// <inheritdoc />
    public AggregationResult Aggregate(int round, IReadOnlyList<double[]> inputs, IReadOnlyList<bool> dropped, AggregationContext context)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(dropped);
        ArgumentNullException.ThrowIfNull(context);
        var n = inputs.Count;
        var codec = new FixedPointCodec(context, n, bits);
        var encoded = inputs.Select(x => codec.Encode(x)).ToArray();
        var outcome = SecureSum.Run(round, encoded, dropped, bits, seed, threads, "secagg");
        return new AggregationResult(codec.Decode(outcome.Sum), outcome.Contributors.Count, (long)Math.Round(outcome.Metrics.MeanBytesSent), 0, "unmasked");
    }
}

/// <summary>Runs one in-process SecAgg round for the recommender's aggregators.</summary>
internal static class SecureSum
{
    public static SecAggOutcome Run(int round, IReadOnlyList<uint[]> encoded, IReadOnlyList<bool> dropped, int bits, ulong seed, int threads, string purpose)
    {
        var n = encoded.Count;
        if (n < 2)
        {
            throw new ArgumentException("secure aggregation needs at least 2 clients", nameof(encoded));
        }

        var config = new SecAggConfig(n, SecAggAggregator.ThresholdFor(n), encoded[0].Length, bits, Threads: threads) { RoundNumber = (ulong)round };
        var plan = new DropoutPlan();
        for (var j = 0; j < n; j++)
        {
            if (dropped[j])
            {
                plan.Drop(j + 1, DropPoint.AfterAdvertiseKeys);
            }
        }

        using var rng = Rng.ForPurpose(seed, $"{purpose}-round-{round}");
        var outcome = InProcessRound.Run(config, encoded, plan, rng.Source);
        if (!outcome.Completed)
        {
            throw new InvalidOperationException($"secure aggregation round {round} did not complete: {outcome.Outcome}");
        }

        return outcome;
    }
}
