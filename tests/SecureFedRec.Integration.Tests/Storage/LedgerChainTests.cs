using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using SecureFedRec.Coordinator;
using SecureFedRec.Coordinator.Storage;
using SecureFedRec.Privacy.Ledger;

namespace SecureFedRec.Integration.Tests.Storage;

/// <summary>The tamper-evident ledger (protocol-spec/ledger.md, threat-model.md DP4), run against every store: each
/// tampering an operator with database access could do is found, and the first broken row is named.</summary>
public abstract class LedgerChainTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private SqlCoordinatorStore? _store;

    protected SqlCoordinatorStore Store => _store!;

    /// <summary>A fresh empty store (not initialised); null when the backend is unavailable (local runs only).</summary>
    protected abstract Task<SqlCoordinatorStore?> CreateStoreAsync();

    /// <summary>A raw connection to the same data, to tamper with it as an operator with database access could.</summary>
    protected abstract Task<DbConnection> RawAsync();

    public async Task InitializeAsync() => _store = await CreateStoreAsync();

    public virtual async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    /// <summary>Four charged rounds, each released as a model (plus the initial model): the coordinator's normal history.</summary>
    private async Task<LedgerHead> HistoryAsync(int rounds = 4)
    {
        await Store.InitializeAsync();
        await Store.AppendModelAsync(0, [0], "0", T0);
        for (int i = 1; i <= rounds; i++)
        {
            await Store.AppendLedgerAsync(new LedgerRecord(0, "round-" + i, T0.AddMinutes(i), "{\"sigma\":" + i + "}", 10 + i, 0.5, 0.5 * i));
            await Store.AppendModelAsync(i, [(byte)i, 1, 2], (0.5).ToString(System.Globalization.CultureInfo.InvariantCulture), T0.AddMinutes(i).AddSeconds(1));
        }

        return await Store.GetLedgerHeadAsync();
    }

    private async Task SqlAsync(string sql)
    {
        await using DbConnection connection = await RawAsync();
        await using DbCommand command = connection.CreateCommand();
#pragma warning disable CA2100 // constant test SQL
        command.CommandText = sql;
#pragma warning restore CA2100
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task An_untouched_history_verifies_and_the_head_is_the_last_row()
    {
        if (_store is null)
        {
            return;
        }

        LedgerHead head = await HistoryAsync();
        IReadOnlyList<LedgerRecord> rows = await Store.ListLedgerAsync();
        Assert.Equal(4, head.Count);
        Assert.Equal(rows[^1].Hash, head.Hash);
        Assert.Equal(LedgerChain.Genesis, rows[0].PreviousHash);
        Assert.All(rows.Skip(1).Zip(rows), p => Assert.Equal(p.Second.Hash, p.First.PreviousHash));
        ModelVersionRecord latest = (await Store.GetModelAsync(0))!;
        Assert.Equal((4L, head.Hash), (latest.LedgerCount, latest.LedgerHead));
        LedgerVerification result = await Store.VerifyLedgerAsync(head, allModelBytes: true);
        Assert.True(result.Intact, result.ToString());
        Assert.Equal(head, result.Head);
    }

    public static TheoryData<string, string, string, long> Tamperings => new()
    {
        // name, SQL, table named, row named
        { "last ledger row deleted (truncation)", "DELETE FROM ledger WHERE sequence = 4", "ledger", 4 },
        { "last two ledger rows deleted", "DELETE FROM ledger WHERE sequence >= 3", "ledger", 3 },
        { "every ledger row deleted", "DELETE FROM ledger", "ledger", 1 },
        { "middle row deleted", "DELETE FROM ledger WHERE sequence = 2", "ledger", 2 },
        { "middle row deleted and the rest renumbered", "DELETE FROM ledger WHERE sequence = 2; UPDATE ledger SET sequence = sequence - 1 WHERE sequence > 2", "ledger", 2 },
        { "round epsilon edited", "UPDATE ledger SET round_epsilon = 0.05 WHERE sequence = 2", "ledger", 2 },
        { "total epsilon edited on the last row", "UPDATE ledger SET total_epsilon = 0.1 WHERE sequence = 4", "ledger", 4 },
        { "contributing clients edited", "UPDATE ledger SET contributing_clients = 1000 WHERE sequence = 3", "ledger", 3 },
        { "parameters edited", "UPDATE ledger SET parameters = '{\"sigma\":99}' WHERE sequence = 1", "ledger", 1 },
        { "rows 1 and 2 reordered", "UPDATE ledger SET sequence = 100 WHERE sequence = 1; UPDATE ledger SET sequence = 1 WHERE sequence = 2; UPDATE ledger SET sequence = 2 WHERE sequence = 100", "ledger", 1 },
        { "chain hash cleared", "UPDATE ledger SET row_hash = NULL WHERE sequence = 3", "ledger", 3 },
        { "a model's bytes replaced", "UPDATE models SET model = (SELECT m.model FROM models m WHERE m.version = 2) WHERE version = 5", "models", 5 },
        { "a model's ledger anchor lowered", "UPDATE models SET ledger_count = 3 WHERE version = 5", "models", 5 },
        { "a middle model deleted", "DELETE FROM models WHERE version = 3", "models", 3 },
    };

    [Theory]
    [MemberData(nameof(Tamperings))]
    public async Task Tampering_is_detected_and_the_first_broken_row_is_named(string name, string sql, string table, long row)
    {
        _ = name;
        if (_store is null)
        {
            return;
        }

        await HistoryAsync();
        foreach (string statement in sql.Split("; "))
        {
            await SqlAsync(statement);
        }

        LedgerVerification result = await Store.VerifyLedgerAsync();
        Assert.False(result.Intact);
        Assert.Equal((table, row), (result.Table, result.Row));
        Assert.DoesNotContain('\n', result.ToString());
    }

    [Fact]
    public async Task Deleting_the_last_row_stops_the_coordinator_ledger_from_opening_with_one_line()
    {
        if (_store is null)
        {
            return;
        }

        await HistoryAsync();
        await SqlAsync("DELETE FROM ledger WHERE sequence = 4");
        LedgerCorruptException ex = await Assert.ThrowsAsync<LedgerCorruptException>(() =>
            StorePrivacyLedger.OpenAsync(Store, new PrivacyBudget(10, 1e-5)));
        Assert.Contains("ledger row 4", ex.Message, StringComparison.Ordinal);
        Assert.Contains("truncation", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public async Task Deleting_the_last_ledger_row_and_its_model_needs_a_recorded_head_to_be_seen()
    {
        if (_store is null)
        {
            return;
        }

        LedgerHead published = await HistoryAsync();
        await SqlAsync("DELETE FROM models WHERE version = 5");
        await SqlAsync("DELETE FROM ledger WHERE sequence = 4");
        // Consistent in itself: the store alone cannot see this (threat-model.md DP4 says so) …
        Assert.True((await Store.VerifyLedgerAsync()).Intact);
        // … but a head a client or auditor recorded earlier can.
        LedgerVerification result = await Store.VerifyLedgerAsync(published);
        Assert.False(result.Intact);
        Assert.Equal(("ledger", 4L), (result.Table, result.Row));
    }

    [Fact]
    public async Task A_rewritten_chain_does_not_contain_a_recorded_head()
    {
        if (_store is null)
        {
            return;
        }

        await HistoryAsync(rounds: 2);
        LedgerHead recorded = new(2, new string('a', 64));
        LedgerVerification result = await Store.VerifyLedgerAsync(recorded);
        Assert.False(result.Intact);
        Assert.Equal(("ledger", 2L), (result.Table, result.Row));
    }

    [Fact]
    public async Task A_charge_after_the_last_release_is_not_anchored_yet()
    {
        if (_store is null)
        {
            return;
        }

        await HistoryAsync(rounds: 2);
        // Charged, then the coordinator crashed before releasing: the row is in the chain but no model anchors it yet.
        await Store.AppendLedgerAsync(new LedgerRecord(0, "round-3", T0.AddHours(1), "{}", 3, 1, 2));
        Assert.True((await Store.VerifyLedgerAsync()).Intact);
        Assert.Equal(3, (await Store.GetLedgerHeadAsync()).Count);
    }

    [Fact]
    public async Task A_schema_1_store_is_upgraded_and_chained_in_place()
    {
        if (_store is null)
        {
            return;
        }

        string blob = this is PostgresLedgerChainTests ? "BYTEA" : "BLOB";
        await SqlAsync("CREATE TABLE sfr_schema (version INTEGER NOT NULL)");
        await SqlAsync("INSERT INTO sfr_schema (version) VALUES (1)");
        await SqlAsync($"CREATE TABLE models (version BIGINT PRIMARY KEY, round_id BIGINT NOT NULL UNIQUE, model {blob} NOT NULL, epsilon TEXT NOT NULL, released_at BIGINT NOT NULL)");
        await SqlAsync("CREATE TABLE ledger (sequence BIGINT PRIMARY KEY, round_id TEXT NOT NULL UNIQUE, recorded_at BIGINT NOT NULL, parameters TEXT NOT NULL, contributing_clients INTEGER NOT NULL, round_epsilon DOUBLE PRECISION NOT NULL, total_epsilon DOUBLE PRECISION NOT NULL)");
        long t = T0.ToUnixTimeMilliseconds();
        string bytes = this is PostgresLedgerChainTests ? "'\\x0102'::bytea" : "X'0102'";
        await SqlAsync($"INSERT INTO models VALUES (1, 0, {bytes}, '0', {t})");
        await SqlAsync($"INSERT INTO ledger VALUES (1, 'round-1', {t + 1000}, '{{}}', 3, 0.5, 0.5)");
        await SqlAsync($"INSERT INTO models VALUES (2, 1, {bytes}, '0.5', {t + 2000})");
        await SqlAsync($"INSERT INTO ledger VALUES (2, 'round-2', {t + 3000}, '{{}}', 3, 0.5, 1.0)");

        await Store.InitializeAsync();
        Assert.Equal(1, Store.UpgradedFromSchema);
        Assert.Equal(SqlCoordinatorStore.CurrentSchemaVersion, await Store.GetSchemaVersionAsync());
        IReadOnlyList<ModelVersionRecord> models = await Store.ListModelsAsync();
        Assert.Equal([0L, 1L], models.Select(m => m.LedgerCount));
        Assert.True((await Store.VerifyLedgerAsync(allModelBytes: true)).Intact);
        await SqlAsync("DELETE FROM ledger WHERE sequence = 1");
        Assert.False((await Store.VerifyLedgerAsync()).Intact);
    }

    [Fact]
    public async Task A_schema_2_store_is_upgraded_to_the_round_journal_keeping_its_chains()
    {
        if (_store is null)
        {
            return;
        }

        LedgerHead head = await HistoryAsync(rounds: 2);
        await SqlAsync("DROP TABLE round_journal");
        await SqlAsync("UPDATE sfr_schema SET version = 2");
        await Store.InitializeAsync();
        Assert.Equal(2, Store.UpgradedFromSchema);
        Assert.Equal(SqlCoordinatorStore.CurrentSchemaVersion, await Store.GetSchemaVersionAsync());
        Assert.True((await Store.VerifyLedgerAsync(head, allModelBytes: true)).Intact);
        RoundRecord open = await Store.CreateRoundAsync(3, "{}", "AdvertiseKeys", T0);
        await Store.AppendJournalAsync(open.RoundId, [new JournalRecord(0, "open", [1], T0)]);
        Assert.Single(await Store.ListJournalAsync(open.RoundId));
    }

    [Fact]
    public async Task A_newer_schema_is_refused()
    {
        if (_store is null)
        {
            return;
        }

        await Store.InitializeAsync();
        await SqlAsync("UPDATE sfr_schema SET version = 4");
        StoreConflictException ex = await Assert.ThrowsAsync<StoreConflictException>(() => Store.InitializeAsync());
        Assert.Contains("schema version 4", ex.Message, StringComparison.Ordinal);
    }
}

public sealed class SqliteLedgerChainTests : LedgerChainTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sfr-ledger-").FullName;

    private string DbPath => Path.Combine(_directory, "coordinator.db");

    protected override Task<SqlCoordinatorStore?> CreateStoreAsync() => Task.FromResult<SqlCoordinatorStore?>(new SqliteCoordinatorStore(DbPath));

    protected override async Task<DbConnection> RawAsync()
    {
        var connection = new SqliteConnection("Data Source=" + DbPath + ";Pooling=false");
        await connection.OpenAsync();
        return connection;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}

public sealed class PostgresLedgerChainTests : LedgerChainTests
{
    private readonly string _schema = "sfr_ledger_" + Guid.NewGuid().ToString("N")[..12];

    private string ConnectionString => Prerequisites.PostgresConnectionString + ";Search Path=" + _schema;

    protected override async Task<SqlCoordinatorStore?> CreateStoreAsync()
    {
        if (!Prerequisites.RequirePostgres())
        {
            return null;
        }

        await using var connection = new NpgsqlConnection(Prerequisites.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("CREATE SCHEMA " + _schema, connection);
        await command.ExecuteNonQueryAsync();
        return new PostgresCoordinatorStore(ConnectionString);
    }

    protected override async Task<DbConnection> RawAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Prerequisites.RequirePostgres())
        {
            await using var connection = new NpgsqlConnection(Prerequisites.PostgresConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("DROP SCHEMA IF EXISTS " + _schema + " CASCADE", connection);
            await command.ExecuteNonQueryAsync();
        }
    }
}
