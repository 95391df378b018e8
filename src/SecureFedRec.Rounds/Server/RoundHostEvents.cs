using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Transport;

namespace SecureFedRec.Rounds.Server;

/// <summary>How a round ended on the coordinator. Closed vocabulary (store, metrics, logs).</summary>
public enum ServerRoundOutcome
{
    /// <summary>Not finished.</summary>
    Unspecified = 0,

    /// <summary>The aggregate was decoded, charged and released as a new model version.</summary>
    Released = 1,

    /// <summary>Fewer than t clients remained in some phase.</summary>
    AbortedTooFewClients = 2,

    /// <summary>The shares did not reconstruct the masks.</summary>
    AbortedReconstructionFailed = 3,

    /// <summary>Aborted by the operator or a restart.</summary>
    AbortedByOperator = 4,

    /// <summary>The sum could not be trusted not to have wrapped (DP decode failure): nothing released, nothing charged.</summary>
    WithheldDecodeFailed = 5,

    /// <summary>The ledger refused the charge (budget): nothing released.</summary>
    WithheldLedgerRefused = 6,
}

/// <summary>A round was opened.</summary>
/// <param name="Plan">Its plan (contract, threshold, graph).</param>
/// <param name="Cohort">The selected callers, in protocol-number order (number = index + 1).</param>
/// <param name="OpenedAt">When (host clock).</param>
public sealed record RoundOpened(RoundPlan Plan, IReadOnlyList<string> Cohort, DateTimeOffset OpenedAt)
{
    /// <summary>
    /// Malicious mode: the roster identity key of each cohort member, in protocol-number order, under which the session
    /// verifies its signatures (journaled with the plan, so a resumed round replays under the same keys); null otherwise.
    /// </summary>
    public IReadOnlyList<Crypto.IdentityPublicKey>? Identities { get; init; }
}

/// <summary>A phase was closed.</summary>
/// <param name="RoundId">The round.</param>
/// <param name="Closed">The phase that closed.</param>
/// <param name="Next">The phase now open (or terminal).</param>
/// <param name="Answered">Expected clients that answered.</param>
/// <param name="Expected">Clients expected to answer.</param>
/// <param name="Duration">How long the phase was open.</param>
public sealed record PhaseClosed(ulong RoundId, Phase Closed, Phase Next, int Answered, int Expected, TimeSpan Duration);

/// <summary>A round finished.</summary>
/// <param name="Contract">Its contract.</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Contributors">Clients whose inputs are in the sum (0 when aborted).</param>
/// <param name="Sum">The released aggregate (decoded, noised), only when <see cref="ServerRoundOutcome.Released"/>.</param>
/// <param name="Release">The released model version, only when released.</param>
/// <param name="Dropped">Callers dropped from the round, with the reason.</param>
/// <param name="Detail">Diagnostic text (decode failure, ledger message), no secrets.</param>
public sealed record RoundFinished(RoundContract Contract, ServerRoundOutcome Outcome, int Contributors, IReadOnlyList<double>? Sum,
    ModelRelease? Release, IReadOnlyDictionary<string, DropReason> Dropped, string? Detail);

/// <summary>
/// What a host (the coordinator: store writes, metrics, logging; the simulation: collecting the aggregate) is told about
/// rounds. Every method has a no-op default. <see cref="OnModelReleasedAsync"/> runs before the version becomes
/// fetchable and must make it durable (a failure there leaves the round unreleased but charged: the ledger entry is
/// the conservative side). Called from the host's driver only (one at a time), except <see cref="OnClientDropped"/> and
/// <see cref="OnProtocolRefused"/>, which RPC threads may call.
/// </summary>
public class RoundHostEvents
{
    /// <summary>Chooses the id of the round about to open (default: <paramref name="proposed"/>, one above the last).</summary>
    public virtual Task<ulong> AllocateRoundIdAsync(ulong proposed, RoundContract draft, IReadOnlyList<string> cohort, CancellationToken cancellationToken) =>
        Task.FromResult(proposed);

    /// <summary>A round opened.</summary>
    public virtual Task OnRoundOpenedAsync(RoundOpened opened, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>A phase closed.</summary>
    public virtual Task OnPhaseClosedAsync(PhaseClosed closed, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>A new model version is about to be released: persist it.</summary>
    public virtual Task OnModelReleasedAsync(ModelRelease release, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>A round finished (after any release).</summary>
    public virtual Task OnRoundFinishedAsync(RoundFinished finished, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>A model version not held in memory is asked for (e.g. an old version kept in the store).</summary>
    public virtual Task<ModelRelease?> LoadModelAsync(ulong version, CancellationToken cancellationToken) => Task.FromResult<ModelRelease?>(null);

    /// <summary>The host refused to open a round its ledger's budget cannot release, and opens no more (logged once).</summary>
    public virtual void OnBudgetExhausted(BudgetExhaustion exhaustion)
    {
    }

    /// <summary>The planner refused to plan a round for <paramref name="clients"/> clients.</summary>
    public virtual void OnPlanRefused(int clients, RoundPlanRefusal refusal, string? detail)
    {
    }

    /// <summary>A client left a round.</summary>
    public virtual void OnClientDropped(ulong roundId, string caller, DropReason reason)
    {
    }

    /// <summary>
    /// A selected caller was left out of the cohort of the round about to open: it has no roster identity
    /// (<see cref="RoundHostOptions.IdentityOf"/> returned null) in malicious mode, or its roster name or key is already
    /// in the cohort. It stays out of this round; <paramref name="reason"/> names the rule.
    /// </summary>
    public virtual void OnCohortCandidateRefused(string caller, string reason)
    {
    }

    /// <summary>
    /// A round opened in honest-but-curious mode (the coordinator's explicit opt-in): it does not protect an input
    /// against a coordinator that lies about dropouts or cohort membership. Hosts log it as a warning, every round.
    /// </summary>
    public virtual void OnHonestButCuriousRound(RoundPlan plan)
    {
    }

    /// <summary>The protocol refused a client's message (the sender stays in the round).</summary>
    public virtual void OnProtocolRefused(ulong roundId, string caller, Phase phase, string detail)
    {
    }
}
