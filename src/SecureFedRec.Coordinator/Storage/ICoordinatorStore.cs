namespace SecureFedRec.Coordinator.Storage;

/// <summary>
/// Durable state of a coordinator: enrolments, rounds and their phase, model versions, and the privacy ledger.
/// Implementations: <see cref="SqliteCoordinatorStore"/> (default, one file) and <see cref="PostgresCoordinatorStore"/>
/// (several coordinator instances on one database).
/// </summary>
/// <remarks>
/// Every method is atomic and durable when its task completes (SQLite: WAL with synchronous=FULL; PostgreSQL: a
/// committed transaction). Thread-safe. Refusals are typed: <see cref="StoreConflictException"/> for a write that would
/// contradict what is stored (another key under an enrolled id, another model for a released round), never a silent
/// overwrite. The ledger is append-only and keyed by round id, so a round is never charged twice. Ledger rows and model
/// rows are hash-chained and every model row records the ledger head it was released under (<see cref="LedgerChain"/>,
/// <c>protocol-spec/ledger.md</c>); <see cref="VerifyLedgerAsync"/> checks both chains and the anchors.
/// </remarks>
public interface ICoordinatorStore : IAsyncDisposable
{
    /// <summary>Creates the schema when missing (idempotent).</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Records an enrolment, or returns the existing one for the same id and key (idempotent). Assigns the client its
    /// protocol number (1, 2, … in enrolment order).
    /// </summary>
    Task<EnrolmentRecord> EnrolAsync(string clientId, byte[] publicKey, string displayName, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>The enrolment of <paramref name="clientId"/>, or null.</summary>
    Task<EnrolmentRecord?> GetEnrolmentAsync(string clientId, CancellationToken cancellationToken = default);

    /// <summary>All enrolments, by protocol number.</summary>
    Task<IReadOnlyList<EnrolmentRecord>> ListEnrolmentsAsync(CancellationToken cancellationToken = default);

    /// <summary>Opens a new round (id assigned by the store, increasing).</summary>
    Task<RoundRecord> CreateRoundAsync(long modelVersion, string parametersJson, string phase, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves a round to <paramref name="phase"/>; <paramref name="outcome"/> set when it ends, which also deletes the round's
    /// journal in the same transaction (a finished round is never resumed).
    /// </summary>
    Task UpdateRoundAsync(long roundId, string phase, string? outcome, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends entries to the journal of open round <paramref name="roundId"/> (what the round host must replay to rebuild
    /// the round after a crash: its plan, each accepted client message, each phase close), all in one transaction. Keyed
    /// by (round, sequence): storing an entry again with the same kind and body is a no-op (a retried write); a different
    /// entry under a stored sequence, an unknown round, or a finished round is refused with
    /// <see cref="StoreConflictException"/>.
    /// </summary>
    Task AppendJournalAsync(long roundId, IReadOnlyList<JournalRecord> entries, CancellationToken cancellationToken = default);

    /// <summary>The journal of a round, by sequence (empty once the round finished, or when it never wrote one).</summary>
    Task<IReadOnlyList<JournalRecord>> ListJournalAsync(long roundId, CancellationToken cancellationToken = default);

    /// <summary>A round, or null.</summary>
    Task<RoundRecord?> GetRoundAsync(long roundId, CancellationToken cancellationToken = default);

    /// <summary>Rounds without an outcome (left behind by a crash), oldest first.</summary>
    Task<IReadOnlyList<RoundRecord>> ListOpenRoundsAsync(CancellationToken cancellationToken = default);

    /// <summary>Number of rounds by outcome (null key: still open).</summary>
    Task<IReadOnlyList<RoundRecord>> ListRoundsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends model version <c>latest + 1</c> (the first is 1) produced by <paramref name="roundId"/> (round 0: the initial model).
    /// Idempotent per round: a second call for the same round returns the stored version if the bytes are equal and
    /// throws <see cref="StoreConflictException"/> otherwise.
    /// </summary>
    Task<ModelVersionRecord> AppendModelAsync(long roundId, byte[] model, string epsilon, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>A model version (0: the latest), or null when none.</summary>
    Task<ModelVersionRecord?> GetModelAsync(long version, CancellationToken cancellationToken = default);

    /// <summary>All model versions, oldest first, without their bytes.</summary>
    Task<IReadOnlyList<ModelVersionRecord>> ListModelsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends a ledger entry for <paramref name="entry"/>.RoundId. Returns the stored entry and whether it was new; a
    /// second append for the same round returns the first one unchanged (never a second charge).
    /// </summary>
    Task<(LedgerRecord Entry, bool Added)> AppendLedgerAsync(LedgerRecord entry, CancellationToken cancellationToken = default);

    /// <summary>The ledger, oldest first, with each row's chain hashes.</summary>
    Task<IReadOnlyList<LedgerRecord>> ListLedgerAsync(CancellationToken cancellationToken = default);

    /// <summary>The head of the stored ledger chain (row count and last row hash), for clients and auditors to record and
    /// compare later.</summary>
    Task<LedgerHead> GetLedgerHeadAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Verifies the ledger and model chains and each model's ledger anchor (<see cref="LedgerChain.Verify"/>), the stored
    /// digest of the latest model's bytes (of every model's when <paramref name="allModelBytes"/>), and, when given, that the
    /// ledger contains <paramref name="expected"/>. Never throws for a broken chain: the result names the first broken row.
    /// </summary>
    Task<LedgerVerification> VerifyLedgerAsync(LedgerHead? expected = null, bool allModelBytes = false, CancellationToken cancellationToken = default);
}

/// <summary>An enrolled client.</summary>
/// <param name="ClientId">Lowercase hex SHA-256 of the public key.</param>
/// <param name="Number">Protocol client number in [1, 2^31), assigned in enrolment order.</param>
/// <param name="PublicKey">65-byte SEC1 P-256 identity key.</param>
/// <param name="DisplayName">Operator-facing label.</param>
/// <param name="EnrolledAt">First enrolment time.</param>
public sealed record EnrolmentRecord(string ClientId, int Number, byte[] PublicKey, string DisplayName, DateTimeOffset EnrolledAt);

/// <summary>A round as stored.</summary>
public sealed record RoundRecord(long RoundId, long ModelVersion, string ParametersJson, string Phase, string? Outcome, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>One entry of a round's journal: its place, its kind (<c>open</c>, <c>message</c>, <c>close</c>) and its
/// bytes, opaque to the store (their encoding is the round host's, <c>protocol-spec/coordinator.md</c> "Round journal").</summary>
/// <param name="Sequence">Position in the round's journal (0: the round's plan).</param>
/// <param name="Kind">Entry kind.</param>
/// <param name="Body">Entry bytes.</param>
/// <param name="RecordedAt">When it was written.</param>
public sealed record JournalRecord(long Sequence, string Kind, byte[] Body, DateTimeOffset RecordedAt);

/// <summary>A released model version (bytes empty in listings) and its place in the model chain.</summary>
public sealed record ModelVersionRecord(long Version, long RoundId, byte[] Model, string Epsilon, DateTimeOffset ReleasedAt)
{
    /// <summary>Lowercase hex SHA-256 of the model bytes, as stored at release.</summary>
    public string ModelDigest { get; init; } = string.Empty;

    /// <summary>Number of ledger rows when this version was released (the ledger head it was released under).</summary>
    public long LedgerCount { get; init; }

    /// <summary>Hash of ledger row <see cref="LedgerCount"/> (zeros for 0).</summary>
    public string LedgerHead { get; init; } = string.Empty;

    /// <summary>Hash of the previous model row (zeros for version 1).</summary>
    public string PreviousHash { get; init; } = string.Empty;

    /// <summary>This row's hash (<see cref="LedgerChain.ModelRowHash"/>).</summary>
    public string Hash { get; init; } = string.Empty;
}

/// <summary>
/// One privacy-ledger entry: the round, the mechanism parameters (JSON), how many clients' noise the sum held, and ε of
/// the round and in total at the ledger's δ, as computed by the privacy accountant before the release.
/// </summary>
public sealed record LedgerRecord(long Sequence, string RoundId, DateTimeOffset RecordedAt, string ParametersJson, int ContributingClients, double RoundEpsilon, double TotalEpsilon)
{
    /// <summary>Hash of the previous ledger row (zeros for row 1); set by the store, ignored on append.</summary>
    public string PreviousHash { get; init; } = string.Empty;

    /// <summary>This row's hash (<see cref="LedgerChain.LedgerRowHash"/>); set by the store, ignored on append.</summary>
    public string Hash { get; init; } = string.Empty;
}

/// <summary>A write that contradicts the stored state (nothing was changed).</summary>
public sealed class StoreConflictException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StoreConflictException(string message)
        : base(message)
    {
    }
}
