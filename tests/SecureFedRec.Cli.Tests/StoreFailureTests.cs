using System.Diagnostics;
using SecureFedRec.Coordinator;
using SecureFedRec.Coordinator.Storage;

namespace SecureFedRec.Cli.Tests;

/// <summary>Store failures at start-up are one line and exit 7; two coordinators never share one SQLite store.</summary>
public sealed class StoreFailureTests
{
    [Fact]
    public void An_unopenable_sqlite_path_is_one_line()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["store.db"]); // a folder where the database file should be
        Cli.Result r = Cli.Run("coordinator", "--insecure-dev", "--port", "0", "--store", dir["store.db"]);
        Assert.True(r.Code == ExitCodes.StoreUnavailable, r.ToString());
        Assert.Equal(["error: the store cannot be opened: SQLite Error 14: 'unable to open database file'."], r.ErrorLines);
    }

    [Fact]
    public void A_file_that_is_not_a_database_is_one_line()
    {
        using var dir = new TempDir();
        string db = dir.File("store.db", new string('x', 4096));
        Cli.Result r = Cli.Run("coordinator", "--insecure-dev", "--port", "0", "--store", db);
        Assert.True(r.Code == ExitCodes.StoreUnavailable, r.ToString());
        Assert.StartsWith("error: the store cannot be opened: SQLite Error 26", Assert.Single(r.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public void Postgres_down_is_one_line_without_the_password()
    {
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        Cli.Result r = Cli.Run("coordinator", "--insecure-dev", "--port", "0", "--store-provider", "postgres",
            "--store", "Host=127.0.0.1;Port=1;Username=sfr;Password=not-printed;Database=sfr;Timeout=3");
        Assert.True(r.Code == ExitCodes.StoreUnavailable, r.ToString());
        string line = Assert.Single(r.ErrorLines);
        Assert.StartsWith("error: the store cannot be opened: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("not-printed", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unwritable_key_folder_is_one_line()
    {
        // A folder below a regular file cannot be created, not even by root.
        Cli.Result r = Cli.Run("keygen", "client", "--out", "/etc/hostname/keys", "--name", "bank");
        Assert.True(r.Code == ExitCodes.StoreUnavailable, r.ToString());
        Assert.StartsWith("error: ", Assert.Single(r.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public void The_store_lock_is_exclusive_and_released_on_dispose()
    {
        using var dir = new TempDir();
        string db = dir["c.db"];
        using (StoreLock first = StoreLock.Acquire(db))
        {
            var ex = Assert.Throws<StoreLockedException>(() => StoreLock.Acquire(db));
            Assert.Equal(db + ".lock", ex.LockPath);
            Assert.Contains("Another coordinator is running on the store", ex.Message, StringComparison.Ordinal);
        }

        using StoreLock again = StoreLock.Acquire(db);
        Assert.True(File.Exists(db + ".lock"));
    }

    [Fact]
    public void A_stale_lock_file_left_by_a_crash_does_not_block()
    {
        using var dir = new TempDir();
        string db = dir["c.db"];
        dir.File("c.db.lock", "pid 1 on elsewhere since long ago\n");
        using (StoreLock.Acquire(db))
        {
            // Held: even reading the note is refused while the lock is held.
            Assert.Throws<IOException>(() => File.ReadAllText(db + ".lock"));
        }

        Assert.StartsWith("pid " + Environment.ProcessId + " on ", File.ReadAllText(db + ".lock"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Shared_store_objects_do_not_take_the_lock_but_an_exclusive_one_does()
    {
        using var dir = new TempDir();
        string db = dir["c.db"];
        await using var tool = new SqliteCoordinatorStore(db);
        await tool.InitializeAsync();
        await using var coordinator = new SqliteCoordinatorStore(db, exclusive: true);
        await coordinator.InitializeAsync();
        await using var second = new SqliteCoordinatorStore(db, exclusive: true);
        await Assert.ThrowsAsync<StoreLockedException>(() => second.InitializeAsync());
    }

    [Fact]
    public async Task A_second_coordinator_in_this_process_fails_fast_with_one_line()
    {
        using var dir = new TempDir();
        var options = new CoordinatorOptions { InsecureDev = true, Port = 0, Store = dir["c.db"] };
        await using CoordinatorHost first = await CoordinatorHost.StartAsync(options);
        var clock = Stopwatch.StartNew();
        Cli.Result r = Cli.Run("coordinator", "--insecure-dev", "--port", "0", "--store", dir["c.db"]);
        Assert.True(r.Code == ExitCodes.StoreUnavailable, r.ToString());
        Assert.Equal([$"error: Another coordinator is running on the store {dir["c.db"]} (its lock {dir["c.db"]}.lock is held); stop that coordinator, or point Coordinator:Store at another file."], r.ErrorLines);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), clock.Elapsed.ToString());
    }

    [Fact]
    public async Task A_second_coordinator_process_on_the_same_store_fails_fast()
    {
        using var dir = new TempDir();
        using Process first = Cli.Start("coordinator", "--insecure-dev", "--port", "0", "--store", dir["c.db"]);
        try
        {
            using var started = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            string? line;
            do
            {
                line = await first.StandardOutput.ReadLineAsync(started.Token);
            }
            while (line is not null && !line.StartsWith("listening on ", StringComparison.Ordinal));
            Assert.NotNull(line);

            Cli.Result r = Cli.Run("coordinator", "--insecure-dev", "--port", "0", "--store", dir["c.db"]);
            Assert.True(r.Code == ExitCodes.StoreUnavailable, r.ToString());
            Assert.StartsWith("error: Another coordinator is running on the store", Assert.Single(r.ErrorLines), StringComparison.Ordinal);
        }
        finally
        {
            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync();
        }
    }
}
