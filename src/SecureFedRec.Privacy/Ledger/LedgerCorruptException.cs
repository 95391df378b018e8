namespace SecureFedRec.Privacy.Ledger;

/// <summary>
/// A ledger file cannot be trusted: truncated last record, unparsable line, broken hash chain, sequence gap, duplicate
/// round or a header that does not match the configuration. Names the file and the 1-based line. Nothing is repaired
/// automatically: an operator must look at the file (privacy spent must never be silently forgotten).
/// </summary>
public sealed class LedgerCorruptException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LedgerCorruptException(string path, int line, string problem)
        : base($"Privacy ledger '{path}' line {line}: {problem}")
    {
        FilePath = path;
        Line = line;
    }

    /// <summary>Creates the exception.</summary>
    public LedgerCorruptException()
        : base("Privacy ledger is corrupt.")
    {
        FilePath = string.Empty;
    }

    /// <summary>Creates the exception.</summary>
    public LedgerCorruptException(string message)
        : base(message)
    {
        FilePath = string.Empty;
    }

    /// <summary>Creates the exception.</summary>
    public LedgerCorruptException(string message, Exception innerException)
        : base(message, innerException)
    {
        FilePath = string.Empty;
    }

    /// <summary>The ledger file.</summary>
    public string FilePath { get; }

    /// <summary>1-based line number of the first bad line.</summary>
    public int Line { get; }
}
