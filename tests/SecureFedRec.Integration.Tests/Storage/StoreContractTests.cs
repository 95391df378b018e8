using System.Text;
using Npgsql;
using SecureFedRec.Coordinator.Storage;

namespace SecureFedRec.Integration.Tests.Storage;

/// <summary>The one store test suite, run against every implementation.</summary>
public abstract class StoreContractTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private ICoordinatorStore? _store;

    protected ICoordinatorStore Store => _store!;

    /// <summary>Creates a fresh, empty store; null when the backend is unavailable (local runs only).</summary>
    protected abstract Task<ICoordinatorStore?> CreateStoreAsync();

    /// <summary>Opens a second store object on the same data (a restarted coordinator).</summary>
    protected abstract Task<ICoordinatorStore> ReopenAsync();

    public async Task InitializeAsync()
    {
        _store = await CreateStoreAsync();
        if (_store is not null)
        {
            await _store.InitializeAsync();
        }
    }

    public virtual async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    private static byte[] Key(byte seed)
    {
        byte[] key = new byte[65];
        key[0] = 4;
        key[1] = seed;
        return key;
    }

    [Fact]
    public async Task Enrolment_is_idempotent_and_numbers_clients_in_order()
    {
        if (_store is null)
        {
            return;
        }

        EnrolmentRecord a = await Store.EnrolAsync("aa", Key(1), "bank", T0);
        EnrolmentRecord b = await Store.EnrolAsync("bb", Key(2), "hospital", T0.AddSeconds(1));
        EnrolmentRecord again = await Store.EnrolAsync("aa", Key(1), "renamed", T0.AddSeconds(2));
        Assert.Equal(1, a.Number);
        Assert.Equal(2, b.Number);
        Assert.Equal(a.Number, again.Number);
        Assert.Equal("bank", again.DisplayName);
        Assert.Equal(T0, again.EnrolledAt);
        Assert.Equal(["aa", "bb"], (await Store.ListEnrolmentsAsync()).Select(e => e.ClientId));
        Assert.Null(await Store.GetEnrolmentAsync("cc"));
    }

    [Fact]
    public async Task The_same_id_with_another_key_is_a_conflict()
    {
        if (_store is null)
        {
            return;
        }

        await Store.EnrolAsync("aa", Key(1), "bank", T0);
        await Assert.ThrowsAsync<StoreConflictException>(() => Store.EnrolAsync("aa", Key(9), "bank", T0));
        Assert.Equal(Key(1), (await Store.GetEnrolmentAsync("aa"))!.PublicKey);
    }

    [Fact]
    public async Task Rounds_move_through_phases_and_open_ones_are_listed()
    {
        if (_store is null)
        {
            return;
        }

        RoundRecord r1 = await Store.CreateRoundAsync(0, "{\"d\":8}", "AdvertiseKeys", T0);
        RoundRecord r2 = await Store.CreateRoundAsync(1, "{}", "AdvertiseKeys", T0);
        Assert.True(r2.RoundId > r1.RoundId);
        await Store.UpdateRoundAsync(r1.RoundId, "Completed", "Completed", T0.AddMinutes(1));
        await Store.UpdateRoundAsync(r2.RoundId, "MaskedInput", null, T0.AddMinutes(1));
        RoundRecord? stored = await Store.GetRoundAsync(r1.RoundId);
        Assert.Equal(("Completed", "Completed", "{\"d\":8}"), (stored!.Phase, stored.Outcome, stored.ParametersJson));
        Assert.Equal([r2.RoundId], (await Store.ListOpenRoundsAsync()).Select(r => r.RoundId));
        Assert.Equal(2, (await Store.ListRoundsAsync()).Count);
        await Assert.ThrowsAsync<StoreConflictException>(() => Store.UpdateRoundAsync(999, "x", null, T0));
        Assert.Null(await Store.GetRoundAsync(999));
    }

    [Fact]
    public async Task Model_versions_append_in_order_and_are_idempotent_per_round()
    {
        if (_store is null)
        {
            return;
        }

        Assert.Null(await Store.GetModelAsync(0));
        ModelVersionRecord v0 = await Store.AppendModelAsync(0, [1, 2, 3], "0", T0);
        ModelVersionRecord v1 = await Store.AppendModelAsync(7, [4, 5], "0.25", T0.AddMinutes(1));
        ModelVersionRecord again = await Store.AppendModelAsync(7, [4, 5], "0.25", T0.AddMinutes(2));
        Assert.Equal((1L, 2L, 2L), (v0.Version, v1.Version, again.Version));
        await Assert.ThrowsAsync<StoreConflictException>(() => Store.AppendModelAsync(7, [9], "0.25", T0));
        ModelVersionRecord? latest = await Store.GetModelAsync(0);
        Assert.Equal((2L, 7L, "0.25"), (latest!.Version, latest.RoundId, latest.Epsilon));
        Assert.Equal(new byte[] { 4, 5 }, latest.Model);
        Assert.Equal(new byte[] { 1, 2, 3 }, (await Store.GetModelAsync(1))!.Model);
        Assert.Null(await Store.GetModelAsync(5));
        Assert.Equal([1L, 2L], (await Store.ListModelsAsync()).Select(m => m.Version));
    }

    [Fact]
    public async Task A_round_is_never_charged_twice()
    {
        if (_store is null)
        {
            return;
        }

        var entry = new LedgerRecord(0, "round-1", T0, "{\"sigma\":1}", 10, 0.5, 0.5);
        (LedgerRecord first, bool added) = await Store.AppendLedgerAsync(entry);
        (LedgerRecord second, bool addedAgain) = await Store.AppendLedgerAsync(entry with { RoundEpsilon = 9, TotalEpsilon = 9 });
        (LedgerRecord other, _) = await Store.AppendLedgerAsync(new LedgerRecord(0, "round-2", T0, "{}", 12, 0.25, 0.7));
        Assert.True(added);
        Assert.False(addedAgain);
        Assert.Equal((1L, 0.5), (first.Sequence, first.RoundEpsilon));
        Assert.Equal((1L, 0.5, 0.5), (second.Sequence, second.RoundEpsilon, second.TotalEpsilon));
        Assert.Equal(2L, other.Sequence);
        IReadOnlyList<LedgerRecord> all = await Store.ListLedgerAsync();
        Assert.Equal(["round-1", "round-2"], all.Select(e => e.RoundId));
        Assert.Equal((10, "{\"sigma\":1}", T0), (all[0].ContributingClients, all[0].ParametersJson, all[0].RecordedAt));
    }

    [Fact]
    public async Task Everything_survives_reopening_the_store()
    {
        if (_store is null)
        {
            return;
        }

        await Store.EnrolAsync("aa", Key(1), "bank", T0);
        RoundRecord round = await Store.CreateRoundAsync(0, "{}", "ShareKeys", T0);
        await Store.AppendLedgerAsync(new LedgerRecord(0, "r", T0, "{}", 3, 1.5, 1.5));
        await Store.AppendModelAsync(round.RoundId, Encoding.UTF8.GetBytes("model"), "1.5", T0);
        await using ICoordinatorStore reopened = await ReopenAsync();
        await reopened.InitializeAsync();
        Assert.Single(await reopened.ListEnrolmentsAsync());
        Assert.Equal("ShareKeys", (await reopened.GetRoundAsync(round.RoundId))!.Phase);
        Assert.Equal(1.5, Assert.Single(await reopened.ListLedgerAsync()).TotalEpsilon);
        Assert.Equal("model", Encoding.UTF8.GetString((await reopened.GetModelAsync(0))!.Model));
    }

    [Fact]
    public async Task The_round_journal_is_kept_in_order_survives_a_reopen_and_goes_with_the_outcome()
    {
        if (_store is null)
        {
            return;
        }

        RoundRecord round = await Store.CreateRoundAsync(1, "{}", "AdvertiseKeys", T0);
        RoundRecord other = await Store.CreateRoundAsync(1, "{}", "AdvertiseKeys", T0);
        await Store.AppendJournalAsync(round.RoundId, [new JournalRecord(0, "open", [1, 2], T0)]);
        await Store.AppendJournalAsync(round.RoundId, [new JournalRecord(2, "close", [3], T0), new JournalRecord(1, "message", [], T0)]);
        await Store.AppendJournalAsync(other.RoundId, [new JournalRecord(0, "open", [9], T0)]);

        // A retried write of the same entries is a no-op.
        await Store.AppendJournalAsync(round.RoundId, [new JournalRecord(1, "message", [], T0.AddSeconds(5))]);
        await using (ICoordinatorStore reopened = await ReopenAsync())
        {
            await reopened.InitializeAsync();
            IReadOnlyList<JournalRecord> journal = await reopened.ListJournalAsync(round.RoundId);
            Assert.Equal([0L, 1L, 2L], journal.Select(e => e.Sequence));
            Assert.Equal(["open", "message", "close"], journal.Select(e => e.Kind));
            Assert.Equal([1, 2], journal[0].Body);
            Assert.Empty(journal[1].Body);
        }

        await Store.UpdateRoundAsync(round.RoundId, "ShareKeys", null, T0);
        Assert.Equal(3, (await Store.ListJournalAsync(round.RoundId)).Count);
        await Store.UpdateRoundAsync(round.RoundId, "Completed", "Completed", T0);
        Assert.Empty(await Store.ListJournalAsync(round.RoundId));
        Assert.Single(await Store.ListJournalAsync(other.RoundId));
    }

    [Theory]
    [InlineData("other-kind")]
    [InlineData("other-body")]
    public async Task A_different_journal_entry_under_a_stored_sequence_is_refused_and_nothing_is_written(string change)
    {
        if (_store is null)
        {
            return;
        }

        RoundRecord round = await Store.CreateRoundAsync(1, "{}", "AdvertiseKeys", T0);
        await Store.AppendJournalAsync(round.RoundId, [new JournalRecord(0, "open", [1], T0)]);
        JournalRecord rewrite = change == "other-kind" ? new JournalRecord(0, "message", [1], T0) : new JournalRecord(0, "open", [2], T0);
        await Assert.ThrowsAsync<StoreConflictException>(() => Store.AppendJournalAsync(round.RoundId, [new JournalRecord(1, "message", [7], T0), rewrite]));
        JournalRecord kept = Assert.Single(await Store.ListJournalAsync(round.RoundId));
        Assert.Equal("open", kept.Kind);
        Assert.Equal([1], kept.Body);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_journal_of_an_unknown_or_finished_round_is_refused(bool exists)
    {
        if (_store is null)
        {
            return;
        }

        long id = 999;
        if (exists)
        {
            id = (await Store.CreateRoundAsync(1, "{}", "AdvertiseKeys", T0)).RoundId;
            await Store.UpdateRoundAsync(id, "Aborted", "AbortedTooFewClients", T0);
        }

        await Assert.ThrowsAsync<StoreConflictException>(() => Store.AppendJournalAsync(id, [new JournalRecord(0, "open", [1], T0)]));
        Assert.Empty(await Store.ListJournalAsync(id));
    }

    [Fact]
    public async Task Concurrent_appends_get_distinct_versions_and_sequences()
    {
        // More racing appends than the store's retry budget: only real serialization of appends passes this.
        const int Appends = 32;
        if (_store is null)
        {
            return;
        }

        await using ICoordinatorStore second = await ReopenAsync();
        await second.InitializeAsync();
        var tasks = Enumerable.Range(1, Appends).Select(i => (i % 2 == 0 ? Store : second)
            .AppendModelAsync(i, [(byte)i], "0", T0)).ToArray();
        var ledger = Enumerable.Range(1, Appends).Select(i => (i % 2 == 0 ? Store : second)
            .AppendLedgerAsync(new LedgerRecord(0, "r" + i, T0, "{}", 1, 1, 1))).ToArray();
        ModelVersionRecord[] versions = await Task.WhenAll(tasks);
        var entries = await Task.WhenAll(ledger);
        Assert.Equal(Enumerable.Range(1, Appends).Select(i => (long)i), versions.Select(v => v.Version).Order());
        Assert.Equal(Enumerable.Range(1, Appends).Select(i => (long)i), entries.Select(e => e.Entry.Sequence).Order());
    }
}

public sealed class SqliteStoreTests : StoreContractTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sfr-store-").FullName;

    private string DbPath => Path.Combine(_directory, "coordinator.db");

    protected override Task<ICoordinatorStore?> CreateStoreAsync() => Task.FromResult<ICoordinatorStore?>(new SqliteCoordinatorStore(DbPath));

    protected override Task<ICoordinatorStore> ReopenAsync() => Task.FromResult<ICoordinatorStore>(new SqliteCoordinatorStore(DbPath));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_is_refused_with_a_typed_error()
    {
        string bogus = Path.Combine(_directory, "bogus.db");
        await File.WriteAllTextAsync(bogus, new string('x', 4096));
        await using var store = new SqliteCoordinatorStore(bogus);
        await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => store.InitializeAsync());
        Assert.Equal(new string('x', 4096), await File.ReadAllTextAsync(bogus));
    }
}

public sealed class PostgresStoreTests : StoreContractTests
{
    private readonly string _schema = "sfr_test_" + Guid.NewGuid().ToString("N")[..12];

    private string ConnectionString => Prerequisites.PostgresConnectionString + ";Search Path=" + _schema;

    protected override async Task<ICoordinatorStore?> CreateStoreAsync()
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

    protected override Task<ICoordinatorStore> ReopenAsync() => Task.FromResult<ICoordinatorStore>(new PostgresCoordinatorStore(ConnectionString));

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
