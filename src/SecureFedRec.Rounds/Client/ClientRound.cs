using SecureFedRec.Crypto;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Protocol.Client;
using SecureFedRec.Protocol.Session;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Internal;
using SecureFedRec.Rounds.Transport;
using PolicyThreatMode = SecureFedRec.Privacy.Policy.ThreatMode;
using ProtocolThreatMode = SecureFedRec.Protocol.Wire.ThreatMode;

namespace SecureFedRec.Rounds.Client;

/// <summary>How one round ended for a client.</summary>
public enum ClientRoundOutcome
{
    /// <summary>The round completed with this client's update in the released sum.</summary>
    Completed = 1,

    /// <summary>The client declined before making any key or computing any update; nothing was contributed.</summary>
    Declined = 2,

    /// <summary>The coordinator dropped this client (deadline, malformed message).</summary>
    Dropped = 3,

    /// <summary>The round aborted, or this client aborted it.</summary>
    Aborted = 4,

    /// <summary>No round: the coordinator has run its configured rounds, or the client was not selected in time.</summary>
    NotSelected = 5,
}

/// <summary>Why a client round ended as it did (closed vocabulary; the detail text adds the specifics).</summary>
public enum ClientRoundReason
{
    /// <summary>Completed.</summary>
    None = 0,

    /// <summary>The opening message does not bind the announced contract (round, dimension, bits, mode or binding differ).</summary>
    ContractMismatch = 1,

    /// <summary>The contract's fields are inconsistent or invalid.</summary>
    InvalidContract = 2,

    /// <summary>The local privacy policy declined (<see cref="ClientRoundResult.Decline"/> says which rule).</summary>
    PolicyDeclined = 3,

    /// <summary>Malicious mode without an identity and a roster to verify the cohort.</summary>
    MaliciousModeUnsupported = 4,

    /// <summary>The update source failed or returned an update of the wrong shape.</summary>
    UpdateFailed = 5,

    /// <summary>The coordinator dropped this client (<see cref="ClientRoundResult.Drop"/>).</summary>
    DroppedByCoordinator = 6,

    /// <summary>The coordinator aborted the round.</summary>
    CoordinatorAborted = 7,

    /// <summary>This client's protocol aborted (<see cref="ClientRoundResult.Abort"/>).</summary>
    ProtocolAborted = 8,

    /// <summary>The coordinator refused a submission (<see cref="ClientRoundResult.Refusal"/>).</summary>
    SubmissionRefused = 9,

    /// <summary>The client's protocol refused a coordinator message.</summary>
    MessageRefused = 10,

    /// <summary>The round ended without this client's input in the sum.</summary>
    NotIncluded = 11,

    /// <summary>The coordinator has run its configured rounds.</summary>
    CoordinatorFinished = 12,

    /// <summary>Not selected within the join timeout.</summary>
    JoinTimedOut = 13,

    /// <summary>
    /// The contract announces an encoding without DP noise (<see cref="UpdateEncoding.FixedPointNoDp"/>) and this client
    /// was not built to allow it (<see cref="ClientRoundOptions.AllowNotPrivate"/>, for the simulation's comparison only).
    /// </summary>
    NotPrivate = 14,
}

/// <summary>The outcome of one client round.</summary>
/// <param name="RoundId">The round (0 when none was joined).</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Reason">Why.</param>
/// <param name="Detail">Diagnostic text (no secrets).</param>
public sealed record ClientRoundResult(ulong RoundId, ClientRoundOutcome Outcome, ClientRoundReason Reason, string? Detail)
{
    /// <summary>The policy's reason, when declined by policy.</summary>
    public DeclineReason Decline { get; init; }

    /// <summary>The coordinator's drop reason, when dropped.</summary>
    public DropReason Drop { get; init; }

    /// <summary>The protocol's abort reason, when this client aborted.</summary>
    public ClientAbortReason Abort { get; init; }

    /// <summary>The coordinator's refusal, when a submission was refused.</summary>
    public RoundRefusal Refusal { get; init; }

    /// <summary>The client's total ε in its own ledger after the round.</summary>
    public double LocalTotalEpsilon { get; init; }
}

/// <summary>What the update source is given.</summary>
/// <param name="Contract">The round contract the client consented to.</param>
/// <param name="Model">The model version the update must be computed against.</param>
public sealed record UpdateRequest(RoundContract Contract, ModelRelease Model);

/// <summary>Options of a <see cref="ClientRound"/>.</summary>
public sealed class ClientRoundOptions
{
    /// <summary>The local privacy policy and ledger (consent is recorded before anything is computed or sent).</summary>
    public required ClientPrivacyGuard Guard { get; init; }

    /// <summary>Computes the local update for a round.</summary>
    public required Func<UpdateRequest, CancellationToken, Task<LocalUpdate>> UpdateSource { get; init; }

    /// <summary>Randomness of the protocol (keys, seeds; null: the OS CSPRNG).</summary>
    public RandomSource? ProtocolRandom { get; init; }

    /// <summary>Randomness of the DP noise and rounding (null: the OS CSPRNG).</summary>
    public RandomSource? NoiseRandom { get; init; }

    /// <summary>Malicious mode: this client's enrolled identity.</summary>
    public SigningKey? Identity { get; init; }

    /// <summary>Malicious mode: the roster of the cohort's identity keys by protocol number, for a round.</summary>
    public Func<RoundInvitation, IReadOnlyDictionary<int, byte[]>?>? Roster { get; init; }

    /// <summary>Clock for retry delays (null: the system clock).</summary>
    public TimeProvider? Time { get; init; }

    /// <summary>How long to keep asking to join before giving up.</summary>
    public TimeSpan JoinTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Whether a contract without DP noise (<see cref="UpdateEncoding.FixedPointNoDp"/>) may be taken part in. False by
    /// default, so a coordinator cannot switch a client to a noise-free, uncharged round; only the simulation's
    /// secagg-only comparison row sets it.
    /// </summary>
    public bool AllowNotPrivate { get; init; }

    /// <summary>Simulation only: go silent after submitting this phase's message (null: never).</summary>
    public Phase? SilentAfter { get; init; }
}

/// <summary>
/// The client round, run identically by the SDK, the CLI client and the simulation over an <see cref="IRoundTransport"/>:
/// join → check the contract against the opening message → local policy and ledger (<see cref="ClientPrivacyGuard"/>;
/// a decline happens before any key is made or any update computed) → local update (injected source) → encode
/// (clip, rotate, round, noise: <see cref="Privacy.Mechanism.DistributedDiscreteGaussianMechanism"/>) → the
/// secure-aggregation client session driven over the transport. Expected endings are typed results, never exceptions;
/// only transport failures the transport could not recover from propagate (the round's secrets are wiped on every exit).
/// </summary>
public sealed class ClientRound
{
    private readonly ClientRoundOptions _options;
    private readonly TimeProvider _time;

    /// <summary>Creates the client round.</summary>
    public ClientRound(ClientRoundOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Guard);
        ArgumentNullException.ThrowIfNull(options.UpdateSource);
        _options = options;
        _time = options.Time ?? TimeProvider.System;
    }

    /// <summary>Takes part in the next round over <paramref name="transport"/>.</summary>
    public async Task<ClientRoundResult> RunAsync(IRoundTransport transport, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        (RoundInvitation? invitation, ClientRoundResult? notJoined) = await JoinAsync(transport, cancellationToken).ConfigureAwait(false);
        if (invitation is null)
        {
            return notJoined!;
        }

        RoundContract contract = invitation.Contract;
        ulong roundId = contract.RoundId;
        (ClientRoundReason reason, string? detail) = CheckInvitation(invitation);
        if (reason == ClientRoundReason.None && !contract.IsPrivate && !_options.AllowNotPrivate)
        {
            (reason, detail) = (ClientRoundReason.NotPrivate, "The contract's encoding adds no DP noise; this client takes part only in private rounds.");
        }

        if (reason != ClientRoundReason.None)
        {
            await DeclineAsync(transport, invitation, cancellationToken).ConfigureAwait(false);
            return Result(roundId, ClientRoundOutcome.Declined, reason, detail);
        }

        IReadOnlyDictionary<int, byte[]>? roster = null;
        if (contract.Mode == ProtocolThreatMode.Malicious)
        {
            roster = _options.Identity is null ? null : _options.Roster?.Invoke(invitation);
            if (roster is null)
            {
                await DeclineAsync(transport, invitation, cancellationToken).ConfigureAwait(false);
                return Result(roundId, ClientRoundOutcome.Declined, ClientRoundReason.MaliciousModeUnsupported,
                    "Malicious-mode rounds need this client's identity and the cohort's roster.");
            }
        }

        if (contract.IsPrivate)
        {
            // Consent: the policy's checks and the local ledger's charge, before any key or update exists.
            (PolicyDecision decision, _) = _options.Guard.Consent(new RoundAnnouncement(contract.LedgerRoundId, contract.AccountingParameters,
                contract.Mode == ProtocolThreatMode.Malicious ? PolicyThreatMode.SemiMalicious : PolicyThreatMode.CuriousServer,
                contract.ClaimedEpsilon));
            if (!decision.Accepted)
            {
                await DeclineAsync(transport, invitation, cancellationToken).ConfigureAwait(false);
                return Result(roundId, ClientRoundOutcome.Declined, ClientRoundReason.PolicyDeclined, decision.Message) with { Decline = decision.Reason };
            }
        }

        uint[] encoded;
        try
        {
            ModelRelease model = await transport.GetModelAsync(contract.ModelVersion, cancellationToken).ConfigureAwait(false);
            LocalUpdate update = await _options.UpdateSource(new UpdateRequest(contract, model), cancellationToken).ConfigureAwait(false);
            encoded = new UpdateCodec(contract).Encode(update, _options.NoiseRandom ?? RandomSource.System);
        }
        catch (ArgumentException ex)
        {
            await DeclineAsync(transport, invitation, cancellationToken).ConfigureAwait(false);
            return Result(roundId, ClientRoundOutcome.Aborted, ClientRoundReason.UpdateFailed, ex.Message);
        }

        // Bridge to the suite-agnostic protocol options until this client's identity carries its suite: today's identities
        // are ECDSA P-256 (65-byte SEC 1 public keys).
        using Crypto.IdentitySigningKey? identity = _options.Identity is null ? null : ToIdentity(_options.Identity);
        using var session = new SecAggClientSession(new ClientOptions(invitation.ClientNumber, _ => encoded)
        {
            Random = _options.ProtocolRandom,
            Identity = identity,
            EnrolledIdentities = roster?.ToDictionary(kv => kv.Key,
                kv => new Crypto.IdentityPublicKey(Crypto.IdentitySuite.EcdsaP256Sha256, kv.Value)),
        });
        return await DriveAsync(transport, roundId, session, invitation.Opening, cancellationToken).ConfigureAwait(false);
    }

    private static Crypto.IdentitySigningKey ToIdentity(SigningKey key)
    {
        Span<byte> scalar = stackalloc byte[SigningKey.PrivateKeyLength];
        try
        {
            key.ExportPrivateKey(scalar);
            return Crypto.IdentitySigningKey.Import(Crypto.IdentitySuite.EcdsaP256Sha256, scalar);
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(scalar);
        }
    }

    private async Task<ClientRoundResult> DriveAsync(IRoundTransport transport, ulong roundId, SecAggClientSession session, ServerToClient first,
        CancellationToken cancellationToken)
    {
        ServerToClient message = first;
        while (true)
        {
            ClientSessionStep step = session.Handle(message);
            switch (step.Status)
            {
                case ClientSessionStatus.Completed:
                    return Result(roundId, ClientRoundOutcome.Completed, ClientRoundReason.None, null);
                case ClientSessionStatus.NotIncluded:
                    return Result(roundId, ClientRoundOutcome.Aborted, ClientRoundReason.NotIncluded, "The round ended without this client's input in the sum.");
                case ClientSessionStatus.Refused:
                    return Result(roundId, ClientRoundOutcome.Aborted, ClientRoundReason.MessageRefused, step.Rejection + ": " + step.Detail);
            }

            if (step.Reply is { } reply)
            {
                SubmitReply submitted = await transport.SubmitAsync(roundId, step.ReplyPhase, reply, cancellationToken).ConfigureAwait(false);
                if (step.Status == ClientSessionStatus.Aborted)
                {
                    return Aborted(roundId, step);
                }

                if (submitted.Outcome != SubmitOutcome.Accepted)
                {
                    return await RefusedAsync(transport, roundId, step.ReplyPhase, submitted, cancellationToken).ConfigureAwait(false);
                }

                if (_options.SilentAfter is { } silent && step.ReplyPhase == silent)
                {
                    return Result(roundId, ClientRoundOutcome.Dropped, ClientRoundReason.DroppedByCoordinator, "Went silent (simulated dropout).") with { Drop = DropReason.TimedOut };
                }
            }
            else if (step.Status == ClientSessionStatus.Aborted)
            {
                return Aborted(roundId, step);
            }

            FetchReply fetched = await FetchAsync(transport, roundId, step.NextPhase, cancellationToken).ConfigureAwait(false);
            switch (fetched.Outcome)
            {
                case FetchOutcome.Ready:
                    message = fetched.Message!;
                    break;
                case FetchOutcome.Dropped:
                    return Result(roundId, ClientRoundOutcome.Dropped, ClientRoundReason.DroppedByCoordinator, fetched.DropReason.ToString()) with { Drop = fetched.DropReason };
                case FetchOutcome.Aborted:
                    return Result(roundId, ClientRoundOutcome.Aborted, ClientRoundReason.CoordinatorAborted,
                        fetched.Message?.Abort?.Outcome.ToString() ?? "The coordinator aborted the round.");
                default:
                    return Result(roundId, ClientRoundOutcome.Aborted, ClientRoundReason.SubmissionRefused, fetched.Refusal.ToString()) with { Refusal = fetched.Refusal };
            }
        }
    }

    /// <summary>
    /// A refused submission. Dropped, or too late for a phase that closed: the coordinator is asked once why (a fetch
    /// answers a dropped client with its protocol drop reason), so a client that missed a deadline ends
    /// <see cref="ClientRoundOutcome.Dropped"/> with <see cref="ClientRoundResult.Drop"/> set rather than as a refusal.
    /// </summary>
    private async Task<ClientRoundResult> RefusedAsync(IRoundTransport transport, ulong roundId, Phase phase, SubmitReply submitted,
        CancellationToken cancellationToken)
    {
        if (submitted.Refusal is RoundRefusal.Dropped or RoundRefusal.PhaseClosed)
        {
            FetchReply why = await transport.FetchAsync(roundId, phase, cancellationToken).ConfigureAwait(false);
            if (why.Outcome == FetchOutcome.Dropped)
            {
                return Result(roundId, ClientRoundOutcome.Dropped, ClientRoundReason.DroppedByCoordinator, why.DropReason.ToString()) with { Drop = why.DropReason };
            }

            if (submitted.Refusal == RoundRefusal.Dropped)
            {
                DropReason reason = Enum.TryParse(submitted.Detail?.Split(' ')[^1], out DropReason parsed) ? parsed : DropReason.Unspecified;
                return Result(roundId, ClientRoundOutcome.Dropped, ClientRoundReason.DroppedByCoordinator, submitted.Detail) with { Drop = reason };
            }
        }

        return Result(roundId, ClientRoundOutcome.Aborted, ClientRoundReason.SubmissionRefused, submitted.Detail) with { Refusal = submitted.Refusal };
    }

    private ClientRoundResult Aborted(ulong roundId, ClientSessionStep step) =>
        step.AbortReason == ClientAbortReason.CoordinatorAborted
            ? Result(roundId, ClientRoundOutcome.Aborted, ClientRoundReason.CoordinatorAborted, "The coordinator aborted the round.")
            : Result(roundId, ClientRoundOutcome.Aborted, ClientRoundReason.ProtocolAborted, step.AbortReason.ToString()) with { Abort = step.AbortReason };

    private async Task<(RoundInvitation?, ClientRoundResult?)> JoinAsync(IRoundTransport transport, CancellationToken cancellationToken)
    {
        DateTimeOffset giveUp = _time.GetUtcNow() + _options.JoinTimeout;
        while (true)
        {
            JoinReply reply = await transport.JoinAsync(cancellationToken).ConfigureAwait(false);
            switch (reply.Outcome)
            {
                case JoinOutcome.Selected when reply.Invitation is not null:
                    return (reply.Invitation, null);
                case JoinOutcome.Finished:
                    return (null, Result(0, ClientRoundOutcome.NotSelected, ClientRoundReason.CoordinatorFinished, "The coordinator has run its configured rounds."));
            }

            if (_time.GetUtcNow() > giveUp)
            {
                return (null, Result(0, ClientRoundOutcome.NotSelected, ClientRoundReason.JoinTimedOut, "Not selected within " + _options.JoinTimeout + "."));
            }

            await Task.Delay(Max(reply.RetryAfter, TimeSpan.FromMilliseconds(10)), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<FetchReply> FetchAsync(IRoundTransport transport, ulong roundId, Phase phase, CancellationToken cancellationToken)
    {
        while (true)
        {
            FetchReply reply = await transport.FetchAsync(roundId, phase, cancellationToken).ConfigureAwait(false);
            if (reply.Outcome != FetchOutcome.Pending)
            {
                return reply;
            }

            await Task.Delay(Max(reply.RetryAfter, TimeSpan.FromMilliseconds(5)), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The contract and the opening message must agree, field by field, and the binding must match.</summary>
    private static (ClientRoundReason, string?) CheckInvitation(RoundInvitation invitation)
    {
        RoundContract contract = invitation.Contract;
        if (contract.Check() is { } problem)
        {
            return (ClientRoundReason.InvalidContract, problem);
        }

        if (invitation.Opening.MessageCase != ServerToClient.MessageOneofCase.BeginRound || invitation.Opening.BeginRound.Parameters is not { } p)
        {
            return (ClientRoundReason.ContractMismatch, "The round did not open with BeginRound.");
        }

        byte[] binding = contract.Binding();
        bool matches = p.RoundNumber == contract.RoundId && p.Dimension == (uint)contract.SecAggDimension && p.Bits == (uint)contract.Dp.Bits
            && p.ThreatMode == contract.Mode && p.ClientIds.Contains((uint)invitation.ClientNumber)
            && p.ClientIds.Count == contract.Dp.PlannedClients
            && p.Threshold == (uint)contract.Dp.MinClients
            && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(p.Binding.Span, binding);
        return matches
            ? (ClientRoundReason.None, null)
            : (ClientRoundReason.ContractMismatch, "The secure-aggregation parameters do not bind the announced contract (round, d, b, threat mode, cohort size n = planned clients, threshold t = the DP plan's minimum clients, membership, binding).");
    }

    /// <summary>Tells the coordinator at once (a ClientAbort, no keys) so it need not wait for the deadline.</summary>
    private static async Task DeclineAsync(IRoundTransport transport, RoundInvitation invitation, CancellationToken cancellationToken)
    {
        var abort = new ClientToServer
        {
            Abort = new ClientAbort
            {
                RoundNumber = invitation.Contract.RoundId,
                ClientId = (uint)invitation.ClientNumber,
                Reason = ClientAbortReason.InvalidParameters,
            },
        };
        await transport.SubmitAsync(invitation.Contract.RoundId, Phase.AdvertiseKeys, abort, cancellationToken).ConfigureAwait(false);
    }

    private ClientRoundResult Result(ulong roundId, ClientRoundOutcome outcome, ClientRoundReason reason, string? detail) =>
        new(roundId, outcome, reason, detail) { LocalTotalEpsilon = _options.Guard.Ledger.TotalEpsilon };

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
