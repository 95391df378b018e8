using System.Security.Cryptography;

namespace SecureFedRec.Roster;

/// <summary>A write that <see cref="SafeFile"/> refused before touching the output path (a symbolic link, an existing key).</summary>
public sealed class UnsafeOutputPathException : IOException
{
    /// <summary>Creates the exception.</summary>
    public UnsafeOutputPathException(string message)
        : base(message)
    {
    }
}

/// <summary>
/// Writes files so that a crash or an attacker-planted link never leaves a partial or misdirected file: the bytes go to a
/// fresh temporary file in the same directory created with <c>O_CREAT | O_EXCL</c> (which never follows a symbolic link)
/// and mode 0600 on Unix for secrets (0644 otherwise) before any byte is written, are flushed to disk, and the temporary
/// file is then renamed onto the output path.
/// </summary>
/// <remarks>
/// <para>A symbolic link at the output path is refused (<see cref="UnsafeOutputPathException"/>), even a dangling one.
/// <see cref="CreateNew"/> never replaces an existing file (the final step is a no-clobber link-and-unlink, so a file that
/// appears in between is not overwritten); <see cref="Replace"/> replaces a regular file atomically (rename(2) replaces the
/// directory entry and never writes through a link).</para>
/// <para>Stateless and thread-safe. Callers wipe their own secret buffers.</para>
/// </remarks>
public static class SafeFile
{
    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/>, which must not exist.</summary>
    /// <exception cref="UnsafeOutputPathException">The path exists or is a symbolic link.</exception>
    public static void CreateNew(string path, ReadOnlySpan<byte> content, bool secret)
    {
        string full = CheckPath(path);
        if (File.Exists(full) || Directory.Exists(full))
        {
            throw new UnsafeOutputPathException($"{full} exists; refusing to overwrite it.");
        }

        string temp = WriteTemporary(full, content, secret);
        try
        {
            File.Move(temp, full, overwrite: false);
        }
        catch (IOException) when (File.Exists(full))
        {
            TryDelete(temp);
            throw new UnsafeOutputPathException($"{full} appeared while writing; refusing to overwrite it.");
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/>, atomically replacing a regular file there.</summary>
    /// <exception cref="UnsafeOutputPathException">The path is a symbolic link or a directory.</exception>
    public static void Replace(string path, ReadOnlySpan<byte> content, bool secret)
    {
        string full = CheckPath(path);
        if (Directory.Exists(full))
        {
            throw new UnsafeOutputPathException($"{full} is a directory.");
        }

        string temp = WriteTemporary(full, content, secret);
        try
        {
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Reads a whole file of at most <paramref name="maxBytes"/> (for key and roster files). Reading follows symbolic
    /// links on purpose: mounted secrets (e.g. Kubernetes secret volumes) are links; only writing refuses them.</summary>
    /// <exception cref="IOException">Missing, unreadable or larger than <paramref name="maxBytes"/>.</exception>
    public static byte[] ReadAll(string path, int maxBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        using var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (stream.Length > maxBytes)
        {
            throw new IOException($"{full} is larger than {maxBytes} bytes.");
        }

        byte[] bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static string CheckPath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        if (new FileInfo(full).LinkTarget is not null)
        {
            throw new UnsafeOutputPathException($"{full} is a symbolic link; refusing to follow it.");
        }

        return full;
    }

    private static string WriteTemporary(string full, ReadOnlySpan<byte> content, bool secret)
    {
        string directory = Path.GetDirectoryName(full)!;
        Span<byte> random = stackalloc byte[8];
        RandomNumberGenerator.Fill(random);
        string temp = Path.Combine(directory, "." + Path.GetFileName(full) + "." + Convert.ToHexStringLower(random) + ".tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = secret
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }

        try
        {
            using var stream = new FileStream(temp, options);
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        return temp;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the temporary name is random and dot-prefixed.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }
}
