using System.Diagnostics;

namespace SecureFedRec.Conformance.Tests;

/// <summary>Runs a child process (the Python reference, the securefedrec CLI) and returns its exit code and output.</summary>
internal static class ChildProcess
{
    /// <summary>
    /// Runs <paramref name="program"/> with <paramref name="first"/> then <paramref name="args"/>; fails the test when it
    /// does not finish within 120 s (killing it). The output is stdout followed by stderr.
    /// </summary>
    public static (int Code, string Output) Run(string program, string first, string name, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(first);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail(name + " did not finish within 120 s: " + string.Join(' ', args));
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
