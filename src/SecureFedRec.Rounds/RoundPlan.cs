using SecureFedRec.Privacy;
using SecureFedRec.Protocol.Graph;
using SecureFedRec.Protocol.Wire;
using GraphKind = SecureFedRec.Protocol.Graph.GraphKind;

namespace SecureFedRec.Rounds;

/// <summary>Which neighbour graph a round uses.</summary>
public enum GraphSelection
{
    /// <summary>Full graph below <see cref="RoundSettings.HararyFromClients"/> clients, Harary from there on.</summary>
    Auto = 0,

    /// <summary>Always the complete graph (Bonawitz et al. 2017).</summary>
    Full = 1,

    /// <summary>Always a Harary graph with the degree and threshold of <see cref="GraphParameterFinder"/> (Bell et al. 2020).</summary>
    Harary = 2,
}

/// <summary>
/// What an operator (coordinator options) or a simulation asks of every round. The same defaults apply to the
/// coordinator, the SDK and <c>simulate</c>. Immutable.
/// </summary>
public sealed record RoundSettings
{
    /// <summary>Default threshold fraction t/n (full graph).</summary>
    public const double DefaultThresholdFraction = 2.0 / 3.0;

    /// <summary>Update length d.</summary>
    public required int Dimension { get; init; }

    /// <summary>Bits b of the modulus 2^b (default 32).</summary>
    public int Bits { get; init; } = 32;

    /// <summary>L2 clip: of the whole update per institution, of each user's update per user.</summary>
    public required double Clip { get; init; }

    /// <summary>The privacy unit (default per institution).</summary>
    public PrivacyUnit Privacy { get; init; } = PrivacyUnit.Institution;

    /// <summary>Most users one client holds (per-user privacy only).</summary>
    public int MaxUsersPerClient { get; init; } = 1;

    /// <summary>Target total ε over <see cref="PlannedRounds"/> rounds; null for the not-private fixed-point comparison.</summary>
    public double? TargetEpsilon { get; init; }

    /// <summary>δ of the guarantee.</summary>
    public double Delta { get; init; } = 1e-5;

    /// <summary>Rounds the budget is spread over.</summary>
    public int PlannedRounds { get; init; } = 10;

    /// <summary>Threat mode of the secure aggregation.</summary>
    public ThreatMode Mode { get; init; } = ThreatMode.HonestButCurious;

    /// <summary>Threshold fraction t/n on the full graph (see <see cref="RoundPlanner.Threshold"/>).</summary>
    public double ThresholdFraction { get; init; } = DefaultThresholdFraction;

    /// <summary>Graph selection.</summary>
    public GraphSelection Graph { get; init; } = GraphSelection.Auto;

    /// <summary>With <see cref="GraphSelection.Auto"/>, cohorts of at least this many clients use a Harary graph.</summary>
    public int HararyFromClients { get; init; } = 500;

    /// <summary>Harary: largest fraction of clients that may collude with the coordinator (γ of Bell et al.).</summary>
    public double CollusionFraction { get; init; } = 0.1;

    /// <summary>Harary: largest fraction of clients that may drop out (δ of Bell et al.).</summary>
    public double DropoutFraction { get; init; } = 0.1;

    /// <summary>Public per-coordinate bounds for the not-private fixed-point encoding (null: ±<see cref="Clip"/> everywhere).</summary>
    public IReadOnlyList<double>? FixedPointBounds { get; init; }
}

/// <summary>The plan of one round: its contract and the secure-aggregation shape.</summary>
/// <param name="Contract">The public round contract.</param>
/// <param name="Threshold">Shamir threshold t.</param>
/// <param name="Graph">Neighbour graph kind.</param>
/// <param name="Degree">Graph degree k.</param>
/// <param name="TotalEpsilon">ε of all planned rounds at t survivors (0 when not private).</param>
public sealed record RoundPlan(RoundContract Contract, int Threshold, GraphKind Graph, int Degree, double TotalEpsilon);

/// <summary>Why a round cannot be planned (closed vocabulary).</summary>
public enum RoundPlanRefusal
{
    /// <summary>Not refused.</summary>
    None = 0,

    /// <summary>Fewer than two clients, or a settings field out of range.</summary>
    InvalidSettings = 1,

    /// <summary>The DP planner found no feasible (γ, σ) (see the detail for its reason).</summary>
    DpInfeasible = 2,

    /// <summary>The graph parameter finder refused the cohort size or fractions.</summary>
    GraphInfeasible = 3,

    /// <summary>The fixed-point encoding cannot hold n clients' coordinates in b bits.</summary>
    FixedPointOverflow = 4,
}

/// <summary>
/// Plans rounds, once for every host: ONE <see cref="DistributedDpPlanner"/> call, ONE threshold rule
/// (<see cref="Threshold"/>), ONE rotation-seed derivation (<see cref="RoundContract.RotationSeedFor"/>), the graph
/// choice, and the not-private comparison plan. Pure and thread-safe.
/// </summary>
public static class RoundPlanner
{
    /// <summary>
    /// The threshold rule on the full graph: t = clamp(⌈f·n⌉, 2, n), raised to ⌊n/2⌋ + 1 in malicious mode (the protocol
    /// needs 2t &gt; n against a malicious coordinator). On a Harary graph t comes from the graph parameter finder.
    /// </summary>
    public static int Threshold(int clients, double fraction, ThreatMode mode)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(clients, 2);
        if (!(fraction > 0 && fraction <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The threshold fraction must be in (0, 1].");
        }

        int t = (int)Math.Ceiling((fraction * clients) - 1e-9);
        if (mode == ThreatMode.Malicious)
        {
            t = Math.Max(t, (clients / 2) + 1);
        }

        return Math.Clamp(t, 2, clients);
    }

    /// <summary>Plans round <paramref name="roundId"/> for <paramref name="clients"/> clients, or says why not.</summary>
    public static bool TryPlan(RoundSettings settings, ulong roundId, ulong modelVersion, int clients,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RoundPlan? plan, out RoundPlanRefusal refusal, out string? detail)
    {
        ArgumentNullException.ThrowIfNull(settings);
        plan = null;
        refusal = RoundPlanRefusal.InvalidSettings;
        detail = CheckSettings(settings, clients);
        if (detail is not null)
        {
            return false;
        }

        GraphKind graph;
        int degree;
        int t;
        bool harary = settings.Graph == GraphSelection.Harary || (settings.Graph == GraphSelection.Auto && clients >= settings.HararyFromClients);
        if (harary)
        {
            GraphParameters found;
            try
            {
                found = GraphParameterFinder.Find(clients, settings.CollusionFraction, settings.DropoutFraction,
                    settings.Mode == ThreatMode.Malicious ? ThreatModel.SemiMalicious : ThreatModel.HonestButCurious);
            }
            catch (ArgumentException ex)
            {
                refusal = RoundPlanRefusal.GraphInfeasible;
                detail = ex.Message;
                return false;
            }

            (graph, degree, t) = (found.Kind, found.Degree, found.Threshold);
        }
        else
        {
            (graph, degree, t) = (GraphKind.Full, clients - 1, Threshold(clients, settings.ThresholdFraction, settings.Mode));
        }

        if (settings.TargetEpsilon is not { } epsilon)
        {
            return TryPlanFixedPoint(settings, roundId, modelVersion, clients, t, graph, degree, out plan, out refusal, out detail);
        }

        bool perUser = settings.Privacy == PrivacyUnit.User;
        int m = perUser ? settings.MaxUsersPerClient : 1;

        // One planner call. Per user, the modulus must hold n silos of up to m users each (sized as n·m contributions
        // of clip C), σ is calibrated at sensitivity C with t clients' noise, and rounding is unconditional (β = 0) so
        // one user's change stays bounded by C/γ + √D after rounding (KLS 2021, Thm. 1 first bound).
        var request = new PlanRequest
        {
            TargetEpsilon = epsilon,
            Delta = settings.Delta,
            Rounds = settings.PlannedRounds,
            PlannedClients = clients * m,
            MinClients = t,
            Dimension = settings.Dimension,
            Bits = settings.Bits,
            Clip = settings.Clip,
            Beta = perUser ? 0 : Math.Exp(-0.5),
        };
        if (!DistributedDpPlanner.TryPlan(request, out DistributedDpPlan? dp, out PlanRefusal? planRefusal))
        {
            refusal = RoundPlanRefusal.DpInfeasible;
            detail = planRefusal!.Reason + ": " + planRefusal.Message;
            return false;
        }

        MechanismParameters encoding = dp!.Parameters with { Clip = settings.Clip * m, PlannedClients = clients };
        var contract = new RoundContract(roundId, modelVersion, settings.Mode, encoding)
        {
            Privacy = settings.Privacy,
            Encoding = UpdateEncoding.DistributedDiscreteGaussian,
            ClaimedEpsilon = dp.EpsilonPerRound,
            UserClip = settings.Clip,
            MaxUsersPerClient = m,
        };
        plan = new RoundPlan(contract, t, graph, degree, dp.TotalEpsilon);
        refusal = RoundPlanRefusal.None;
        return true;
    }

    private static bool TryPlanFixedPoint(RoundSettings settings, ulong roundId, ulong modelVersion, int clients, int t,
        GraphKind graph, int degree, out RoundPlan? plan, out RoundPlanRefusal refusal, out string? detail)
    {
        plan = null;
        IReadOnlyList<double> bounds = settings.FixedPointBounds ?? Enumerable.Repeat(settings.Clip, settings.Dimension).ToArray();
        if (bounds.Count != settings.Dimension || bounds.Any(b => !(b >= 0) || !double.IsFinite(b)))
        {
            refusal = RoundPlanRefusal.InvalidSettings;
            detail = "The fixed-point bounds must be d finite non-negative values.";
            return false;
        }

        double half = Math.Pow(2, settings.Bits - 1) - 1;
        if (bounds.Any(b => b > 0 && Math.Floor(half / (clients * b)) < 1))
        {
            refusal = RoundPlanRefusal.FixedPointOverflow;
            detail = $"{settings.Bits} bits cannot hold {clients} clients' coordinates at the given bounds.";
            return false;
        }

        // Shape only: d, b and the client counts. No noise, nothing charged (UpdateEncoding.FixedPointNoDp).
        var shape = new MechanismParameters
        {
            Dimension = settings.Dimension,
            Bits = settings.Bits,
            Clip = settings.Clip,
            Gamma = 1,
            Beta = 0,
            SigmaSquaredNumerator = 0,
            SigmaSquaredDenominator = 1,
            PlannedClients = clients,
            MinClients = t,
            Delta = 0,
        };
        var contract = new RoundContract(roundId, modelVersion, settings.Mode, shape)
        {
            Privacy = settings.Privacy,
            Encoding = UpdateEncoding.FixedPointNoDp,
            UserClip = settings.Clip,
            MaxUsersPerClient = settings.Privacy == PrivacyUnit.User ? settings.MaxUsersPerClient : 1,
            FixedPointBounds = bounds.ToArray(),
        };
        plan = new RoundPlan(contract, t, graph, degree, 0);
        refusal = RoundPlanRefusal.None;
        detail = null;
        return true;
    }

    private static string? CheckSettings(RoundSettings s, int clients)
    {
        if (clients < 2)
        {
            return "A round needs at least two clients.";
        }

        if (s.Dimension < 1 || s.Bits is < 8 or > 32 || !(s.Clip > 0) || !double.IsFinite(s.Clip))
        {
            return "Dimension ≥ 1, bits in [8, 32] and a positive finite clip are required.";
        }

        if (s.Privacy is not (PrivacyUnit.Institution or PrivacyUnit.User) || (s.Privacy == PrivacyUnit.User && s.MaxUsersPerClient < 1))
        {
            return "The privacy unit must be Institution or User (with at least one user per client).";
        }

        if (s.Mode is not (ThreatMode.HonestButCurious or ThreatMode.Malicious))
        {
            return "The threat mode must be HonestButCurious or Malicious.";
        }

        if (!(s.ThresholdFraction > 0 && s.ThresholdFraction <= 1) || s.PlannedRounds < 1)
        {
            return "The threshold fraction must be in (0, 1] and the planned rounds ≥ 1.";
        }

        if (s.TargetEpsilon is { } e && (!(e > 0) || !double.IsFinite(e) || !(s.Delta > 0 && s.Delta < 1)))
        {
            return "ε must be positive and finite and δ in (0, 1).";
        }

        return null;
    }
}
