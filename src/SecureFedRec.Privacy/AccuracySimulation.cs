using SecureFedRec.Crypto;
using SecureFedRec.Privacy.Mechanism;

namespace SecureFedRec.Privacy;

/// <summary>The measured accuracy cost of a plan's noise.</summary>
/// <param name="Trials">Rounds simulated.</param>
/// <param name="Survivors">Clients whose contributions were summed per round.</param>
/// <param name="RelativeError">Mean over trials of ‖decoded − true sum‖₂ / ‖true sum‖₂.</param>
/// <param name="RmsErrorPerCoordinate">Root mean square of (decoded − true) over all coordinates and trials, model units.</param>
/// <param name="PredictedRmsPerCoordinate">γ·√(m·(σ² + 1/4)): the plan's upper prediction (rounding variance ≤ 1/4).</param>
/// <param name="DecodeFailures">Rounds whose sum was withheld (should be 0 for a plan).</param>
/// <param name="MeanTrueNorm">Mean ‖true sum‖₂.</param>
public sealed record AccuracyReport(int Trials, int Survivors, double RelativeError, double RmsErrorPerCoordinate, double PredictedRmsPerCoordinate, int DecodeFailures, double MeanTrueNorm);

/// <summary>
/// Measures the accuracy cost of a plan: m clients each hold c·normalize(u + v_i) (a shared direction u plus an
/// individual one v_i, entries uniform in [−½, ½) — half-aligned updates, as in federated training), encode with the
/// mechanism, their encodings are summed modulo 2^b (what secure aggregation outputs: the masks cancel exactly), and the
/// coordinator decodes. Reproducible: all randomness (inputs, rounding, noise) comes from a
/// <see cref="DeterministicRandomSource"/> seeded from <c>seed</c>; for measurement only, never for a real round.
/// </summary>
public static class AccuracySimulation
{
    /// <summary>Runs <paramref name="trials"/> rounds of <paramref name="survivors"/> clients under <paramref name="parameters"/>.</summary>
    public static AccuracyReport Run(MechanismParameters parameters, int survivors, int trials, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(survivors, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(survivors, parameters.PlannedClients);
        ArgumentOutOfRangeException.ThrowIfLessThan(trials, 1);
        var mech = new DistributedDiscreteGaussianMechanism(parameters);
        using var rng = DeterministicRandomSource.FromTestSeed(seed);
        var d = parameters.Dimension;
        var mask = parameters.Bits == 32 ? uint.MaxValue : (1u << parameters.Bits) - 1;
        double relSum = 0, sqErr = 0, normSum = 0;
        var failures = 0;
        var counted = 0;
        for (var trial = 0; trial < trials; trial++)
        {
            var roundSeed = new byte[32];
            rng.Fill(roundSeed);
            var shared = RandomVector(d, rng);
            var truth = new double[d];
            var sum = new uint[parameters.PaddedDimension];
            for (var c = 0; c < survivors; c++)
            {
                var x = RandomVector(d, rng);
                for (var i = 0; i < d; i++)
                {
                    x[i] += shared[i];
                }

                var norm = Math.Sqrt(x.Sum(v => v * v));
                for (var i = 0; i < d; i++)
                {
                    x[i] *= parameters.Clip / norm;
                    truth[i] += x[i];
                }

                var enc = mech.Encode(x, roundSeed, rng);
                for (var i = 0; i < sum.Length; i++)
                {
                    sum[i] = unchecked(sum[i] + enc[i]) & mask;
                }
            }

            var result = mech.Decode(sum, survivors, roundSeed);
            var trueNorm = Math.Sqrt(truth.Sum(v => v * v));
            normSum += trueNorm;
            if (!result.Succeeded)
            {
                failures++;
                continue;
            }

            var err = 0.0;
            for (var i = 0; i < d; i++)
            {
                var e = result.Sum![i] - truth[i];
                err += e * e;
            }

            sqErr += err;
            relSum += Math.Sqrt(err) / trueNorm;
            counted++;
        }

        var predicted = parameters.Gamma * Math.Sqrt(survivors * ((parameters.Sigma * parameters.Sigma) + 0.25));
        return new AccuracyReport(trials, survivors, counted == 0 ? double.NaN : relSum / counted,
            counted == 0 ? double.NaN : Math.Sqrt(sqErr / (counted * (double)d)), predicted, failures, normSum / trials);
    }

    private static double[] RandomVector(int d, RandomSource rng)
    {
        var v = new double[d];
        for (var i = 0; i < d; i++)
        {
            v[i] = rng.NextDoubleForNonPrivacyUse() - 0.5;
        }

        return v;
    }
}
