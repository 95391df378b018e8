using System.Globalization;

namespace SecureFedRec.Coordinator.Storage;

/// <summary>
/// The single-instance lock of a SQLite store: an exclusive lock on <c>STORE.lock</c> beside the database file, held
/// for as long as the coordinator runs, so a second coordinator on the same store fails fast instead of interleaving
/// rounds and ledger entries with the first. The lock is the operating system's (an advisory <c>flock</c> on Linux,
/// a share-none handle on Windows): it is released when the process exits, however it exits, so a stale
/// <c>.lock</c> file left by a crash never blocks a restart. It does not stop <c>sqlite3 FILE ".backup COPY"</c>.
/// </summary>
/// <remarks>Not thread-safe; one instance per running coordinator. Dispose releases the lock.</remarks>
public sealed class StoreLock : IDisposable
{
    private readonly FileStream _handle;

    private StoreLock(FileStream handle, string path)
    {
        _handle = handle;
        Path = path;
    }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>
    /// Takes the lock of the store at <paramref name="databasePath"/>; throws <see cref="StoreLockedException"/> when
    /// another process (or another store object of this process) holds it.
    /// </summary>
    public static StoreLock Acquire(string databasePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(databasePath);
        string path = System.IO.Path.GetFullPath(databasePath) + ".lock";
        FileStream handle;
        try
        {
            handle = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1, FileOptions.None);
        }
        catch (IOException ex) when (ex is not FileNotFoundException and not DirectoryNotFoundException && ex.GetType() == typeof(IOException))
        {
            throw new StoreLockedException(databasePath, path, ex);
        }

        try
        {
            // Who holds it, for the operator (read by nobody else: the lock is the handle, not the text).
            handle.SetLength(0);
            using var writer = new StreamWriter(handle, leaveOpen: true);
            writer.Write(string.Create(CultureInfo.InvariantCulture, $"pid {Environment.ProcessId} on {Environment.MachineName} since {DateTimeOffset.UtcNow:O}\n"));
            writer.Flush();
            handle.Flush(flushToDisk: false);
        }
        catch (IOException)
        {
            // The note is informational; the lock itself is held.
        }

        return new StoreLock(handle, path);
    }

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();
}

/// <summary>Another coordinator holds the single-instance lock of the SQLite store.</summary>
public sealed class StoreLockedException : Exception
{
    /// <summary>Creates the exception for the store at <paramref name="databasePath"/> whose lock file <paramref name="lockPath"/> is held.</summary>
    public StoreLockedException(string databasePath, string lockPath, Exception innerException)
        : base($"Another coordinator is running on the store {databasePath} (its lock {lockPath} is held); stop that coordinator, or point Coordinator:Store at another file.", innerException)
    {
        DatabasePath = databasePath;
        LockPath = lockPath;
    }

    /// <summary>Not for use: the exception names its store.</summary>
    public StoreLockedException()
        : this("(unknown)", "(unknown)", new IOException())
    {
    }

    /// <summary>Not for use: the exception names its store.</summary>
    public StoreLockedException(string message)
        : base(message)
    {
        DatabasePath = LockPath = string.Empty;
    }

    /// <summary>Not for use: the exception names its store.</summary>
    public StoreLockedException(string message, Exception innerException)
        : base(message, innerException)
    {
        DatabasePath = LockPath = string.Empty;
    }

    /// <summary>The database file.</summary>
    public string DatabasePath { get; }

    /// <summary>The lock file that is held.</summary>
    public string LockPath { get; }
}
