using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;

namespace SecureFedRec.Cli.Tests;

/// <summary>
/// <c>dotnet pack</c> produces the <c>securefedrec</c> tool and the client SDK package (licence, readme, version), and
/// samples/SdkConsumer builds and runs against the SDK restored from a local folder feed, offline (the other packages
/// come from this machine's package cache). The unit file passes <c>systemd-analyze verify</c>.
/// </summary>
public sealed class PackagingTests
{
    private const string Version = "0.8.0";

    private static string Configuration => AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    private static (int Code, string Output) Run(string file, IEnumerable<string> args, string workingDirectory, IReadOnlyDictionary<string, string>? environment = null, int timeoutSeconds = 180)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        foreach ((string k, string v) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
        }

        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish in {timeoutSeconds} s:\n{stdout.Result}{stderr.Result}");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>The client SDK's project closure (it and everything it references), plus the CLI.</summary>
    private static List<string> ProjectsToPack(string root)
    {
        var closure = new List<string>();
        var pending = new Stack<string>([Path.Combine(root, "src", "SecureFedRec.Client", "SecureFedRec.Client.csproj")]);
        while (pending.TryPop(out string? project))
        {
            project = Path.GetFullPath(project);
            if (closure.Contains(project))
            {
                continue;
            }

            closure.Add(project);
            foreach (XElement reference in XDocument.Load(project).Descendants("ProjectReference"))
            {
                pending.Push(Path.Combine(Path.GetDirectoryName(project)!, reference.Attribute("Include")!.Value));
            }
        }

        closure.Add(Path.Combine(root, "src", "SecureFedRec.Cli", "SecureFedRec.Cli.csproj"));
        return closure;
    }

    private static XDocument Nuspec(string nupkg)
    {
        using ZipArchive zip = ZipFile.OpenRead(nupkg);
        ZipArchiveEntry entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using Stream s = entry.Open();
        return XDocument.Load(s);
    }

    private static string? Meta(XDocument nuspec, string name) =>
        nuspec.Root!.Elements().First(e => e.Name.LocalName == "metadata").Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;

    [Fact]
    public void Pack_produces_the_tool_and_the_sdk_and_a_sample_consumes_the_sdk_from_a_local_feed()
    {
        string root = Cli.RepoRoot();
        using var work = new TempDir();
        string feed = Directory.CreateDirectory(work["feed"]).FullName;

        // 1. Pack the SDK's closure and the tool in one MSBuild run, from the binaries this test run already built.
        string traversal = work.File("pack.proj", new XDocument(new XElement("Project",
            new XElement("ItemGroup", ProjectsToPack(root).Select(p => new XElement("PackProject", new XAttribute("Include", p)))),
            new XElement("Target", new XAttribute("Name", "Pack"),
                new XElement("MSBuild", new XAttribute("Projects", "@(PackProject)"), new XAttribute("Targets", "Pack"),
                    new XAttribute("Properties", $"Configuration={Configuration};NoBuild=true;PackageOutputPath={feed}"))))).ToString());
        var clock = Stopwatch.StartNew();
        (int packed, string packOutput) = Run("dotnet", ["msbuild", traversal, "-t:Pack", "-nologo", "-v:q", "-nr:false"], work.Path);
        Assert.True(packed == 0, packOutput);
        TimeSpan packTime = clock.Elapsed;

        string sdk = Path.Combine(feed, $"SecureFedRec.Client.{Version}.nupkg");
        string tool = Path.Combine(feed, $"SecureFedRec.Cli.{Version}.nupkg");
        Assert.True(File.Exists(sdk), "no SDK package in " + string.Join(", ", Directory.GetFiles(feed).Select(Path.GetFileName)));
        Assert.True(File.Exists(tool), "no tool package");

        XDocument sdkSpec = Nuspec(sdk);
        Assert.Equal(Version, Meta(sdkSpec, "version"));
        Assert.Equal("Apache-2.0", Meta(sdkSpec, "license"));
        Assert.Equal("README.md", Meta(sdkSpec, "readme"));
        using (ZipArchive zip = ZipFile.OpenRead(sdk))
        {
            Assert.Contains(zip.Entries, e => e.FullName == "README.md");
            Assert.Contains(zip.Entries, e => e.FullName == "LICENSE");
            Assert.Contains(zip.Entries, e => e.FullName == "lib/net10.0/SecureFedRec.Client.dll");
            Assert.Contains(zip.Entries, e => e.FullName == "lib/net10.0/SecureFedRec.Client.xml");
        }

        XDocument toolSpec = Nuspec(tool);
        Assert.Contains(toolSpec.Descendants(), e => e.Name.LocalName == "packageType" && e.Attribute("name")?.Value == "DotnetTool");
        using (ZipArchive zip = ZipFile.OpenRead(tool))
        {
            ZipArchiveEntry settings = zip.Entries.Single(e => e.FullName.EndsWith("DotnetToolSettings.xml", StringComparison.Ordinal));
            using Stream s = settings.Open();
            XElement command = XDocument.Load(s).Descendants("Command").Single();
            Assert.Equal("securefedrec", command.Attribute("Name")!.Value);
            Assert.Equal("securefedrec.dll", command.Attribute("EntryPoint")!.Value);
        }

        // 2. The sample, copied out of the repository, restored offline: the local feed for SecureFedRec.*, this
        //    machine's package caches for everything else, and a private packages folder (no stale 0.8.0 reused).
        CopyDirectory(Path.Combine(root, "samples"), work["samples"]);
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var sources = new List<string> { feed, Path.Combine(home, ".nuget", "packages") };
        if (Directory.Exists("/opt/nuget/packages"))
        {
            sources.Add("/opt/nuget/packages");
        }

        work.File(Path.Combine("samples", "nuget.config"), new XDocument(new XElement("configuration",
            new XElement("packageSources", new XElement("clear"),
                sources.Select((s, i) => new XElement("add", new XAttribute("key", "local" + i), new XAttribute("value", s)))))).ToString());
        var env = new Dictionary<string, string> { ["NUGET_PACKAGES"] = work["packages"] };
        string sample = work[Path.Combine("samples", "SdkConsumer")];
        (int built, string buildOutput) = Run("dotnet", ["build", "-c", "Release", "-nologo", "-clp:ErrorsOnly", "-nr:false"], sample, env);
        Assert.True(built == 0, buildOutput);
        Assert.True(Directory.Exists(Path.Combine(work["packages"], "securefedrec.client", Version)), "the SDK was not restored from the local feed");
        TimeSpan total = clock.Elapsed;

        // 3. It runs: strict settings from the package, the misspelt key refused by name.
        string dll = Path.Combine(sample, "bin", "Release", "net10.0", "SdkConsumer.dll");
        using var dir = new TempDir();
        Dictionary<string, string> keys = ConfigFiles.Client(dir);
        (int ok, string okOutput) = Run("dotnet", [dll, ConfigFiles.Write(dir, "client.json", keys)], dir.Path);
        Assert.True(ok == 0, okOutput);
        Assert.Contains("policy: total ε ≤ 10", okOutput, StringComparison.Ordinal);
        keys["Client:Policy:MaxTotalEpsilonn"] = "0.5";
        (int bad, string badOutput) = Run("dotnet", [dll, ConfigFiles.Write(dir, "client.json", keys)], dir.Path);
        Assert.True(bad == 2, badOutput);
        Assert.Contains("error: Client:Policy:MaxTotalEpsilonn is not a setting (in client.json); did you mean Client:Policy:MaxTotalEpsilon?", badOutput, StringComparison.Ordinal);
        Assert.True(total < TimeSpan.FromSeconds(120), $"pack {packTime.TotalSeconds:F0} s, pack + sample {total.TotalSeconds:F0} s");
    }

    [Fact]
    public void The_systemd_unit_verifies_cleanly()
    {
        if (!File.Exists("/usr/bin/systemd-analyze"))
        {
            return; // not a systemd machine: nothing to verify against (Debian images here have it)
        }

        string unit = Path.Combine(Cli.RepoRoot(), "deploy", "securefedrec-coordinator.service");
        (int code, string output) = Run("/usr/bin/systemd-analyze", ["verify", unit], Path.GetTempPath(), timeoutSeconds: 60);
        Assert.True(code == 0 && output.Trim().Length == 0, output);
        string text = File.ReadAllText(unit);
        Assert.Contains("Type=notify", text, StringComparison.Ordinal);
        Assert.Contains("RestartPreventExitStatus=2 7 8", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Deployment_secrets_are_ignored_by_git()
    {
        string root = Cli.RepoRoot();
        (int code, string output) = Run("git", ["check-ignore", "--no-index", "deploy/bank1.key", "deploy/coordinator.db", "deploy/bank1.ledger", "deploy/coordinator.key"], root, timeoutSeconds: 30);
        Assert.True(code == 0, output);
        Assert.Equal(4, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        (int kept, _) = Run("git", ["check-ignore", "--no-index", "deploy/securefedrec-coordinator.service"], root, timeoutSeconds: 30);
        Assert.Equal(1, kept); // 1: not ignored
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (string dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories).Where(d => !d.Contains("/bin", StringComparison.Ordinal) && !d.Contains("/obj", StringComparison.Ordinal)))
        {
            Directory.CreateDirectory(dir.Replace(from, to, StringComparison.Ordinal));
        }

        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories).Where(f => !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal)))
        {
            File.Copy(file, file.Replace(from, to, StringComparison.Ordinal));
        }
    }
}
