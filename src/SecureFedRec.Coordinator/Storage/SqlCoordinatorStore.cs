using System.Data.Common;

namespace SecureFedRec.Coordinator.Storage;

/// <summary>
/// The SQL shared by the SQLite and PostgreSQL stores: one schema (the dialects differ only in the blob and
/// auto-increment types), named <c>@parameters</c>, <c>ON CONFLICT DO NOTHING</c> and <c>RETURNING</c>, which both
/// engines support. Times are stored as Unix milliseconds; ε as the exact decimal strings the protocol carries.
/// </summary>
/// <remarks>Schema 2 adds the hash chains (<see cref="LedgerChain"/>): <c>prev_hash</c>/<c>row_hash</c> on ledger and model
/// rows, and on model rows the model digest and the ledger head (<c>ledger_count</c>, <c>ledger_head</c>) each version was
/// released under. A schema-1 store is upgraded in one transaction by <see cref="InitializeAsync"/>: the existing rows are
/// chained as found (the chain protects them from then on, not before) and each existing model is anchored at the ledger
/// rows recorded at or before its release time; <see cref="UpgradedFromSchema"/> is set for the host to log.
/// Schema 3 adds <c>round_journal</c>, the durable journal of the open round (<see cref="AppendJournalAsync"/>): a schema-2
/// store is upgraded by creating the empty table (nothing else changes).</remarks>
public abstract class SqlCoordinatorStore : ICoordinatorStore
{
    private const int SchemaVersion = 3;
    private const int ChainedSchemaVersion = 2;
    private const string LedgerColumns = "sequence, round_id, recorded_at, parameters, contributing_clients, round_epsilon, total_epsilon, prev_hash, row_hash";
    private const string ModelColumns = "version, round_id, model, epsilon, released_at, model_digest, ledger_count, ledger_head, prev_hash, row_hash";
    private const string ModelColumnsWithoutBytes = "version, round_id, epsilon, released_at, model_digest, ledger_count, ledger_head, prev_hash, row_hash";
    private const int MaxInsertAttempts = 5;

    /// <summary>Opens a new connection, ready for use.</summary>
    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Column type of binary data.</summary>
    protected abstract string BlobType { get; }

    /// <summary>Column definition of an auto-increment 64-bit primary key.</summary>
    protected abstract string SerialPrimaryKey { get; }

    /// <summary>Whether an exception is a unique-constraint violation.</summary>
    protected abstract bool IsUniqueViolation(DbException exception);

    /// <summary>
    /// Serializes appends to <paramref name="table"/> across connections and instances for the rest of
    /// <paramref name="transaction"/>, so "read MAX, insert MAX + 1" cannot race. Default: nothing (SQLite's write
    /// transactions are already exclusive); PostgreSQL takes a transaction-scoped advisory lock. The unique constraints and
    /// the retry loop stay as a second line of defence.
    /// </summary>
    protected virtual Task LockAppendsAsync(DbConnection connection, DbTransaction transaction, string table, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    /// <summary>The schema version this store was upgraded from by the last <see cref="InitializeAsync"/>, or null.</summary>
    public int? UpgradedFromSchema { get; private set; }

    /// <inheritdoc />
    public virtual async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        string[] ddl =
        [
            "CREATE TABLE IF NOT EXISTS sfr_schema (version INTEGER NOT NULL)",
            $"CREATE TABLE IF NOT EXISTS enrolments (number {SerialPrimaryKey}, client_id TEXT NOT NULL UNIQUE, public_key {BlobType} NOT NULL, display_name TEXT NOT NULL, enrolled_at BIGINT NOT NULL)",
            $"CREATE TABLE IF NOT EXISTS rounds (round_id {SerialPrimaryKey}, model_version BIGINT NOT NULL, parameters TEXT NOT NULL, phase TEXT NOT NULL, outcome TEXT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
            $"CREATE TABLE IF NOT EXISTS models (version BIGINT PRIMARY KEY, round_id BIGINT NOT NULL UNIQUE, model {BlobType} NOT NULL, epsilon TEXT NOT NULL, released_at BIGINT NOT NULL, model_digest TEXT NULL, ledger_count BIGINT NULL, ledger_head TEXT NULL, prev_hash TEXT NULL, row_hash TEXT NULL)",
            "CREATE TABLE IF NOT EXISTS ledger (sequence BIGINT PRIMARY KEY, round_id TEXT NOT NULL UNIQUE, recorded_at BIGINT NOT NULL, parameters TEXT NOT NULL, contributing_clients INTEGER NOT NULL, round_epsilon DOUBLE PRECISION NOT NULL, total_epsilon DOUBLE PRECISION NOT NULL, prev_hash TEXT NULL, row_hash TEXT NULL)",
            $"CREATE TABLE IF NOT EXISTS round_journal (round_id BIGINT NOT NULL, sequence BIGINT NOT NULL, kind TEXT NOT NULL, body {BlobType} NOT NULL, recorded_at BIGINT NOT NULL, PRIMARY KEY (round_id, sequence))",
        ];
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using DbTransaction tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (string statement in ddl)
        {
            await ExecuteAsync(connection, tx, statement, cancellationToken).ConfigureAwait(false);
        }

        await LockAppendsAsync(connection, tx, "ledger", cancellationToken).ConfigureAwait(false);
        await LockAppendsAsync(connection, tx, "models", cancellationToken).ConfigureAwait(false);
        object? version = await ScalarAsync(connection, tx, "SELECT MAX(version) FROM sfr_schema", cancellationToken).ConfigureAwait(false);
        int found = version is null or DBNull ? 0 : Convert.ToInt32(version, System.Globalization.CultureInfo.InvariantCulture);
        if (found == 0)
        {
            await ExecuteAsync(connection, tx, "INSERT INTO sfr_schema (version) VALUES (@v)", cancellationToken, ("@v", SchemaVersion)).ConfigureAwait(false);
        }
        else if (found == 1)
        {
            await UpgradeFromSchema1Async(connection, tx, cancellationToken).ConfigureAwait(false);
            UpgradedFromSchema = 1;
        }
        else if (found == 2)
        {
            // Schema 3 only adds round_journal, created above.
            await ExecuteAsync(connection, tx, "UPDATE sfr_schema SET version = @v", cancellationToken, ("@v", SchemaVersion)).ConfigureAwait(false);
            UpgradedFromSchema = 2;
        }
        else if (found != SchemaVersion)
        {
            throw new StoreConflictException("The store has schema version " + found + "; this coordinator reads versions 1 and 2 (upgraded on start) and " + SchemaVersion + ".");
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<EnrolmentRecord> EnrolAsync(string clientId, byte[] publicKey, string displayName, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        ArgumentNullException.ThrowIfNull(publicKey);
        ArgumentNullException.ThrowIfNull(displayName);
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null,
            "INSERT INTO enrolments (client_id, public_key, display_name, enrolled_at) VALUES (@id, @key, @name, @at) ON CONFLICT (client_id) DO NOTHING",
            cancellationToken, ("@id", clientId), ("@key", publicKey), ("@name", displayName), ("@at", now.ToUnixTimeMilliseconds())).ConfigureAwait(false);
        EnrolmentRecord stored = (await GetEnrolmentAsync(connection, clientId, cancellationToken).ConfigureAwait(false))!;
        if (!stored.PublicKey.AsSpan().SequenceEqual(publicKey))
        {
            throw new StoreConflictException("Client id " + clientId + " is enrolled with another key.");
        }

        return stored;
    }

    /// <inheritdoc />
    public async Task<EnrolmentRecord?> GetEnrolmentAsync(string clientId, CancellationToken cancellationToken = default)
    {
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await GetEnrolmentAsync(connection, clientId, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<EnrolmentRecord?> GetEnrolmentAsync(DbConnection connection, string clientId, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync(connection, null,
            "SELECT client_id, number, public_key, display_name, enrolled_at FROM enrolments WHERE client_id = @id",
            ReadEnrolment, cancellationToken, ("@id", clientId)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<EnrolmentRecord>> ListEnrolmentsAsync(CancellationToken cancellationToken = default)
    {
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null,
            "SELECT client_id, number, public_key, display_name, enrolled_at FROM enrolments ORDER BY number",
            ReadEnrolment, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<RoundRecord> CreateRoundAsync(long modelVersion, string parametersJson, string phase, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        long at = now.ToUnixTimeMilliseconds();
        var rows = await QueryAsync(connection, null,
            "INSERT INTO rounds (model_version, parameters, phase, outcome, created_at, updated_at) VALUES (@v, @p, @ph, NULL, @at, @at) RETURNING round_id, model_version, parameters, phase, outcome, created_at, updated_at",
            ReadRound, cancellationToken, ("@v", modelVersion), ("@p", parametersJson), ("@ph", phase), ("@at", at)).ConfigureAwait(false);
        return rows[0];
    }

    /// <inheritdoc />
    public async Task UpdateRoundAsync(long roundId, string phase, string? outcome, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using DbTransaction tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        int changed = await ExecuteAsync(connection, tx,
            "UPDATE rounds SET phase = @ph, outcome = @o, updated_at = @at WHERE round_id = @id",
            cancellationToken, ("@ph", phase), ("@o", (object?)outcome ?? DBNull.Value), ("@at", now.ToUnixTimeMilliseconds()), ("@id", roundId)).ConfigureAwait(false);
        if (changed != 1)
        {
            throw new StoreConflictException("No round " + roundId + ".");
        }

        if (outcome is not null)
        {
            // A finished round is never resumed: its journal (what its clients sent) goes with the outcome, atomically.
            await ExecuteAsync(connection, tx, "DELETE FROM round_journal WHERE round_id = @id", cancellationToken, ("@id", roundId)).ConfigureAwait(false);
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task AppendJournalAsync(long roundId, IReadOnlyList<JournalRecord> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return;
        }

        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using DbTransaction tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        object? outcome = await ScalarAsync(connection, tx, "SELECT outcome FROM rounds WHERE round_id = @id", cancellationToken, ("@id", roundId)).ConfigureAwait(false);
        if (outcome is null)
        {
            throw new StoreConflictException("No round " + roundId + ".");
        }

        if (outcome is not DBNull)
        {
            throw new StoreConflictException("Round " + roundId + " has finished (" + outcome + "); its journal is closed.");
        }

        foreach (JournalRecord entry in entries)
        {
            ArgumentNullException.ThrowIfNull(entry);
            ArgumentOutOfRangeException.ThrowIfNegative(entry.Sequence);
            ArgumentException.ThrowIfNullOrEmpty(entry.Kind);
            ArgumentNullException.ThrowIfNull(entry.Body);
            int added = await ExecuteAsync(connection, tx,
                "INSERT INTO round_journal (round_id, sequence, kind, body, recorded_at) VALUES (@id, @s, @k, @b, @at) ON CONFLICT (round_id, sequence) DO NOTHING",
                cancellationToken, ("@id", roundId), ("@s", entry.Sequence), ("@k", entry.Kind), ("@b", entry.Body), ("@at", entry.RecordedAt.ToUnixTimeMilliseconds())).ConfigureAwait(false);
            if (added == 0)
            {
                // A retry of a write whose commit succeeded but whose reply was lost stores the same entry again: accept it.
                // Anything else under the same sequence would rewrite the round's history.
                var stored = await QueryAsync(connection, tx, "SELECT kind, body FROM round_journal WHERE round_id = @id AND sequence = @s",
                    r => (Kind: r.GetString(0), Body: (byte[])r.GetValue(1)), cancellationToken, ("@id", roundId), ("@s", entry.Sequence)).ConfigureAwait(false);
                if (stored.Count != 1 || stored[0].Kind != entry.Kind || !stored[0].Body.AsSpan().SequenceEqual(entry.Body))
                {
                    throw new StoreConflictException("Round " + roundId + " already holds a different journal entry " + entry.Sequence + ".");
                }
            }
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<JournalRecord>> ListJournalAsync(long roundId, CancellationToken cancellationToken = default)
    {
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null,
            "SELECT sequence, kind, body, recorded_at FROM round_journal WHERE round_id = @id ORDER BY sequence",
            r => new JournalRecord(r.GetInt64(0), r.GetString(1), (byte[])r.GetValue(2), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3))),
            cancellationToken, ("@id", roundId)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<RoundRecord?> GetRoundAsync(long roundId, CancellationToken cancellationToken = default)
    {
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await QueryAsync(connection, null,
            "SELECT round_id, model_version, parameters, phase, outcome, created_at, updated_at FROM rounds WHERE round_id = @id",
            ReadRound, cancellationToken, ("@id", roundId)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RoundRecord>> ListOpenRoundsAsync(CancellationToken cancellationToken = default)
    {
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null,
            "SELECT round_id, model_version, parameters, phase, outcome, created_at, updated_at FROM rounds WHERE outcome IS NULL ORDER BY round_id",
            ReadRound, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RoundRecord>> ListRoundsAsync(CancellationToken cancellationToken = default)
    {
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null,
            "SELECT round_id, model_version, parameters, phase, outcome, created_at, updated_at FROM rounds ORDER BY round_id",
            ReadRound, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<ModelVersionRecord> AppendModelAsync(long roundId, byte[] model, string epsilon, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(epsilon);
        for (int attempt = 1; ; attempt++)
        {
            await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using DbTransaction tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await LockAppendsAsync(connection, tx, "models", cancellationToken).ConfigureAwait(false);
            var existing = await QueryAsync(connection, tx,
                "SELECT " + ModelColumns + " FROM models WHERE round_id = @r",
                r => ReadModel(r, withBytes: true), cancellationToken, ("@r", roundId)).ConfigureAwait(false);
            if (existing.Count == 1)
            {
                return existing[0].Model.AsSpan().SequenceEqual(model)
                    ? existing[0]
                    : throw new StoreConflictException("Round " + roundId + " already released a different model.");
            }

            object? max = await ScalarAsync(connection, tx, "SELECT MAX(version) FROM models", cancellationToken).ConfigureAwait(false);
            long version = max is null or DBNull ? 1 : Convert.ToInt64(max, System.Globalization.CultureInfo.InvariantCulture) + 1;
            long at = now.ToUnixTimeMilliseconds();
            // The model chain: commit to the previous model row and to the ledger head this version is released under.
            string previous = await RowHashAsync(connection, tx, "SELECT row_hash FROM models WHERE version = @v", version - 1, cancellationToken).ConfigureAwait(false);
            LedgerHead head = await GetLedgerHeadAsync(connection, tx, cancellationToken).ConfigureAwait(false);
            var record = new ModelVersionRecord(version, roundId, model, epsilon, DateTimeOffset.FromUnixTimeMilliseconds(at))
            {
                ModelDigest = LedgerChain.ModelDigest(model),
                LedgerCount = head.Count,
                LedgerHead = head.Hash,
                PreviousHash = previous,
            };
            record = record with { Hash = LedgerChain.ModelRowHash(previous, record) };
            try
            {
                await ExecuteAsync(connection, tx,
                    "INSERT INTO models (" + ModelColumns + ") VALUES (@v, @r, @m, @e, @at, @d, @lc, @lh, @ph, @rh)",
                    cancellationToken, ("@v", version), ("@r", roundId), ("@m", model), ("@e", epsilon), ("@at", at), ("@d", record.ModelDigest),
                    ("@lc", record.LedgerCount), ("@lh", record.LedgerHead), ("@ph", record.PreviousHash), ("@rh", record.Hash)).ConfigureAwait(false);
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
                return record;
            }
            catch (DbException ex) when (IsUniqueViolation(ex) && attempt < MaxInsertAttempts)
            {
                // Another coordinator instance appended concurrently: read again and retry.
            }
        }
    }

    /// <inheritdoc />
    public async Task<ModelVersionRecord?> GetModelAsync(long version, CancellationToken cancellationToken = default)
    {
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        string sql = version == 0
            ? "SELECT " + ModelColumns + " FROM models ORDER BY version DESC LIMIT 1"
            : "SELECT " + ModelColumns + " FROM models WHERE version = @v";
        var rows = await QueryAsync(connection, null, sql, r => ReadModel(r, withBytes: true), cancellationToken, ("@v", version)).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ModelVersionRecord>> ListModelsAsync(CancellationToken cancellationToken = default)
    {
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null,
            "SELECT " + ModelColumnsWithoutBytes + " FROM models ORDER BY version",
            r => ReadModel(r, withBytes: false), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<(LedgerRecord Entry, bool Added)> AppendLedgerAsync(LedgerRecord entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        for (int attempt = 1; ; attempt++)
        {
            await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using DbTransaction tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await LockAppendsAsync(connection, tx, "ledger", cancellationToken).ConfigureAwait(false);
            var existing = await QueryAsync(connection, tx,
                "SELECT " + LedgerColumns + " FROM ledger WHERE round_id = @r",
                ReadLedger, cancellationToken, ("@r", entry.RoundId)).ConfigureAwait(false);
            if (existing.Count == 1)
            {
                return (existing[0], false);
            }

            object? max = await ScalarAsync(connection, tx, "SELECT MAX(sequence) FROM ledger", cancellationToken).ConfigureAwait(false);
            long sequence = max is null or DBNull ? 1 : Convert.ToInt64(max, System.Globalization.CultureInfo.InvariantCulture) + 1;
            string previous = await RowHashAsync(connection, tx, "SELECT row_hash FROM ledger WHERE sequence = @v", sequence - 1, cancellationToken).ConfigureAwait(false);
            LedgerRecord stored = entry with
            {
                Sequence = sequence,
                RecordedAt = DateTimeOffset.FromUnixTimeMilliseconds(entry.RecordedAt.ToUnixTimeMilliseconds()),
                PreviousHash = previous,
            };
            stored = stored with { Hash = LedgerChain.LedgerRowHash(previous, stored) };
            try
            {
                await ExecuteAsync(connection, tx,
                    "INSERT INTO ledger (" + LedgerColumns + ") VALUES (@s, @r, @at, @p, @c, @re, @te, @ph, @rh)",
                    cancellationToken, ("@s", sequence), ("@r", entry.RoundId), ("@at", stored.RecordedAt.ToUnixTimeMilliseconds()),
                    ("@p", entry.ParametersJson), ("@c", entry.ContributingClients), ("@re", entry.RoundEpsilon), ("@te", entry.TotalEpsilon),
                    ("@ph", stored.PreviousHash), ("@rh", stored.Hash)).ConfigureAwait(false);
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
                return (stored, true);
            }
            catch (DbException ex) when (IsUniqueViolation(ex) && attempt < MaxInsertAttempts)
            {
                // Concurrent append by another instance: re-read; if it was this round, the first branch returns it.
            }
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<LedgerRecord>> ListLedgerAsync(CancellationToken cancellationToken = default)
    {
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await QueryAsync(connection, null,
            "SELECT " + LedgerColumns + " FROM ledger ORDER BY sequence",
            ReadLedger, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The stored schema version without changing anything (0: no SecureFedRec schema), for read-only tools such as
    /// <c>securefedrec ledger verify</c> that must not upgrade a store.</summary>
    public async Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken = default)
    {
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            object? version = await ScalarAsync(connection, null, "SELECT MAX(version) FROM sfr_schema", cancellationToken).ConfigureAwait(false);
            return version is null or DBNull ? 0 : Convert.ToInt32(version, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (DbException)
        {
            return 0;
        }
    }

    /// <summary>The schema version this build writes.</summary>
    public static int CurrentSchemaVersion => SchemaVersion;

    /// <summary>The first schema version with the ledger and model hash chains (older stores cannot be verified).</summary>
    public static int FirstChainedSchemaVersion => ChainedSchemaVersion;

    /// <inheritdoc />
    public async Task<LedgerHead> GetLedgerHeadAsync(CancellationToken cancellationToken = default)
    {
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await GetLedgerHeadAsync(connection, null, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<LedgerVerification> VerifyLedgerAsync(LedgerHead? expected = null, bool allModelBytes = false, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<LedgerRecord> ledger = await ListLedgerAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<ModelVersionRecord> models = await ListModelsAsync(cancellationToken).ConfigureAwait(false);
        LedgerVerification result = LedgerChain.Verify(ledger, models, expected);
        if (!result.Intact || models.Count == 0)
        {
            return result;
        }

        // The chain covers each model's digest; check that the bytes still match it (every version for auditors, the
        // latest — the one served — at start-up).
        foreach (ModelVersionRecord listed in allModelBytes ? models : [models[^1]])
        {
            ModelVersionRecord? full = await GetModelAsync(listed.Version, cancellationToken).ConfigureAwait(false);
            if (full is null || LedgerChain.ModelDigest(full.Model) != listed.ModelDigest)
            {
                return new LedgerVerification(false, "models", listed.Version, "its model bytes do not match the digest recorded at release: the model was replaced", result.Head);
            }
        }

        return result;
    }

    private async Task<LedgerHead> GetLedgerHeadAsync(DbConnection connection, DbTransaction? tx, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync(connection, tx, "SELECT sequence, row_hash FROM ledger ORDER BY sequence DESC LIMIT 1",
            r => new LedgerHead(r.GetInt64(0), r.IsDBNull(1) ? string.Empty : r.GetString(1)), cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? LedgerHead.Empty : rows[0];
    }

    private static async Task<string> RowHashAsync(DbConnection connection, DbTransaction tx, string sql, long key, CancellationToken cancellationToken)
    {
        if (key < 1)
        {
            return LedgerChain.Genesis;
        }

        object? hash = await ScalarAsync(connection, tx, sql, cancellationToken, ("@v", key)).ConfigureAwait(false);
        // A missing or NULL previous hash chains onto nothing valid; VerifyLedgerAsync reports that row.
        return hash is string s ? s : string.Empty;
    }

    private async Task UpgradeFromSchema1Async(DbConnection connection, DbTransaction tx, CancellationToken cancellationToken)
    {
        string[] alter =
        [
            "ALTER TABLE ledger ADD COLUMN prev_hash TEXT NULL",
            "ALTER TABLE ledger ADD COLUMN row_hash TEXT NULL",
            "ALTER TABLE models ADD COLUMN model_digest TEXT NULL",
            "ALTER TABLE models ADD COLUMN ledger_count BIGINT NULL",
            "ALTER TABLE models ADD COLUMN ledger_head TEXT NULL",
            "ALTER TABLE models ADD COLUMN prev_hash TEXT NULL",
            "ALTER TABLE models ADD COLUMN row_hash TEXT NULL",
        ];
        foreach (string statement in alter)
        {
            await ExecuteAsync(connection, tx, statement, cancellationToken).ConfigureAwait(false);
        }

        var ledger = await QueryAsync(connection, tx, "SELECT " + LedgerColumns + " FROM ledger ORDER BY sequence", ReadLedger, cancellationToken).ConfigureAwait(false);
        string previous = LedgerChain.Genesis;
        var chained = new List<LedgerRecord>(ledger.Count);
        foreach (LedgerRecord row in ledger)
        {
            LedgerRecord withHash = row with { PreviousHash = previous };
            withHash = withHash with { Hash = LedgerChain.LedgerRowHash(previous, withHash) };
            await ExecuteAsync(connection, tx, "UPDATE ledger SET prev_hash = @ph, row_hash = @rh WHERE sequence = @s", cancellationToken,
                ("@ph", withHash.PreviousHash), ("@rh", withHash.Hash), ("@s", row.Sequence)).ConfigureAwait(false);
            chained.Add(withHash);
            previous = withHash.Hash;
        }

        var models = await QueryAsync(connection, tx, "SELECT " + ModelColumns + " FROM models ORDER BY version", r => ReadModel(r, withBytes: true), cancellationToken).ConfigureAwait(false);
        previous = LedgerChain.Genesis;
        long anchored = 0;
        foreach (ModelVersionRecord model in models)
        {
            // The ledger is charged before a release, so the rows recorded at or before the release time are its anchor.
            long count = Math.Max(anchored, chained.Count(l => l.RecordedAt <= model.ReleasedAt));
            var withHash = model with
            {
                ModelDigest = LedgerChain.ModelDigest(model.Model),
                LedgerCount = count,
                LedgerHead = count == 0 ? LedgerChain.Genesis : chained[(int)count - 1].Hash,
                PreviousHash = previous,
            };
            withHash = withHash with { Hash = LedgerChain.ModelRowHash(previous, withHash) };
            await ExecuteAsync(connection, tx,
                "UPDATE models SET model_digest = @d, ledger_count = @lc, ledger_head = @lh, prev_hash = @ph, row_hash = @rh WHERE version = @v", cancellationToken,
                ("@d", withHash.ModelDigest), ("@lc", withHash.LedgerCount), ("@lh", withHash.LedgerHead), ("@ph", withHash.PreviousHash), ("@rh", withHash.Hash),
                ("@v", model.Version)).ConfigureAwait(false);
            anchored = count;
            previous = withHash.Hash;
        }

        await ExecuteAsync(connection, tx, "UPDATE sfr_schema SET version = @v", cancellationToken, ("@v", SchemaVersion)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    private static EnrolmentRecord ReadEnrolment(DbDataReader r) => new(
        r.GetString(0), checked((int)r.GetInt64(1)), (byte[])r.GetValue(2), r.GetString(3), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)));

    private static RoundRecord ReadRound(DbDataReader r) => new(
        r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)));

    private static ModelVersionRecord ReadModel(DbDataReader r, bool withBytes)
    {
        int o = withBytes ? 5 : 4;
        ModelVersionRecord record = withBytes
            ? new(r.GetInt64(0), r.GetInt64(1), (byte[])r.GetValue(2), r.GetString(3), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)))
            : new(r.GetInt64(0), r.GetInt64(1), [], r.GetString(2), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3)));
        return record with
        {
            ModelDigest = TextOrEmpty(r, o),
            LedgerCount = r.IsDBNull(o + 1) ? -1 : r.GetInt64(o + 1),
            LedgerHead = TextOrEmpty(r, o + 2),
            PreviousHash = TextOrEmpty(r, o + 3),
            Hash = TextOrEmpty(r, o + 4),
        };
    }

    private static LedgerRecord ReadLedger(DbDataReader r) => new(
        r.GetInt64(0), r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)), r.GetString(3),
        checked((int)r.GetInt64(4)), r.GetDouble(5), r.GetDouble(6))
    {
        PreviousHash = TextOrEmpty(r, 7),
        Hash = TextOrEmpty(r, 8),
    };

    private static string TextOrEmpty(DbDataReader r, int i) => r.IsDBNull(i) ? string.Empty : r.GetString(i);

    private static DbCommand Command(DbConnection connection, DbTransaction? tx, string sql, (string Name, object Value)[] parameters)
    {
        DbCommand command = connection.CreateCommand();
#pragma warning disable CA2100 // SQL text is constant in this class; values always travel as parameters.
        command.CommandText = sql;
#pragma warning restore CA2100
        command.Transaction = tx;
        foreach ((string name, object value) in parameters)
        {
            if (!sql.Contains(name, StringComparison.Ordinal))
            {
                continue;
            }

            DbParameter p = command.CreateParameter();
            p.ParameterName = name;
            p.Value = value;
            command.Parameters.Add(p);
        }

        return command;
    }

    private static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken ct, params (string Name, object Value)[] parameters)
    {
        await using DbCommand command = Command(connection, tx, sql, parameters);
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken ct, params (string Name, object Value)[] parameters)
    {
        await using DbCommand command = Command(connection, tx, sql, parameters);
        return await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
    }

    private static async Task<List<T>> QueryAsync<T>(DbConnection connection, DbTransaction? tx, string sql, Func<DbDataReader, T> read, CancellationToken ct, params (string Name, object Value)[] parameters)
    {
        await using DbCommand command = Command(connection, tx, sql, parameters);
        await using DbDataReader reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var rows = new List<T>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            rows.Add(read(reader));
        }

        return rows;
    }
}
