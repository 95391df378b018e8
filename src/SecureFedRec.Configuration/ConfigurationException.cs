namespace SecureFedRec.Configuration;

/// <summary>
/// The configuration of a coordinator or client is not usable: every problem found, one line each, each starting with
/// the setting's full path (<c>Client:Policy:MaxTotalEpsilon</c>). Thrown once, with all problems, before anything
/// starts; the command line prints <see cref="Problems"/> and exits with the configuration exit code.
/// </summary>
/// <remarks>An <see cref="ArgumentException"/> so that callers which refuse bad arguments in general also refuse this.</remarks>
public sealed class ConfigurationException : ArgumentException
{
    /// <summary>Creates the exception from its problems (at least one).</summary>
    public ConfigurationException(IReadOnlyList<string> problems)
        : base(Format(problems))
    {
        Problems = problems;
    }

    /// <summary>Creates an exception with one problem.</summary>
    public ConfigurationException(string problem)
        : this([problem])
    {
    }

    /// <summary>Not for use: a configuration exception always carries its problems.</summary>
    public ConfigurationException()
        : this("The configuration is invalid.")
    {
    }

    /// <summary>Not for use: a configuration exception always carries its problems.</summary>
    public ConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Problems = [message];
    }

    /// <summary>The problems, one sentence each, each naming the setting's path.</summary>
    public IReadOnlyList<string> Problems { get; }

    private static string Format(IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        if (problems.Count == 0)
        {
            throw new ArgumentException("At least one problem is needed.", nameof(problems));
        }

        return problems.Count == 1
            ? problems[0]
            : $"{problems.Count} configuration problems:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", problems);
    }
}
