namespace SecureFedRec.Configuration;

/// <summary>
/// Collects the problems of one validation. A setting whose value could not even be read (wrong type) is marked
/// <see cref="IsMalformed">malformed</see>, so that rules on its (default) value do not report a second, misleading problem.
/// </summary>
/// <remarks>Not thread-safe; one instance per validation.</remarks>
public sealed class SettingsProblems
{
    private readonly List<string> _problems = [];
    private readonly HashSet<string> _malformed = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The problems so far, in the order found.</summary>
    public IReadOnlyList<string> All => _problems;

    /// <summary>Whether nothing was reported.</summary>
    public bool IsEmpty => _problems.Count == 0;

    /// <summary>Reports that the setting at <paramref name="path"/> breaks a rule.</summary>
    public void Add(string path, string message)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(message);
        if (!IsMalformed(path))
        {
            _problems.Add(path + ": " + message);
        }
    }

    /// <summary>Reports a problem that is a whole sentence starting with the path (unknown keys).</summary>
    public void AddSentence(string sentence)
    {
        ArgumentException.ThrowIfNullOrEmpty(sentence);
        _problems.Add(sentence);
    }

    /// <summary>Reports that the value at <paramref name="path"/> could not be read as its type.</summary>
    public void AddMalformed(string path, string message)
    {
        Add(path, message);
        _malformed.Add(path);
    }

    /// <summary>Whether the value at <paramref name="path"/> was reported as unreadable (its rules are then skipped).</summary>
    public bool IsMalformed(string path) => _malformed.Contains(path);

    /// <summary>Reports a problem unless <paramref name="ok"/>; returns <paramref name="ok"/>.</summary>
    public bool Require(bool ok, string path, string message)
    {
        if (!ok)
        {
            Add(path, message);
        }

        return ok;
    }

    /// <summary>Reports a missing file unless <paramref name="file"/> exists (no problem when it is empty: that is a separate rule).</summary>
    public bool RequireFile(string path, string? file)
    {
        if (string.IsNullOrEmpty(file) || File.Exists(file))
        {
            return true;
        }

        Add(path, Directory.Exists(file) ? $"{file} is a folder, not a file." : $"file {file} does not exist.");
        return false;
    }

    /// <summary>Reports a missing folder unless the folder that would hold <paramref name="file"/> exists.</summary>
    public bool RequireParentFolder(string path, string? file)
    {
        if (string.IsNullOrEmpty(file))
        {
            return true;
        }

        string? dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file));
        if (dir is null || Directory.Exists(dir))
        {
            return true;
        }

        Add(path, $"folder {dir} (which would hold {System.IO.Path.GetFileName(file)}) does not exist.");
        return false;
    }
}
