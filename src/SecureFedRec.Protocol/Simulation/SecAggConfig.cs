using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Server;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Simulation;

/// <summary>
/// Configuration of one in-process round: n clients with ids 1..n, threshold t, vector length d, modulus 2^b, threat
/// mode, neighbour graph (degree k required for Harary; n−1 for the full graph), key-agreement suite and coordinator
/// worker threads (0: all cores; also bounds how many simulated clients run at once).
/// </summary>
/// <param name="Clients">Number of clients n (ids 1..n).</param>
/// <param name="Threshold">Shamir threshold t.</param>
/// <param name="Dimension">Vector length d.</param>
/// <param name="Bits">Bits b of the modulus 2^b.</param>
/// <param name="Mode">Threat mode.</param>
/// <param name="Graph">Neighbour graph kind.</param>
/// <param name="Degree">Graph degree k (required for Harary, n−1 or null for the full graph).</param>
/// <param name="Suite">Key-agreement suite.</param>
/// <param name="Threads">Worker threads (0: all cores).</param>
public sealed record SecAggConfig(
    int Clients,
    int Threshold,
    int Dimension,
    int Bits,
    ThreatMode Mode = ThreatMode.HonestButCurious,
    Graph.GraphKind Graph = Graph.GraphKind.Full,
    int? Degree = null,
    Crypto.KeyAgreementSuite Suite = Crypto.KeyAgreementSuite.X25519,
    int Threads = 0)
{
    /// <summary>Round number used in the parameters (default 1).</summary>
    public ulong RoundNumber { get; init; } = 1;

    /// <summary>Builds validated parameters (throws <see cref="ArgumentException"/> when invalid).</summary>
    public SecAggParameters ToParameters()
    {
        int degree = Degree ?? (Graph == Protocol.Graph.GraphKind.Full ? Clients - 1
            : throw new ArgumentException("A Harary graph needs an explicit degree.", nameof(Degree)));
        return SecAggParameters.Create(RoundNumber, Enumerable.Range(1, Clients).ToArray(), Threshold, Dimension, Bits,
            Mode, Suite, Graph, degree);
    }
}

/// <summary>Where a simulated client goes silent: it sends every message up to and including the named one, then nothing.</summary>
/// <remarks>In honest-but-curious mode there is no consistency signature; <see cref="AfterConsistencySignature"/> then
/// behaves like <see cref="AfterMaskedInput"/>.</remarks>
public enum DropPoint
{
    /// <summary>Never sends anything.</summary>
    BeforeAdvertiseKeys = 0,

    /// <summary>Sends its keys (and, Harary graphs, its relabelling reveal), then nothing.</summary>
    AfterAdvertiseKeys = 1,

    /// <summary>Sends its encrypted shares, then nothing.</summary>
    AfterShareKeys = 2,

    /// <summary>Sends its masked input, then nothing.</summary>
    AfterMaskedInput = 3,

    /// <summary>Sends its consistency signature, then nothing (malicious mode).</summary>
    AfterConsistencySignature = 4,

    /// <summary>Completes (kept so every point can be drawn at random).</summary>
    AfterUnmasking = 5,
}

/// <summary>Which clients go silent and where. Not thread-safe while being built.</summary>
public sealed class DropoutPlan
{
    private readonly Dictionary<int, DropPoint> _points = [];

    /// <summary>Drop points by client id.</summary>
    public IReadOnlyDictionary<int, DropPoint> Points => _points;

    /// <summary>Makes <paramref name="clientId"/> go silent at <paramref name="point"/>.</summary>
    public DropoutPlan Drop(int clientId, DropPoint point)
    {
        _points[clientId] = point;
        return this;
    }

    /// <summary>Drops ⌊fraction·n⌋ clients chosen uniformly (without replacement) at <paramref name="point"/>.</summary>
    public static DropoutPlan Random(int clients, double fraction, DropPoint point, RandomSource rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentOutOfRangeException.ThrowIfLessThan(fraction, 0.0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fraction, 1.0);
        int[] ids = Enumerable.Range(1, clients).ToArray();
        for (int i = ids.Length - 1; i > 0; i--)
        {
            int j = (int)rng.NextBelow((ulong)i + 1);
            (ids[i], ids[j]) = (ids[j], ids[i]);
        }

        var plan = new DropoutPlan();
        foreach (int id in ids.Take((int)Math.Floor(fraction * clients)))
        {
            plan.Drop(id, point);
        }

        return plan;
    }

    internal int MessagesAllowed(int clientId) =>
        _points.TryGetValue(clientId, out DropPoint point) ? (int)point : int.MaxValue;
}

/// <summary>
/// A misbehaving coordinator for the adversarial suite: sees every message the honest coordinator logic would send and
/// decides what is delivered instead (nothing, a changed copy, or several messages). It also sees every client message.
/// </summary>
public abstract class CoordinatorScript
{
    /// <summary>The messages to deliver to <paramref name="recipient"/> in place of <paramref name="message"/>.</summary>
    public virtual IEnumerable<ServerToClient> Rewrite(int recipient, ServerToClient message, Phase phase) => [message];

    /// <summary>Extra messages to deliver in <paramref name="phase"/>, to any client, after the rewritten ones.</summary>
    public virtual IEnumerable<OutgoingMessage> Inject(Phase phase) => [];

    /// <summary>Observes a message a client sent (before the coordinator logic sees it).</summary>
    public virtual void Observe(int sender, ClientToServer message)
    {
    }
}

/// <summary>One recorded message.</summary>
/// <param name="FromClient">True for client→coordinator.</param>
/// <param name="ClientId">The client end of the message.</param>
/// <param name="Kind">Oneof case name.</param>
/// <param name="Bytes">Serialized envelope.</param>
public sealed record TranscriptEntry(bool FromClient, int ClientId, string Kind, byte[] Bytes);

/// <summary>A share some client revealed in the unmasking round (what the coordinator learned).</summary>
/// <param name="Holder">Revealing client.</param>
/// <param name="Owner">Client whose secret the share opens.</param>
/// <param name="Kind">Which secret.</param>
public readonly record struct RevealedShareRecord(int Holder, int Owner, ShareKind Kind);

/// <summary>Extra options for <see cref="InProcessRound.Run(SecAggConfig, IReadOnlyList{uint[]}, RoundOptions)"/>.</summary>
public sealed class RoundOptions
{
    /// <summary>Which clients drop and where.</summary>
    public DropoutPlan? Dropouts { get; init; }

    /// <summary>Randomness (null: the OS CSPRNG). A given source seeds one deterministic stream per client.</summary>
    public RandomSource? Random { get; init; }

    /// <summary>A misbehaving coordinator, or null for an honest one.</summary>
    public CoordinatorScript? Script { get; init; }

    /// <summary>A misbehaving client: rewrites (or, returning null, suppresses) a client's message before the coordinator sees it.</summary>
    public Func<int, ClientToServer, ClientToServer?>? TamperClientMessage { get; init; }

    /// <summary>Record every message (serialized) in <see cref="SecAggOutcome.Transcript"/>.</summary>
    public bool RecordTranscript { get; init; }

    /// <summary>
    /// Build the masked inputs in the round's own recycled buffers (about one per thread) instead of one fresh 4·d-byte
    /// array per client; off by itself with a script, a tamper hook or a transcript, which may keep a message. Tests turn
    /// it off to compare with the unpooled path.
    /// </summary>
    internal bool PoolMaskedInputs { get; init; } = true;

    /// <summary>Malicious mode: enrolled identities by client id (null: generated from <see cref="Random"/> in
    /// <see cref="IdentitySuite"/>, one 32-byte private key per client in increasing id order, before anything else).</summary>
    public IReadOnlyDictionary<int, IdentitySigningKey>? Identities { get; init; }

    /// <summary>Suite of the generated identities (Ed25519 by default; ECDSA P-256 for the FIPS suite).</summary>
    public IdentitySuite IdentitySuite { get; init; } = IdentitySuite.Ed25519;
}

/// <summary>Timing and traffic of one simulated round.</summary>
public sealed class SecAggMetrics
{
    internal SecAggMetrics(Dictionary<Phase, TimeSpan> clientTotal, Dictionary<Phase, int> clientCount,
        Dictionary<Phase, TimeSpan> coordinator, long[] sent, long[] received, long peak, TimeSpan total)
    {
        ClientTimeTotal = clientTotal;
        ClientTimeMean = clientTotal.ToDictionary(kv => kv.Key,
            kv => clientCount.TryGetValue(kv.Key, out int c) && c > 0 ? kv.Value / c : TimeSpan.Zero);
        CoordinatorTime = coordinator;
        MeanBytesSent = sent.Length == 0 ? 0 : sent.Average();
        MeanBytesReceived = received.Length == 0 ? 0 : received.Average();
        MaxBytesSent = sent.Length == 0 ? 0 : sent.Max();
        MaxBytesReceived = received.Length == 0 ? 0 : received.Max();
        CoordinatorPeakMemoryBytes = peak;
        Total = total;
    }

    /// <summary>Client time per phase, summed over clients (the phase is the state that handled the message).</summary>
    public IReadOnlyDictionary<Phase, TimeSpan> ClientTimeTotal { get; }

    /// <summary>Client time per phase, mean over the clients that handled a message in that phase.</summary>
    public IReadOnlyDictionary<Phase, TimeSpan> ClientTimeMean { get; }

    /// <summary>Coordinator time per phase (handling messages plus closing the phase).</summary>
    public IReadOnlyDictionary<Phase, TimeSpan> CoordinatorTime { get; }

    /// <summary>Process CPU time spent closing each coordinator phase (all worker threads; no client runs meanwhile).</summary>
    public IReadOnlyDictionary<Phase, TimeSpan> CoordinatorCloseCpuTime { get; internal init; } = new Dictionary<Phase, TimeSpan>();

    /// <summary>
    /// Managed bytes the clients allocated per phase, summed over clients (<see cref="GC.GetAllocatedBytesForCurrentThread"/>
    /// around each client's handling of one message: the client state machine and its session, not the driver).
    /// </summary>
    public IReadOnlyDictionary<Phase, long> ClientAllocatedBytes { get; internal init; } = new Dictionary<Phase, long>();

    /// <summary>
    /// Managed bytes the coordinator allocated per phase: handling messages (on the calling thread) plus closing the phase
    /// (<see cref="GC.GetTotalAllocatedBytes"/> around the close, all worker threads; no client runs meanwhile).
    /// </summary>
    public IReadOnlyDictionary<Phase, long> CoordinatorAllocatedBytes { get; internal init; } = new Dictionary<Phase, long>();

    /// <summary>
    /// Masked-input message buffers (4·d bytes each) the round allocated: about one per thread when they are recycled
    /// (<see cref="ClientAllocatedBytes"/> of <see cref="Phase.MaskedInput"/> includes them); null when each message had its own
    /// array (a script, a tamper hook or a transcript may keep messages).
    /// </summary>
    public int? MaskedInputBuffersAllocated { get; internal init; }

    /// <summary>The most masked-input buffers in use at once (rented by a client, not yet summed by the coordinator); null when not recycled.</summary>
    public int? MaskedInputBuffersPeak { get; internal init; }

    /// <summary>Mean serialized bytes a client sent.</summary>
    public double MeanBytesSent { get; }

    /// <summary>Mean serialized bytes a client received.</summary>
    public double MeanBytesReceived { get; }

    /// <summary>Largest bytes one client sent.</summary>
    public long MaxBytesSent { get; }

    /// <summary>Largest bytes one client received.</summary>
    public long MaxBytesReceived { get; }

    /// <summary>Coordinator peak memory estimate (running sum, accumulators, keys, ciphertexts, shares).</summary>
    public long CoordinatorPeakMemoryBytes { get; }

    /// <summary>Wall time of the whole round.</summary>
    public TimeSpan Total { get; }
}

/// <summary>The result of an in-process round.</summary>
public sealed class SecAggOutcome
{
    internal SecAggOutcome(SecAggParameters parameters, bool completed, uint[] sum, IReadOnlyList<int> contributors,
        RoundOutcome outcome, IReadOnlyDictionary<int, ClientAbortReason> clientAborts,
        IReadOnlyDictionary<int, DropReason> drops, SecAggMetrics metrics, IReadOnlyList<RevealedShareRecord> revealed,
        IReadOnlyList<TranscriptEntry> transcript)
    {
        Parameters = parameters;
        Completed = completed;
        Sum = sum;
        Contributors = contributors;
        Outcome = outcome;
        ClientAborts = clientAborts;
        Drops = drops;
        Metrics = metrics;
        RevealedShares = revealed;
        Transcript = transcript;
    }

    /// <summary>The round's parameters.</summary>
    public SecAggParameters Parameters { get; }

    /// <summary>Whether the coordinator obtained the sum.</summary>
    public bool Completed { get; }

    /// <summary>Σ inputs of <see cref="Contributors"/> mod 2^b (empty when not completed).</summary>
    public uint[] Sum { get; }

    /// <summary>Clients whose inputs are in the sum, increasing (empty when not completed).</summary>
    public IReadOnlyList<int> Contributors { get; }

    /// <summary>Completed, or why the coordinator aborted (<see cref="RoundOutcome.Unspecified"/> if it never finished).</summary>
    public RoundOutcome Outcome { get; }

    /// <summary>The abort reason of every client that aborted.</summary>
    public IReadOnlyDictionary<int, ClientAbortReason> ClientAborts { get; }

    /// <summary>Clients the coordinator dropped, with the reason.</summary>
    public IReadOnlyDictionary<int, DropReason> Drops { get; }

    /// <summary>Timing and traffic.</summary>
    public SecAggMetrics Metrics { get; }

    /// <summary>Every share clients revealed (the coordinator's knowledge).</summary>
    public IReadOnlyList<RevealedShareRecord> RevealedShares { get; }

    /// <summary>All messages in order (when recorded).</summary>
    public IReadOnlyList<TranscriptEntry> Transcript { get; }

    /// <summary>The first abort reason among the clients, if any.</summary>
    public ClientAbortReason? FirstClientAbort => ClientAborts.Count == 0 ? null : ClientAborts.OrderBy(kv => kv.Key).First().Value;
}
