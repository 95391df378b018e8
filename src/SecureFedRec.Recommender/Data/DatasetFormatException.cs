namespace SecureFedRec.Recommender.Data;

/// <summary>
/// A ratings file that cannot be read: malformed line, truncated file, out-of-range value, duplicate rating, or no
/// ratings at all. <see cref="Exception.Message"/> names the file, the 1-based line and the problem; the same parts are
/// available as properties. Nothing is loaded when this is thrown.
/// </summary>
public sealed class DatasetFormatException : Exception
{
    /// <summary>Creates the exception; the message is "FILE:LINE: PROBLEM" (line 0 = the file as a whole).</summary>
    public DatasetFormatException(string filePath, long lineNumber, string problem)
        : base(lineNumber > 0 ? $"{filePath}:{lineNumber}: {problem}" : $"{filePath}: {problem}")
    {
        FilePath = filePath;
        LineNumber = lineNumber;
        Problem = problem;
    }

    /// <summary>The file that was being read.</summary>
    public string FilePath { get; }

    /// <summary>The 1-based line of the problem, or 0 when it concerns the whole file.</summary>
    public long LineNumber { get; }

    /// <summary>What is wrong, without the file and line.</summary>
    public string Problem { get; }
}
