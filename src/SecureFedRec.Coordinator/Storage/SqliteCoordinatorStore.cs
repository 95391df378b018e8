using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace SecureFedRec.Coordinator.Storage;

/// <summary>
/// The default store: one SQLite file (WAL journal, <c>synchronous=FULL</c> so that a committed write survives a power
/// loss, busy timeout for concurrent writers in the same process). Back it up with <c>sqlite3 FILE ".backup COPY"</c>
/// while the coordinator runs.
/// </summary>
/// <remarks>
/// Thread-safe: one pooled connection per operation. A coordinator opens its store with <c>exclusive: true</c>: then
/// <see cref="InitializeAsync"/> first takes the store's <see cref="StoreLock"/> and a second coordinator on the same
/// file fails fast with <see cref="StoreLockedException"/>; the lock is released by <see cref="DisposeAsync"/>.
/// </remarks>
public sealed class SqliteCoordinatorStore : SqlCoordinatorStore
{
    private readonly string _connectionString;
    private readonly string _unpooledConnectionString;
    private readonly bool _exclusive;
    private StoreLock? _lock;

    /// <summary>Opens (creating if needed) the store at <paramref name="path"/>, shared with other store objects (tools, tests).</summary>
    public SqliteCoordinatorStore(string path)
        : this(path, exclusive: false)
    {
    }

    /// <summary>Opens (creating if needed) the store at <paramref name="path"/>; <paramref name="exclusive"/>: hold its single-instance lock from <see cref="InitializeAsync"/> on.</summary>
    public SqliteCoordinatorStore(string path, bool exclusive)
    {
        _exclusive = exclusive;
        ArgumentException.ThrowIfNullOrEmpty(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        _unpooledConnectionString = new SqliteConnectionStringBuilder(_connectionString) { Pooling = false }.ToString();
        Path = path;
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    protected override string BlobType => "BLOB";

    /// <inheritdoc />
    protected override string SerialPrimaryKey => "INTEGER PRIMARY KEY AUTOINCREMENT";

    /// <inheritdoc />
    public override async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        if (_exclusive && _lock is null)
        {
            string? folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path));
            if (folder is not null && !Directory.Exists(folder))
            {
                throw new DirectoryNotFoundException($"The folder {folder} of the SQLite store {Path} does not exist.");
            }

            _lock = StoreLock.Acquire(Path);
        }

        await using (var connection = new SqliteConnection(_connectionString))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using SqliteCommand wal = connection.CreateCommand();
            wal.CommandText = "PRAGMA journal_mode=WAL";
            await wal.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await base.InitializeAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// SQLite opens a file it may not write (an outage: the file made unwritable, a read-only remount) read-only instead
    /// of failing, and such a connection stays read-only: back in the pool it would fail every later write with
    /// SQLITE_READONLY long after the file is writable again (the round stalled until the pool happened to prune it). So a
    /// connection that opened read-only empties the pool and is replaced, for this one operation, by an unpooled
    /// connection: reads go on through the outage, writes fail as I/O errors the coordinator retries, and nothing opened
    /// during the outage outlives it.
    /// </remarks>
    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        SqliteConnection connection = await OpenConnectionAsync(_connectionString, cancellationToken).ConfigureAwait(false);
        if (SQLitePCL.raw.sqlite3_db_readonly(connection.Handle, "main") != 1)
        {
            return connection;
        }

        SqliteConnection.ClearPool(connection);
        await connection.DisposeAsync().ConfigureAwait(false);
        return await OpenConnectionAsync(_unpooledConnectionString, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<SqliteConnection> OpenConnectionAsync(string connectionString, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using SqliteCommand pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000;";
            await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    protected override bool IsUniqueViolation(DbException exception) =>
        exception is SqliteException { SqliteErrorCode: 19 };

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        // Release pooled handles so the file can be moved or deleted right after.
        using (var connection = new SqliteConnection(_connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        _lock?.Dispose();
        _lock = null;
        return base.DisposeAsync();
    }
}
