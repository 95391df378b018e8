using System.Diagnostics;
using System.Text;

namespace SecureFedRec.Integration.Tests;

/// <summary>A <c>securefedrec</c> process started by a test (killed by its own id on dispose).</summary>
internal sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private CliProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public static string CliDll()
    {
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        string dll = Path.Combine(PythonInteropTests.RepoRoot(), "src", "SecureFedRec.Cli", "bin", configuration, "net10.0", "securefedrec.dll");
        Assert.True(File.Exists(dll), "securefedrec is not built: " + dll);
        return dll;
    }

    public static CliProcess Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.ArgumentList.Add(CliDll());
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return new CliProcess(Process.Start(start)!);
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public int ExitCode => _process.ExitCode;

    /// <summary>The address a coordinator process prints once it listens.</summary>
    public async Task<Uri> ListeningAsync(TimeSpan timeout)
    {
        Task finished = await Task.WhenAny(_listening.Task, Task.Delay(timeout), _process.WaitForExitAsync());
        Assert.True(finished == _listening.Task, "The coordinator did not start:\n" + Output);
        return await _listening.Task;
    }

    public async Task<int> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail("The process did not exit in time:\n" + Output);
        }

        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown code runs (a crash).</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        const string prefix = "listening on ";
        if (line.StartsWith(prefix, StringComparison.Ordinal))
        {
            _listening.TrySetResult(new Uri(line[prefix.Length..].Trim()));
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
