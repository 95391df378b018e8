using Google.Protobuf;
using SecureFedRec.Crypto;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Client;
using SecureFedRec.Rounds.Server;
using SecureFedRec.Rounds.Transport;
using PolicyThreatMode = SecureFedRec.Privacy.Policy.ThreatMode;

namespace SecureFedRec.Rounds.Tests;

/// <summary>A ledger that counts charges (and delegates to a memory ledger).</summary>
internal sealed class CountingLedger(double budget = 1000) : IPrivacyLedger
{
    private readonly MemoryPrivacyLedger _inner = new(new PrivacyBudget(budget, 1e-5));

    public List<RoundCharge> Charges { get; } = [];

    public PrivacyBudget Budget => _inner.Budget;

    public IReadOnlyList<LedgerEntry> Entries => _inner.Entries;

    public double TotalEpsilon => _inner.TotalEpsilon;

    public LedgerDecision Preview(RoundCharge charge) => _inner.Preview(charge);

    public LedgerDecision Charge(RoundCharge charge)
    {
        lock (Charges)
        {
            Charges.Add(charge);
        }

        return _inner.Charge(charge);
    }
}

/// <summary>Collects what the host reports.</summary>
internal sealed class RecordingEvents : RoundHostEvents
{
    public List<RoundFinished> Finished { get; } = [];

    public List<ModelRelease> Released { get; } = [];

    public List<(RoundPlanRefusal, string?)> PlanRefusals { get; } = [];

    public override Task OnRoundFinishedAsync(RoundFinished finished, CancellationToken cancellationToken)
    {
        Finished.Add(finished);
        return Task.CompletedTask;
    }

    public override Task OnModelReleasedAsync(ModelRelease release, CancellationToken cancellationToken)
    {
        Released.Add(release);
        return Task.CompletedTask;
    }

    public override void OnPlanRefused(int clients, RoundPlanRefusal refusal, string? detail) => PlanRefusals.Add((refusal, detail));
}

internal static class Harness
{
    public const int Dimension = 8;

    public static RoundSettings Settings(double? epsilon = 10, int dimension = Dimension) => new()
    {
        Dimension = dimension,
        Bits = 32,
        Clip = 1.0,
        TargetEpsilon = epsilon,
        Delta = 1e-5,
        PlannedRounds = 5,
    };

    public static ClientPrivacyPolicy PermissivePolicy() => new()
    {
        MaxTotalEpsilon = 1e6,
        Delta = 1e-3,
        MinNoiseMultiplier = 0,
        MaxClip = 1e6,
        AcceptedThreatModes = new HashSet<PolicyThreatMode> { PolicyThreatMode.CuriousServer, PolicyThreatMode.SemiMalicious },
        MinThresholdFraction = 0.1,

        // These rounds are honest-but-curious and small (n ≥ 2, t ≥ 2, no roster): the explicit opt-in and the floors.
        AllowHonestButCurious = true,
        MinCohortSize = 2,
        MinThreshold = 2,
        MinDistinctOrganisations = 1,
    };

    public static RoundHost Host(RoundSettings settings, int clients, IPrivacyLedger ledger, RoundHostEvents events, IModelUpdateRule? rule = null,
        ulong seed = 1) =>
        new(new RoundHostOptions
        {
            Settings = settings,
            CohortSize = clients,
            Random = new DeterministicRandomSource(Seed("cohort", seed)),
        }, new ModelRelease(1, 0, new double[settings.Dimension], 0, 0), ledger, rule ?? new FedAvgRule(), events);

    public static ClientRound Client(int index, Func<UpdateRequest, double[]> update, ClientPrivacyPolicy? policy = null, Phase? silentAfter = null,
        ulong seed = 1, Action? onUpdate = null, bool allowNotPrivate = false)
    {
        var ledger = new MemoryPrivacyLedger(new PrivacyBudget((policy ?? PermissivePolicy()).MaxTotalEpsilon, (policy ?? PermissivePolicy()).Delta));
        return new ClientRound(new ClientRoundOptions
        {
            Guard = new ClientPrivacyGuard(policy ?? PermissivePolicy(), ledger),
            UpdateSource = (request, _) =>
            {
                onUpdate?.Invoke();
                return Task.FromResult(LocalUpdate.FromTotal(update(request)));
            },
            ProtocolRandom = new DeterministicRandomSource(Seed("protocol-" + index, seed)),
            NoiseRandom = new DeterministicRandomSource(Seed("noise-" + index, seed)),
            SilentAfter = silentAfter,
            JoinTimeout = TimeSpan.FromSeconds(30),
            AllowNotPrivate = allowNotPrivate,
        });
    }

    public static string Caller(int index) => "client-" + index.ToString("D4", System.Globalization.CultureInfo.InvariantCulture);

    public static byte[] Seed(string purpose, ulong seed)
    {
        byte[] bytes = new byte[32];
        byte[] label = System.Text.Encoding.UTF8.GetBytes(purpose + "/" + seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        System.Security.Cryptography.SHA256.HashData(label, bytes);
        return bytes;
    }

    public static Task<InProcessRoundResult> Run(RoundHost host, IReadOnlyList<ClientRound> clients,
        Func<int, IRoundTransport, IRoundTransport>? wrap = null) =>
        InProcessRoundDriver.RunRoundAsync(host, clients.Select((c, i) => (Caller(i), c)).ToList(), threads: 2, wrap);
}

/// <summary>A transport that rewrites what one client sends or receives (a misbehaving client, or a man in the middle).</summary>
internal sealed class TamperingTransport(IRoundTransport inner, Func<ClientToServer, ClientToServer>? outgoing = null,
    Func<JoinReply, JoinReply>? join = null) : IRoundTransport
{
    public Task<JoinReply> JoinAsync(CancellationToken cancellationToken) =>
        join is null ? inner.JoinAsync(cancellationToken) : inner.JoinAsync(cancellationToken).ContinueWith(t => join(t.Result), TaskScheduler.Default);

    public Task<SubmitReply> SubmitAsync(ulong roundId, Phase phase, ClientToServer message, CancellationToken cancellationToken) =>
        inner.SubmitAsync(roundId, phase, outgoing is null ? message : outgoing(message.Clone()), cancellationToken);

    public Task<FetchReply> FetchAsync(ulong roundId, Phase phase, CancellationToken cancellationToken) => inner.FetchAsync(roundId, phase, cancellationToken);

    public Task<ModelRelease> GetModelAsync(ulong version, CancellationToken cancellationToken) => inner.GetModelAsync(version, cancellationToken);

    /// <summary>Adds 2^31 to every word of a masked input (the sum wraps: a decode failure).</summary>
    public static ClientToServer WrapMaskedInput(ClientToServer message)
    {
        if (message.MessageCase != ClientToServer.MessageOneofCase.MaskedInput)
        {
            return message;
        }

        byte[] words = message.MaskedInput.MaskedVector.ToByteArray();
        for (int i = 0; i + 3 < words.Length; i += 4)
        {
            uint w = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(words.AsSpan(i));
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(words.AsSpan(i), unchecked(w + 0x8000_0000u));
        }

        message.MaskedInput.MaskedVector = ByteString.CopyFrom(words);
        return message;
    }
}
