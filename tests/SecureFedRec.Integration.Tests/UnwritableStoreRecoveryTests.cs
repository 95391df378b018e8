using Microsoft.Data.Sqlite;
using SecureFedRec.Coordinator.Storage;

namespace SecureFedRec.Integration.Tests;

/// <summary>
/// The SQLite store itself across repeated outages (<c>chattr +i</c> on its database and WAL files while concurrent
/// writers hammer it, the way a coordinator's submissions, ticks and enrolments do): every failure is an I/O error the
/// coordinator retries, and once the files are writable again no pooled connection stays failed or locked — the very next
/// write of every writer succeeds, and the journal holds exactly the batches that were acknowledged. Guards the recovery
/// half of UnwritableStoreTests without its timing.
/// </summary>
public sealed class UnwritableStoreRecoveryTests
{
    private const int Writers = 4;
    private const int Cycles = 12;

    /// <summary>The connection string SqliteCoordinatorStore builds for <paramref name="db"/> (the key of its pool).</summary>
    private static string StoreConnectionString(string db) => new SqliteConnectionStringBuilder
    {
        DataSource = db,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    [Fact]
    public async Task After_each_outage_every_writer_s_next_write_succeeds_and_only_acknowledged_writes_are_stored()
    {
        if (!Immutable.Require())
        {
            return;
        }

        string directory = Directory.CreateTempSubdirectory("sfr-recovery-").FullName;
        string db = Path.Combine(directory, "coordinator.db");
        string[] files = [];
        try
        {
            await using var store = new SqliteCoordinatorStore(db, exclusive: true);
            await store.InitializeAsync();
            await store.AppendModelAsync(0, new byte[16], "0", DateTimeOffset.UtcNow);
            var rounds = new List<long>();
            for (int w = 0; w < Writers; w++)
            {
                rounds.Add((await store.CreateRoundAsync(1, "{}", "ShareKeys", DateTimeOffset.UtcNow)).RoundId);
            }

            // Held open for the whole test: when the last connection of a WAL database closes (the pool prunes idle ones)
            // SQLite checkpoints and deletes the -wal file, and a -wal file created afresh during an "outage" would be
            // writable. With this one open, the WAL file exists from the first write on and is made immutable each cycle.
            await using var keeper = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Pooling = false }.ToString());
            await keeper.OpenAsync();
            long[] acknowledged = new long[Writers];
            var failures = new System.Collections.Concurrent.ConcurrentBag<Exception>();

            // One write per writer: a journal batch (a transaction of several rows) on its own round, or an enrolment.
            async Task<bool> WriteAsync(int w)
            {
                try
                {
                    if (w % 2 == 0)
                    {
                        long next = acknowledged[w] + 1;
                        await store.AppendJournalAsync(rounds[w], [new JournalRecord(next, "message", new byte[64], DateTimeOffset.UtcNow), new JournalRecord(next + 1, "message", new byte[64], DateTimeOffset.UtcNow)]);
                        acknowledged[w] = next + 1;
                    }
                    else
                    {
                        await store.EnrolAsync($"writer-{w}-{acknowledged[w] + 1}", System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), "w", DateTimeOffset.UtcNow);
                        acknowledged[w]++;
                    }

                    return true;
                }
                catch (Exception ex)
                {
                    failures.Add(ex);
                    return false;
                }
            }

            for (int cycle = 0; cycle < Cycles; cycle++)
            {
                files = Immutable.StoreFiles(db);
                Assert.Equal(2, files.Length);
                Immutable.Set(true, files);

                // Every writer opens a new connection during the outage (as one does when the pool runs short under load).
                using (var sameString = new SqliteConnection(StoreConnectionString(db)))
                {
                    SqliteConnection.ClearPool(sameString);
                }

                // Concurrent writes while the files cannot be written: all fail (and may leave connections mid-transaction).
                bool[] during = await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(() => WriteAsync(w))));
                Assert.True(during.All(ok => !ok), $"cycle {cycle}: a write succeeded while the store files were immutable");
                Immutable.Set(false, files);
                files = [];

                // Writable again: the next write of every writer succeeds, concurrently, first time.
                bool[] after = await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(() => WriteAsync(w))));
                Assert.True(after.All(ok => ok), $"cycle {cycle}: " + string.Join("; ", failures.TakeLast(Writers).Select(f => f.Message)));
            }

            Assert.All(failures, f => Assert.True(RetryingCoordinatorStore.IsTransient(f) && f is SqliteException, f.ToString()));
            for (int w = 0; w < Writers; w += 2)
            {
                Assert.Equal(Enumerable.Range(1, (int)acknowledged[w]).Select(i => (long)i), (await store.ListJournalAsync(rounds[w])).Select(j => j.Sequence));
            }

            Assert.Equal(Enumerable.Range(0, Writers).Where(w => w % 2 == 1).Sum(w => acknowledged[w]), (await store.ListEnrolmentsAsync()).Count);
        }
        finally
        {
            Immutable.Set(false, files);
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }
}
