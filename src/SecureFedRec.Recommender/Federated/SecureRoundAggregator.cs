using SecureFedRec.Privacy;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Recommender.Internal;
using SecureFedRec.Rounds;
using SecureFedRec.Rounds.Client;
using SecureFedRec.Rounds.Server;
using SecureFedRec.Rounds.Transport;
using PolicyThreatMode = SecureFedRec.Privacy.Policy.ThreatMode;

namespace SecureFedRec.Recommender.Federated;

/// <summary>Target privacy of a DP run.</summary>
/// <param name="Epsilon">Total ε over <paramref name="Rounds"/> rounds (user-level), &gt; 0 and finite.</param>
/// <param name="Delta">δ of the (ε, δ) guarantee, in (0, 1).</param>
/// <param name="Rounds">Planned rounds the budget is spread over.</param>
public sealed record DpTarget(double Epsilon, double Delta, int Rounds);

/// <summary>
/// The one secure aggregator of the simulation: every round runs the production round pipeline of SecureFedRec.Rounds
/// in process — a <see cref="RoundHost"/> (plan, secure-aggregation session, decode, ledger charge) and one
/// <see cref="ClientRound"/> per participant (encode, secure-aggregation session) over the in-process transport, which
/// serializes every protocol message — with the same planner, threshold rule, rotation seed and defaults as the
/// coordinator and the SDK. With a <see cref="DpTarget"/>: distributed discrete Gaussian, user-level (each user clipped
/// to C inside its client by the trainer; the client's total clipped to m·C; planned and charged at sensitivity C),
/// and <see cref="AggregationResult.EpsilonSpent"/> is the ledger's composed total. Without: the not-private
/// fixed-point comparison (public per-coordinate bounds from the context; nothing charged).
/// </summary>
/// <remarks>
/// A participant marked dropped goes silent after advertising its keys and is dropped when the phase closes. A round
/// the pipeline does not release (aborted, withheld) throws <see cref="InvalidOperationException"/> naming the
/// outcome. Randomness: one seeded stream per (purpose, round, participant). The trainer applies its own server step
/// to the released sum, so the host's model rule is plain FedAvg on a model nobody reads. Not thread-safe.
/// </remarks>
public sealed class SecureRoundAggregator : IUpdateAggregator
{
    private readonly DpTarget? target;
    private readonly ulong seed;
    private readonly int threads;
    private readonly int bits;
    private MemoryPrivacyLedger? ledger;
    private RoundContract? lastContract;

    /// <summary>Creates the aggregator.</summary>
    /// <param name="target">The DP target, or null for secure aggregation without DP (not private).</param>
    /// <param name="seed">Seed of the protocol, noise and cohort randomness.</param>
    /// <param name="threads">Participants computing at once (0 = all cores).</param>
    /// <param name="bits">Bits b of the modulus 2^b (8–32).</param>
    /// <exception cref="ArgumentOutOfRangeException">ε not positive and finite, δ outside (0, 1), rounds &lt; 1, bad bits or threads.</exception>
    public SecureRoundAggregator(DpTarget? target, ulong seed, int threads = 0, int bits = 32)
    {
        if (target is not null)
        {
            if (!(target.Epsilon > 0) || !double.IsFinite(target.Epsilon))
            {
                throw new ArgumentOutOfRangeException(nameof(target), target.Epsilon, "ε must be positive and finite (use no target for ε = ∞)");
            }

            if (!(target.Delta > 0 && target.Delta < 1))
            {
                throw new ArgumentOutOfRangeException(nameof(target), target.Delta, "δ must be in (0, 1)");
            }

            ArgumentOutOfRangeException.ThrowIfLessThan(target.Rounds, 1);
        }

        if (bits is < 8 or > 32)
        {
            throw new ArgumentOutOfRangeException(nameof(bits), bits, "bits must be in 8..32");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        this.target = target;
        this.seed = seed;
        this.threads = threads;
        this.bits = bits;
    }

    /// <inheritdoc />
    public string Name => target is null ? "secagg" : "secagg+dp";

    /// <inheritdoc />
    public bool AddsNoise => target is not null;

    /// <summary>The last round's DP parameters as encoded (null before the first round or without DP).</summary>
    public MechanismParameters? Parameters => lastContract is { IsPrivate: true } c ? c.Dp : null;

    /// <summary>Central noise standard deviation on the sum relative to the user clip C, with t contributors (null before / without DP).</summary>
    public double? NoiseMultiplier => lastContract is { IsPrivate: true } c ? c.AccountingParameters.NoiseMultiplierAtThreshold : null;

    /// <inheritdoc />
    public AggregationResult Aggregate(int round, IReadOnlyList<double[]> inputs, IReadOnlyList<bool> dropped, AggregationContext context)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(dropped);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfLessThan(round, 1);
        int n = inputs.Count;
        if (n < 2)
        {
            throw new ArgumentException("secure aggregation needs at least 2 clients", nameof(inputs));
        }

        if (dropped.Count != n)
        {
            throw new ArgumentException("one dropped flag per input is required", nameof(dropped));
        }

        int d = context.Layout.Length;
        if (inputs.Any(x => x.Length != d))
        {
            throw new ArgumentException($"every input must have the layout's length {d}", nameof(inputs));
        }

        RoundSettings settings = Settings(context, d);
        ledger ??= new MemoryPrivacyLedger(new PrivacyBudget(target is null ? 1 : target.Epsilon * (1 + 1e-6), target?.Delta ?? 1e-5));
        var events = new Collector();
        using var cohortRandom = Rng.ForPurpose(seed, $"round-{round}-cohort");
        var host = new RoundHost(new RoundHostOptions
        {
            Settings = settings,
            CohortSize = n,
            FirstRoundId = (ulong)round,
            Random = cohortRandom.Source,
            Threads = threads,
            PhaseTimeout = TimeSpan.FromDays(1),
        }, new ModelRelease(1, 0, new double[d], 0, 0), ledger, new FedAvgRule(), events);

        var owned = new List<Rng>();
        try
        {
            var clients = new List<(string, ClientRound)>(n);
            for (int j = 0; j < n; j++)
            {
                double[] input = inputs[j];
                Rng protocol = Rng.ForPurpose(seed, $"round-{round}-protocol-{j}");
                Rng noise = Rng.ForPurpose(seed, $"round-{round}-noise-{j}");
                owned.Add(protocol);
                owned.Add(noise);
                clients.Add((Participant(j), new ClientRound(new ClientRoundOptions
                {
                    Guard = SimulatedGuard(),
                    UpdateSource = (_, _) => Task.FromResult(LocalUpdate.FromTotal(input)),
                    ProtocolRandom = protocol.Source,
                    NoiseRandom = noise.Source,
                    // A dropout goes silent after its shares are out (before its masked input): the recovery path every graph
                    // survives. Silence right after AdvertiseKeys would abort a Harary round (commit-reveal relabelling).
                    SilentAfter = dropped[j] ? Phase.ShareKeys : null,
                    AllowNotPrivate = target is null, // the secagg-only comparison row of the simulation (labelled not private)
                })));
            }

            InProcessRoundResult result = Task.Run(() => InProcessRoundDriver.RunRoundAsync(host, clients, threads)).GetAwaiter().GetResult();
            RoundFinished finished = events.Finished ?? throw new InvalidOperationException($"secure aggregation round {round} did not complete: no outcome");
            lastContract = finished.Contract;
            if (finished.Outcome != ServerRoundOutcome.Released)
            {
                throw new InvalidOperationException($"secure aggregation round {round} did not complete: {finished.Outcome} {finished.Detail}");
            }

            long bytes = (long)Math.Round(result.BytesSent.Average());
            return new AggregationResult(finished.Sum!.ToArray(), finished.Contributors, bytes, target is null ? 0 : ledger.TotalEpsilon,
                target is null ? "unmasked" : "decoded");
        }
        finally
        {
            foreach (Rng rng in owned)
            {
                rng.Dispose();
            }
        }
    }

    /// <summary>Participant j's caller id (ordinal order = index order, so protocol number = j + 1).</summary>
    private static string Participant(int j) => "participant-" + j.ToString("D7", System.Globalization.CultureInfo.InvariantCulture);

    private RoundSettings Settings(AggregationContext context, int d)
    {
        if (target is null)
        {
            return new RoundSettings
            {
                Dimension = d,
                Bits = bits,
                Clip = 1,
                TargetEpsilon = null,
                FixedPointBounds = Enumerable.Range(0, d).Select(context.BoundOf).ToArray(),
            };
        }

        if (context.UserClipNorm is not { } userClip)
        {
            throw new ArgumentException("distributed DP needs the user-level clip bound", nameof(context));
        }

        return new RoundSettings
        {
            Dimension = d,
            Bits = bits,
            Clip = userClip,
            Privacy = PrivacyUnit.User,
            MaxUsersPerClient = Math.Max(1, context.MaxUsersPerClient),
            TargetEpsilon = target.Epsilon,
            Delta = target.Delta,
            PlannedRounds = target.Rounds,
        };
    }

    /// <summary>
    /// A simulated institution accepts every round (its own ledger is not what the simulation reports). The simulation's
    /// rounds are honest-but-curious, so its policy opts in explicitly; the cohort floors are the protocol's minimum.
    /// </summary>
    private static ClientPrivacyGuard SimulatedGuard() => new(new ClientPrivacyPolicy
    {
        MaxTotalEpsilon = 1e12,
        Delta = 0.5,
        MinNoiseMultiplier = 0,
        MaxClip = double.MaxValue,
        AcceptedThreatModes = new HashSet<PolicyThreatMode> { PolicyThreatMode.CuriousServer, PolicyThreatMode.SemiMalicious },
        AllowHonestButCurious = true,
        MinThresholdFraction = 0,
        MinCohortSize = 2,
        MinThreshold = 2,
        MinDistinctOrganisations = 1,
    }, new MemoryPrivacyLedger(new PrivacyBudget(1e12, 0.5)));

    private sealed class Collector : RoundHostEvents
    {
        public RoundFinished? Finished { get; private set; }

        public override Task OnRoundFinishedAsync(RoundFinished finished, CancellationToken cancellationToken)
        {
            Finished = finished;
            return Task.CompletedTask;
        }
    }
}
