using SecureFedRec.Crypto;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Protocol.Client;
using SecureFedRec.Protocol.Session;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Internal;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Roster;
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

    /// <summary>
    /// Malicious mode without what it needs on this client: its identity (<see cref="ClientRoundOptions.Identity"/>), the
    /// roster provider (<see cref="ClientRoundOptions.Roster"/>), its roster name (<see cref="ClientRoundOptions.Self"/>)
    /// or the cohort policy (<see cref="ClientRoundOptions.CohortPolicy"/>); the detail names which.
    /// </summary>
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

    /// <summary>
    /// Rule <c>roster-verified</c>: the roster did not verify (bad signature, unknown authority, expired, rollback…);
    /// <see cref="ClientRoundResult.Roster"/> says which refusal.
    /// </summary>
    RosterRefused = 15,

    /// <summary>
    /// Rule <c>cohort-policy</c>: the announced cohort fails the cohort policy (a member not in the roster, revoked or
    /// expired, a member listed twice, too few organisations, no cohort); <see cref="ClientRoundResult.Roster"/> says which.
    /// </summary>
    CohortRefused = 16,

    /// <summary>Rule <c>own-entry</c>: the cohort entry at this client's number is not this client's roster name.</summary>
    OwnEntryMismatch = 17,

    /// <summary>
    /// Rule <c>own-key</c>: the roster's key for this client's name is not this client's identity key (a substituted key,
    /// or a misconfigured identity).
    /// </summary>
    IdentityKeyMismatch = 18,

    /// <summary>
    /// Rule <c>ledger</c>: the client's ledger could not record the round's disclosure (the masked input was not sent);
    /// the detail has the ledger's outcome.
    /// </summary>
    LedgerRefused = 19,
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

    /// <summary>The roster or cohort refusal, when <see cref="ClientRoundReason.RosterRefused"/> or <see cref="ClientRoundReason.CohortRefused"/>.</summary>
    public RosterRefusal Roster { get; init; }

    /// <summary>
    /// What this round did to the client's ledger: <see cref="LedgerOutcome.Disclosed"/> (charged: the masked input was
    /// sent), <see cref="LedgerOutcome.Released"/> (the reservation was refunded: the round ended before disclosure),
    /// <see cref="LedgerOutcome.AbortRecorded"/> (aborted after disclosure: the charge stays), or 0 when nothing was
    /// reserved (declined) or the round was not private.
    /// </summary>
    public LedgerOutcome Ledger { get; init; }

    /// <summary>The client's total ε in its own ledger after the round (pending reservations included).</summary>
    public double LocalTotalEpsilon { get; init; }
}

/// <summary>What the update source is given.</summary>
/// <param name="Contract">The round contract the client consented to.</param>
/// <param name="Model">The model version the update must be computed against.</param>
public sealed record UpdateRequest(RoundContract Contract, ModelRelease Model);

/// <summary>Options of a <see cref="ClientRound"/>.</summary>
public sealed class ClientRoundOptions
{
    /// <summary>
    /// The local privacy policy and ledger. The ledger must implement <see cref="Privacy.Ledger.IDisclosureLedger"/>: the
    /// round is reserved (a durable pending record) before anything is sent, charged when the masked input is sent, and
    /// released when the round ends before that.
    /// </summary>
    public required ClientPrivacyGuard Guard { get; init; }

    /// <summary>Computes the local update for a round.</summary>
    public required Func<UpdateRequest, CancellationToken, Task<LocalUpdate>> UpdateSource { get; init; }

    /// <summary>Randomness of the protocol (keys, seeds; null: the OS CSPRNG).</summary>
    public RandomSource? ProtocolRandom { get; init; }

    /// <summary>Randomness of the DP noise and rounding (null: the OS CSPRNG).</summary>
    public RandomSource? NoiseRandom { get; init; }

    /// <summary>Malicious mode: this client's identity key (its public key must be the roster's key for <see cref="Self"/>).</summary>
    public IdentitySigningKey? Identity { get; init; }

    /// <summary>
    /// Malicious mode: verifies the current roster against the pinned authority key, once per round before any key is
    /// made (e.g. fetch it, <see cref="RosterVerifier.Verify"/> with the persisted checkpoint). The cohort's identity keys
    /// come from the verified roster only.
    /// </summary>
    public Func<CancellationToken, Task<RosterVerification>>? Roster { get; init; }

    /// <summary>Malicious mode: this client's roster name (organisation and roster client id).</summary>
    public MemberName? Self { get; init; }

    /// <summary>
    /// Malicious mode: the cohort policy (all members current roster members, none twice, at least
    /// <see cref="SecureFedRec.Roster.CohortPolicy.MinOrganisations"/> distinct organisations).
    /// </summary>
    public CohortPolicy? CohortPolicy { get; init; }

    /// <summary>
    /// Receives warnings meant for the operator's log (e.g. every honest-but-curious round taken part in); null: none.
    /// </summary>
    public Action<string>? OnWarning { get; init; }

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
            return await DeclineAsync(transport, invitation, Result(roundId, ClientRoundOutcome.Declined, reason, detail), cancellationToken).ConfigureAwait(false);
        }

        // The cohort: in malicious mode verified against the roster (identity keys from the roster only), before any key.
        IReadOnlyDictionary<int, IdentityPublicKey>? enrolled = null;
        IReadOnlyList<string> organisations;
        if (contract.Mode == ProtocolThreatMode.Malicious)
        {
            (ClientRoundResult? refused, enrolled, organisations) = await CheckCohortAsync(invitation, cancellationToken).ConfigureAwait(false);
            if (refused is not null)
            {
                return await DeclineAsync(transport, invitation, refused, cancellationToken).ConfigureAwait(false);
            }
        }
        else
        {
            // Honest-but-curious: the coordinator is trusted (the policy's explicit opt-in is checked below); the
            // organisations are the announced cohort's, or each member its own when none is announced.
            organisations = contract.Cohort.Count == contract.Dp.PlannedClients
                ? contract.Cohort.Select(e => e.Organisation).ToArray()
                : invitation.Opening.BeginRound.Parameters.ClientIds.Select(id => "member-" + id.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        }

        RoundOffer? offer = contract.IsPrivate ? Offer(invitation, organisations) : null;
        if (offer is not null)
        {
            // Consent, read-only: the plan binding, the policy and the ledger rules (budget at q = 1, abort limit).
            PolicyDecision decision = _options.Guard.Check(offer);
            if (!decision.Accepted)
            {
                return await DeclineAsync(transport, invitation, Result(roundId, ClientRoundOutcome.Declined, ClientRoundReason.PolicyDeclined, decision.Message) with { Decline = decision.Reason },
                    cancellationToken).ConfigureAwait(false);
            }
        }

        if (contract.Mode != ProtocolThreatMode.Malicious)
        {
            _options.OnWarning?.Invoke($"Round {roundId} is honest-but-curious (explicitly allowed by this client's policy): it does not protect this client's input against a coordinator that lies about dropouts or the cohort.");
        }

        // The local update is computed and shape-checked before anything is reserved or sent.
        uint[] encoded;
        try
        {
            ModelRelease model = await transport.GetModelAsync(contract.ModelVersion, cancellationToken).ConfigureAwait(false);
            LocalUpdate update = await _options.UpdateSource(new UpdateRequest(contract, model), cancellationToken).ConfigureAwait(false);
            encoded = await ComputeThreads.RunAsync(() => new UpdateCodec(contract).Encode(update, _options.NoiseRandom ?? RandomSource.System),
                cancellationToken).ConfigureAwait(false);
        }
        catch (ArgumentException ex)
        {
            return await DeclineAsync(transport, invitation, Result(roundId, ClientRoundOutcome.Declined, ClientRoundReason.UpdateFailed, ex.Message), cancellationToken).ConfigureAwait(false);
        }

        if (offer is not null)
        {
            // A durable pending record before the first message: it counts against the budget until released.
            (PolicyDecision reserved, _) = _options.Guard.Reserve(offer);
            if (!reserved.Accepted)
            {
                Array.Clear(encoded);
                return await DeclineAsync(transport, invitation, Result(roundId, ClientRoundOutcome.Declined, ClientRoundReason.PolicyDeclined, reserved.Message) with { Decline = reserved.Reason },
                    cancellationToken).ConfigureAwait(false);
            }
        }

        var disclosure = new Disclosure(offer is null ? null : _options.Guard, contract.LedgerRoundId);
        try
        {
            using var session = new SecAggClientSession(new ClientOptions(invitation.ClientNumber, _ => encoded)
            {
                Random = _options.ProtocolRandom,
                Identity = enrolled is null ? null : _options.Identity,
                EnrolledIdentities = enrolled,
            });
            ClientRoundResult result = await DriveAsync(transport, roundId, session, invitation.Opening, disclosure, cancellationToken).ConfigureAwait(false);
            return disclosure.Finish(result) with { LocalTotalEpsilon = _options.Guard.Ledger.TotalEpsilon };
        }
        catch (Exception ex) when (!disclosure.Disclosed && disclosure.Reserved)
        {
            // Nothing that unmasks this input was sent: refund (the exception propagates).
            disclosure.Release("transport failure: " + ex.GetType().Name);
            throw;
        }
        finally
        {
            Array.Clear(encoded);
        }
    }

    /// <summary>
    /// The malicious-mode cohort checks, in order (each a typed refusal before any key is made): this client's
    /// identity, roster provider, name and cohort policy are configured (<c>malicious-config</c>); the roster verifies
    /// (<c>roster-verified</c>); the announced cohort passes the cohort policy against it (<c>cohort-policy</c>); the
    /// entry at this client's number is its own name (<c>own-entry</c>) holding its own identity key (<c>own-key</c>).
    /// The protocol's enrolled identities are the roster's keys of the cohort, by client number.
    /// </summary>
    private async Task<(ClientRoundResult?, IReadOnlyDictionary<int, IdentityPublicKey>?, IReadOnlyList<string>)> CheckCohortAsync(RoundInvitation invitation,
        CancellationToken cancellationToken)
    {
        RoundContract contract = invitation.Contract;
        ulong roundId = contract.RoundId;
        string? missing = _options.Identity is null ? "this client's identity key (Identity)"
            : _options.Roster is null ? "a roster provider (Roster)"
            : _options.Self is null ? "this client's roster name (Self)"
            : _options.CohortPolicy is null ? "a cohort policy (CohortPolicy)"
            : null;
        if (missing is not null)
        {
            return (Result(roundId, ClientRoundOutcome.Declined, ClientRoundReason.MaliciousModeUnsupported,
                $"Declined by rule 'malicious-config': a malicious-mode round needs {missing}."), null, []);
        }

        RosterVerification verification = await _options.Roster!(cancellationToken).ConfigureAwait(false);
        if (!verification.Check.Passed || verification.Roster is null)
        {
            RosterRefusal refusal = verification.Check.Passed ? RosterRefusal.Malformed : verification.Check.Refusal;
            return (Result(roundId, ClientRoundOutcome.Declined, ClientRoundReason.RosterRefused,
                $"Declined by rule 'roster-verified': {refusal}: {verification.Check.Detail}") with
            { Roster = refusal }, null, []);
        }

        VerifiedRoster roster = verification.Roster;
        CohortMember[] members = contract.Cohort.Select(e => new CohortMember(e.Organisation, e.ClientId)).ToArray();
        CohortCheck cohort = _options.CohortPolicy!.Check(roster, members, _time.GetUtcNow());
        if (!cohort.Check.Passed)
        {
            return (Result(roundId, ClientRoundOutcome.Declined, ClientRoundReason.CohortRefused,
                $"Declined by rule 'cohort-policy': {cohort.Check.Refusal}: {cohort.Check.Detail}") with
            { Roster = cohort.Check.Refusal }, null, []);
        }

        int own = -1;
        for (int i = 0; i < contract.Cohort.Count; i++)
        {
            if (contract.Cohort[i].ClientNumber == invitation.ClientNumber)
            {
                own = i;
            }
        }

        MemberName self = _options.Self!;
        if (own < 0 || !string.Equals(contract.Cohort[own].Organisation, self.Organisation, StringComparison.Ordinal)
            || !string.Equals(contract.Cohort[own].ClientId, self.ClientId, StringComparison.Ordinal))
        {
            string announced = own < 0 ? "no entry" : contract.Cohort[own].Name.ToString();
            return (Result(roundId, ClientRoundOutcome.Declined, ClientRoundReason.OwnEntryMismatch,
                $"Declined by rule 'own-entry': the cohort entry at this client's number {invitation.ClientNumber} is {announced}, not {self}."), null, []);
        }

        RosterMember mine = cohort.Members[own];
        if (mine.Suite != _options.Identity!.Suite || !mine.PublicKey.Span.SequenceEqual(_options.Identity.PublicKey))
        {
            return (Result(roundId, ClientRoundOutcome.Declined, ClientRoundReason.IdentityKeyMismatch,
                $"Declined by rule 'own-key': the roster's key for {self} is not this client's identity key."), null, []);
        }

        var enrolled = new Dictionary<int, IdentityPublicKey>(contract.Cohort.Count);
        for (int i = 0; i < contract.Cohort.Count; i++)
        {
            enrolled[contract.Cohort[i].ClientNumber] = new IdentityPublicKey(cohort.Members[i].Suite, cohort.Members[i].PublicKey.ToArray());
        }

        return (null, enrolled, cohort.Members.Select(m => m.Organisation).ToArray());
    }

    /// <summary>What the client consents to: the DP plan bound to the secure-aggregation round it was invited to.</summary>
    private static RoundOffer Offer(RoundInvitation invitation, IReadOnlyList<string> organisations)
    {
        RoundContract contract = invitation.Contract;
        RoundParameters p = invitation.Opening.BeginRound.Parameters;
        return new RoundOffer
        {
            RoundId = contract.LedgerRoundId,
            Plan = contract.AccountingParameters,
            Threshold = (int)Math.Min(p.Threshold, int.MaxValue),
            CohortSize = p.ClientIds.Count,
            Graph = (SecAggGraph)(int)p.GraphKind,
            GraphDegree = (int)Math.Min(p.GraphDegree, int.MaxValue),
            ThreatMode = contract.Mode == ProtocolThreatMode.Malicious ? PolicyThreatMode.SemiMalicious : PolicyThreatMode.CuriousServer,
            CohortOrganisations = organisations,
            ClaimedRoundEpsilon = contract.ClaimedEpsilon,
        };
    }

    private async Task<ClientRoundResult> DriveAsync(IRoundTransport transport, ulong roundId, SecAggClientSession session, ServerToClient first,
        Disclosure disclosure, CancellationToken cancellationToken)
    {
        ServerToClient message = first;
        while (true)
        {
            ServerToClient current = message;
            ClientSessionStep step = await ComputeThreads.RunAsync(() => session.Handle(current), cancellationToken).ConfigureAwait(false);
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
                // The masked input is the first message after which this input can be released without any further
                // message of its own (dp.md §7.3): the charge is made final, durably, before it is handed over.
                if (disclosure.BeforeSend(reply) is { } refused)
                {
                    return Result(roundId, ClientRoundOutcome.Aborted, ClientRoundReason.LedgerRefused,
                        $"Declined by rule 'ledger': the disclosure could not be recorded ({refused.Outcome}: {refused.Message}); the masked input was not sent.");
                }

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
        if (!matches)
        {
            return (ClientRoundReason.ContractMismatch, "The secure-aggregation parameters do not bind the announced contract (round, d, b, threat mode, cohort size n = planned clients, threshold t = the DP plan's minimum clients, membership, binding).");
        }

        // A listed cohort names exactly the protocol's client ids, in order (a malicious contract always lists it).
        return contract.Cohort.Count == 0 || contract.Cohort.Select(e => (uint)e.ClientNumber).SequenceEqual(p.ClientIds)
            ? (ClientRoundReason.None, null)
            : (ClientRoundReason.ContractMismatch, "The contract's cohort does not list exactly the round's protocol client ids (rule cohort-listed).");
    }

    /// <summary>Tells the coordinator at once (a ClientAbort, no keys) so it need not wait for the deadline; returns <paramref name="result"/>.</summary>
    private async Task<ClientRoundResult> DeclineAsync(IRoundTransport transport, RoundInvitation invitation, ClientRoundResult result, CancellationToken cancellationToken)
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
        return result with { LocalTotalEpsilon = _options.Guard.Ledger.TotalEpsilon };
    }

    private ClientRoundResult Result(ulong roundId, ClientRoundOutcome outcome, ClientRoundReason reason, string? detail) =>
        new(roundId, outcome, reason, detail) { LocalTotalEpsilon = _options.Guard.Ledger.TotalEpsilon };

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>
    /// The round's reservation in the client's ledger (none for a round that is not private): made final right before
    /// the masked input is handed to the transport, released (or its abort recorded, after disclosure) when the round
    /// ends any other way than completed. A crash leaves it pending, which counts as charged.
    /// </summary>
    private sealed class Disclosure(ClientPrivacyGuard? guard, string roundId)
    {
        private bool _resolved;

        public bool Reserved => guard is not null;

        public bool Disclosed { get; private set; }

        private bool KeysAdvertised { get; set; }

        private LedgerOutcome Outcome { get; set; }

        /// <summary>Called before a reply is handed to the transport; a ledger refusal (do not send) or null.</summary>
        public LedgerDecision? BeforeSend(ClientToServer reply)
        {
            if (reply.MessageCase == ClientToServer.MessageOneofCase.AdvertiseKeys)
            {
                // Counted as advertised from the moment it is handed over (a transport failure may still have delivered it).
                KeysAdvertised = true;
            }

            if (guard is null || Disclosed || reply.MessageCase != ClientToServer.MessageOneofCase.MaskedInput)
            {
                return null;
            }

            LedgerDecision decision = guard.MarkDisclosed(roundId);
            if (decision.Outcome != LedgerOutcome.Disclosed)
            {
                return decision;
            }

            Disclosed = true;
            Outcome = LedgerOutcome.Disclosed;
            return null;
        }

        public void Release(string reason)
        {
            if (guard is null || _resolved)
            {
                return;
            }

            _resolved = true;
            Outcome = guard.Release(roundId, KeysAdvertised, reason).Outcome;
        }

        public ClientRoundResult Finish(ClientRoundResult result)
        {
            if (guard is null)
            {
                return result;
            }

            if (result.Outcome != ClientRoundOutcome.Completed)
            {
                Release(result.Outcome + "/" + result.Reason);
            }

            return result with { Ledger = Outcome };
        }
    }
}
