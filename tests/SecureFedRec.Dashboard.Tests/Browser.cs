using Microsoft.Playwright;

namespace SecureFedRec.Dashboard.Tests;

/// <summary>Debian's Chromium driven by Playwright (no browser download: the executable is the system's).</summary>
internal static class Browser
{
    public const string Chromium = "/usr/bin/chromium";

    private static readonly string[] Args =
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run scripts/install-prereqs.sh (apt-get install chromium).");
        IPlaywright playwright = await Playwright.CreateAsync();
        IBrowser browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true, Args = Args, Timeout = 30_000 });
        return (playwright, browser);
    }

    /// <summary>The repository's artifacts/ folder (found from the test assembly's folder, not the source path).</summary>
    public static string ArtifactsFolder()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "SecureFedRec.sln")))
            {
                return Directory.CreateDirectory(Path.Combine(d.FullName, "artifacts", "dashboard")).FullName;
            }
        }

        throw new DirectoryNotFoundException("No SecureFedRec.sln above " + AppContext.BaseDirectory);
    }
}
