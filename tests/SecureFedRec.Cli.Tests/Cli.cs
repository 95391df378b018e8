using System.Diagnostics;
using System.Text;

namespace SecureFedRec.Cli.Tests;

/// <summary>Runs <c>securefedrec</c> in-process through its entry point (or as a process), capturing its output.</summary>
internal static class Cli
{
    private static readonly object Gate = new();

    public sealed record Result(int Code, string Out, string Err)
    {
        public string[] ErrorLines => Err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        public override string ToString() => $"exit {Code}\n--- stdout\n{Out}\n--- stderr\n{Err}";
    }

    public static Result Run(params string[] args) => Run(null, args);

    public static Result Run(IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        lock (Gate)
        {
            TextWriter stdout = Console.Out, stderr = Console.Error;
            var output = new StringWriter();
            var error = new StringWriter();
            var previous = new Dictionary<string, string?>();
            foreach ((string key, string? value) in environment ?? new Dictionary<string, string?>())
            {
                previous[key] = Environment.GetEnvironmentVariable(key);
                Environment.SetEnvironmentVariable(key, value);
            }

            Console.SetOut(output);
            Console.SetError(error);
            try
            {
                int code = Program.Main(args);
                return new Result(code, output.ToString(), error.ToString());
            }
            finally
            {
                Console.SetOut(stdout);
                Console.SetError(stderr);
                foreach ((string key, string? value) in previous)
                {
                    Environment.SetEnvironmentVariable(key, value);
                }
            }
        }
    }

    /// <summary>The built securefedrec.dll in the CLI's own output folder (its deps.json is the tool's, not the tests').</summary>
    public static string Dll
    {
        get
        {
            string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
            return Path.Combine(RepoRoot(), "src", "SecureFedRec.Cli", "bin", configuration, "net10.0", "securefedrec.dll");
        }
    }

    /// <summary>Starts <c>dotnet securefedrec.dll ARGS</c> as its own process.</summary>
    public static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        start.ArgumentList.Add(Dll);
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        return Process.Start(start)!;
    }

    public static string RepoRoot()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "SecureFedRec.sln")))
            {
                return dir;
            }
        }

        throw new InvalidOperationException("SecureFedRec.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A temporary folder, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Path = Directory.CreateTempSubdirectory("sfr-cli-").FullName;

    public string Path { get; }

    public string File(string name, string content)
    {
        string p = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllText(p, content, new UTF8Encoding(false));
        return p;
    }

    public string this[string name] => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
