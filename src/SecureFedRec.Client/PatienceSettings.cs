using System.ComponentModel.DataAnnotations;
using SecureFedRec.Configuration;

namespace SecureFedRec.Client;

/// <summary>
/// How long the client waits for its coordinator (section <c>Client:Patience</c>): while the coordinator is down,
/// restarting or unreachable, every call is retried with exponential backoff (<see cref="InitialBackoffSeconds"/>
/// doubling up to <see cref="MaxBackoffSeconds"/>, with jitter from the OS CSPRNG) until it answers or
/// <see cref="TotalSeconds"/> have passed, with a progress line in the log every <see cref="ProgressSeconds"/>.
/// A refused TLS identity (untrusted, pin or name mismatch) is never retried.
/// </summary>
/// <remarks>Plain settings object, bound and validated by <see cref="ClientSettings.Load(string)"/>; not thread-safe.</remarks>
public sealed class PatienceSettings : ISettingsRules
{
    /// <summary>How long one call keeps retrying, in seconds (0, the default: keep trying until the coordinator answers).</summary>
    [Range(0.0, 31_536_000.0)]
    public double TotalSeconds { get; set; }

    /// <summary>First delay between two attempts, in seconds (doubles per attempt up to <see cref="MaxBackoffSeconds"/>).</summary>
    [Range(0.001, 3600.0)]
    public double InitialBackoffSeconds { get; set; } = 0.2;

    /// <summary>Largest delay between two attempts, in seconds.</summary>
    [Range(0.001, 3600.0)]
    public double MaxBackoffSeconds { get; set; } = 10;

    /// <summary>Least time between two "waiting for the coordinator" log lines of one call, in seconds (the first retry is always logged).</summary>
    [Range(0.0, 86_400.0)]
    public double ProgressSeconds { get; set; } = 30;

    /// <summary>How long a client waits to be selected for a round once the coordinator answers, in seconds.</summary>
    [Range(1.0, 31_536_000.0)]
    public double JoinSeconds { get; set; } = 600;

    /// <summary>Deadline of each attempt of a call, in seconds.</summary>
    [Range(0.1, 3600.0)]
    public double CallSeconds { get; set; } = 15;

    /// <summary>The patience as SDK options take it (<see cref="Timeout.InfiniteTimeSpan"/> for 0).</summary>
    internal TimeSpan Patience => TotalSeconds == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(TotalSeconds);

    /// <inheritdoc />
    public void CheckRules(string path, SettingsProblems problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        problems.Require(MaxBackoffSeconds >= InitialBackoffSeconds, path + ":MaxBackoffSeconds",
            $"is {MaxBackoffSeconds:G} s, less than InitialBackoffSeconds ({InitialBackoffSeconds:G} s).");
    }
}
