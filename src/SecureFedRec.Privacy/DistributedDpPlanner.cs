using SecureFedRec.Privacy.Accounting;
using SecureFedRec.Privacy.Mechanism;

namespace SecureFedRec.Privacy;

/// <summary>What to plan for: a target (ε, δ) over a number of rounds and the round's shape.</summary>
public sealed record PlanRequest
{
    /// <summary>Target total ε over all <see cref="Rounds"/>.</summary>
    public required double TargetEpsilon { get; init; }

    /// <summary>Target δ.</summary>
    public required double Delta { get; init; }

    /// <summary>Number of rounds the budget must cover (RDP-composed).</summary>
    public required int Rounds { get; init; }

    /// <summary>Planned clients per round n.</summary>
    public required int PlannedClients { get; init; }

    /// <summary>Secure-aggregation threshold t: the fewest survivors accepted; σ is calibrated for t.</summary>
    public required int MinClients { get; init; }

    /// <summary>Model dimension d.</summary>
    public required int Dimension { get; init; }

    /// <summary>Bit width b of the modulus 2^b.</summary>
    public required int Bits { get; init; }

    /// <summary>L2 clip c.</summary>
    public required double Clip { get; init; }

    /// <summary>Conditional rounding β (default e^−0.5, as in KLS 2021's experiments).</summary>
    public double Beta { get; init; } = Math.Exp(-0.5);

    /// <summary>Standard deviations k for the bit budget (default 4, KLS 2021 §4.4).</summary>
    public double K { get; init; } = 4.0;

    /// <summary>Poisson sampling rate of clients (1 = no sampling amplification).</summary>
    public double SamplingRate { get; init; } = 1.0;
}

/// <summary>Why a plan is infeasible (closed vocabulary).</summary>
public enum PlanRefusalReason
{
    /// <summary>A request field is out of range.</summary>
    InvalidRequest = 1,

    /// <summary>b &lt; log₂ n: the modulus cannot even count the clients.</summary>
    BitsBelowLogClients = 2,

    /// <summary>2^(2b) &lt; n·k²: the summed noise alone does not fit k standard deviations into the modulus.</summary>
    BitBudgetTooSmall = 3,

    /// <summary>No σ up to the sampler's range reaches the target ε (rounds too many, t too small, or ε too small).</summary>
    TargetUnreachable = 4,

    /// <summary>No scale γ fits signal + rounding + noise of n clients into 2^b at the required k.</summary>
    NoScaleFits = 5,
}

/// <summary>A refusal with its reason and a message that says what to change.</summary>
/// <param name="Reason">The reason.</param>
/// <param name="Message">What failed and what to change.</param>
public sealed record PlanRefusal(PlanRefusalReason Reason, string Message);

/// <summary>A feasible plan.</summary>
/// <param name="Parameters">The round parameters to announce.</param>
/// <param name="EpsilonPerRound">ε of one round at t survivors (at δ).</param>
/// <param name="TotalEpsilon">ε of all rounds composed at t survivors (≤ target).</param>
/// <param name="Order">The optimal RDP order of the total.</param>
/// <param name="EffectiveK">Standard deviations actually fitted into the modulus: max(k, the decoder's detection bound).</param>
/// <param name="NoiseStdAtThreshold">Standard deviation of the summed noise per coordinate at t survivors, model units (√t·σ·γ).</param>
public sealed record DistributedDpPlan(MechanismParameters Parameters, double EpsilonPerRound, double TotalEpsilon, double Order, double EffectiveK, double NoiseStdAtThreshold);

/// <summary>
/// Chooses γ and σ for the distributed discrete Gaussian as KLS 2021 do (§4.4, <c>accounting_utils.ddgauss_params</c>):
/// for a given γ, σ is the smallest (bisection) that meets the target ε over all rounds with only t clients' noise;
/// γ is the smallest (finest grid, least rounding error) for which k standard deviations of the sum of n clients —
/// (n·c/γ)²/D + n/4 + n·σ² per coordinate — fit into 2^b. Here k is raised to the decoder's overflow-detection bound
/// when that is larger, so that an honest sum never trips the detector (see <see cref="DistributedDiscreteGaussianMechanism.Decode"/>).
/// σ² is rounded up to a rational with denominator 2^20 (more noise, never less). Pure and thread-safe; refuses
/// infeasible requests with a <see cref="PlanRefusal"/>.
/// </summary>
public static class DistributedDpPlanner
{
    private const ulong SigmaSquaredDenominator = 1UL << 20;
    private const double MaxSigma = 4.0e6;

    /// <summary>Plans, or explains why not.</summary>
    public static bool TryPlan(PlanRequest request, out DistributedDpPlan? plan, out PlanRefusal? refusal)
    {
        ArgumentNullException.ThrowIfNull(request);
        plan = null;
        refusal = Check(request);
        if (refusal is not null)
        {
            return false;
        }

        var d = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)request.Dimension);
        var kEff = Math.Max(request.K, DistributedDiscreteGaussianMechanism.DetectionStdDevs(d));
        var modulus = Math.Pow(2, request.Bits);

        // Scan γ from coarse to fine on a 2^(1/4) grid; keep the finest that fits; then refine by bisection.
        double? best = null;
        double? firstMiss = null;
        for (var j = -16; j <= 4 * (request.Bits + 40); j++)
        {
            var gamma = request.Clip * Math.Pow(2, -j / 4.0);
            var fit = Fits(request, gamma, kEff, modulus, out _);
            if (fit == FitResult.Unreachable && best is null && j == -16)
            {
                refusal = new PlanRefusal(PlanRefusalReason.TargetUnreachable, $"No σ ≤ {MaxSigma:G3} reaches ε = {request.TargetEpsilon:G6} over {request.Rounds} rounds with t = {request.MinClients}: raise ε, t or lower the rounds.");
                return false;
            }

            if (fit == FitResult.Fits)
            {
                best = gamma;
            }
            else if (best is not null || fit == FitResult.Unreachable)
            {
                firstMiss = gamma;
                break;
            }
        }

        if (best is null)
        {
            refusal = new PlanRefusal(PlanRefusalReason.NoScaleFits, $"No scale γ fits {kEff:G3} standard deviations of the sum of n = {request.PlannedClients} clients into 2^{request.Bits}: raise b, or lower n, d or the target accuracy.");
            return false;
        }

        if (firstMiss is not null)
        {
            double lo = Math.Log(firstMiss.Value), hi = Math.Log(best.Value);
            for (var i = 0; i < 16; i++)
            {
                var mid = (lo + hi) / 2;
                if (Fits(request, Math.Exp(mid), kEff, modulus, out _) == FitResult.Fits)
                {
                    hi = mid;
                }
                else
                {
                    lo = mid;
                }
            }

            best = Math.Exp(hi);
        }

        Fits(request, best.Value, kEff, modulus, out var parameters);
        var curve = DistributedDiscreteGaussianAccountant.RoundCurve(parameters!, request.MinClients);
        var perRound = curve.ToEpsilon(request.Delta).Epsilon;
        var total = curve.Compose(request.Rounds).ToEpsilon(request.Delta);
        plan = new DistributedDpPlan(parameters!, perRound, total.Epsilon, total.Order, kEff, Math.Sqrt(request.MinClients) * parameters!.Sigma * parameters.Gamma);
        return true;
    }

    /// <summary>Total ε over <paramref name="rounds"/> rounds with <paramref name="survivors"/> clients' noise, at δ.</summary>
    public static EpsilonAtOrder TotalEpsilon(MechanismParameters parameters, int rounds, int survivors, double delta)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rounds);
        return DistributedDiscreteGaussianAccountant.RoundCurve(parameters, survivors).Compose(rounds).ToEpsilon(delta);
    }

    private enum FitResult
    {
        Fits,
        TooWide,
        Unreachable,
    }

    private static PlanRefusal? Check(PlanRequest r)
    {
        string? bad = null;
        if (!(r.TargetEpsilon > 0) || double.IsInfinity(r.TargetEpsilon))
        {
            bad = "ε must be positive and finite";
        }
        else if (!(r.Delta > 0 && r.Delta < 1))
        {
            bad = "δ must be in (0, 1)";
        }
        else if (r.Rounds < 1)
        {
            bad = "rounds must be ≥ 1";
        }
        else if (r.PlannedClients < 1 || r.MinClients < 1 || r.MinClients > r.PlannedClients)
        {
            bad = $"need 1 ≤ t ≤ n (t = {r.MinClients}, n = {r.PlannedClients})";
        }
        else if (r.Dimension < 1 || r.Dimension > (1 << 26))
        {
            bad = "dimension must be in [1, 2^26]";
        }
        else if (r.Bits < 1 || r.Bits > 32)
        {
            bad = "bits must be in [1, 32] (the secure aggregation works on uint coordinates)";
        }
        else if (!(r.Clip > 0) || double.IsInfinity(r.Clip))
        {
            bad = "clip must be positive and finite";
        }
        else if (!(r.Beta >= 0 && r.Beta < 1))
        {
            bad = "β must be in [0, 1)";
        }
        else if (!(r.K >= 1) || double.IsInfinity(r.K))
        {
            bad = "k must be ≥ 1";
        }
        else if (!(r.SamplingRate > 0 && r.SamplingRate <= 1))
        {
            bad = "the sampling rate must be in (0, 1]";
        }

        if (bad is not null)
        {
            return new PlanRefusal(PlanRefusalReason.InvalidRequest, bad + ".");
        }

        if (Math.Pow(2, r.Bits) < r.PlannedClients)
        {
            return new PlanRefusal(PlanRefusalReason.BitsBelowLogClients, $"b = {r.Bits} < log2(n) = {Math.Log2(r.PlannedClients):G4}: raise b to at least {Math.Ceiling(Math.Log2(r.PlannedClients))}.");
        }

        if (Math.Pow(2, 2.0 * r.Bits) < r.PlannedClients * r.K * r.K)
        {
            return new PlanRefusal(PlanRefusalReason.BitBudgetTooSmall, $"2^(2b) = 2^{2 * r.Bits} < n·k² = {r.PlannedClients * r.K * r.K:G6}: raise b, or lower n or k.");
        }

        return null;
    }

    private static MechanismParameters With(PlanRequest r, double gamma, ulong sigmaSqNum, ulong sigmaSqDen) => new()
    {
        Dimension = r.Dimension,
        Bits = r.Bits,
        Clip = r.Clip,
        Gamma = gamma,
        Beta = r.Beta,
        SigmaSquaredNumerator = sigmaSqNum,
        SigmaSquaredDenominator = sigmaSqDen,
        PlannedClients = r.PlannedClients,
        MinClients = r.MinClients,
        Delta = r.Delta,
        SamplingRate = r.SamplingRate,
        K = r.K,
    };

    private static (ulong Num, ulong Den) Rational(double sigma)
    {
        var sq = sigma * sigma;
        return sq <= Math.Pow(2, 43)
            ? ((ulong)Math.Ceiling(sq * SigmaSquaredDenominator), SigmaSquaredDenominator)
            : ((ulong)Math.Ceiling(sq), 1UL);
    }

    private static double Total(PlanRequest r, double gamma, double sigma)
    {
        var (num, den) = Rational(sigma);
        var p = With(r, gamma, num, den);
        return DistributedDiscreteGaussianAccountant.RoundCurve(p, r.MinClients).Compose(r.Rounds).ToEpsilon(r.Delta).Epsilon;
    }

    private static FitResult Fits(PlanRequest r, double gamma, double kEff, double modulus, out MechanismParameters? parameters)
    {
        parameters = null;
        // Smallest σ (integer domain) meeting the target: bracket by doubling, then bisect in log space.
        double hi = 1.0 / 64;
        while (Total(r, gamma, hi) > r.TargetEpsilon)
        {
            hi *= 2;
            if (hi > MaxSigma)
            {
                return FitResult.Unreachable;
            }
        }

        var lo = hi / 2;
        if (Total(r, gamma, lo) <= r.TargetEpsilon)
        {
            lo = 1e-9;
        }

        for (var i = 0; i < 40 && hi / lo > 1 + 1e-7; i++)
        {
            var mid = Math.Sqrt(lo * hi);
            if (Total(r, gamma, mid) <= r.TargetEpsilon)
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }

        var (num, den) = Rational(hi);
        parameters = With(r, gamma, num, den);
        var width = 2 * kEff * Math.Sqrt(DistributedDiscreteGaussianMechanism.SumVarianceProxy(parameters, r.PlannedClients));
        // +2: the decoder's coordinate bound is ⌈k·s⌉ and must stay below 2^(b−1) (see Decode).
        return width + 2 <= modulus ? FitResult.Fits : FitResult.TooWide;
    }
}
