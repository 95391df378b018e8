using Microsoft.Extensions.Configuration;
using SecureFedRec.Configuration;

namespace SecureFedRec.Coordinator;

/// <summary>
/// Reads a coordinator's configuration by the ASP.NET Core conventions, later sources winning: the appsettings-style
/// JSON file (section <c>Coordinator</c>, plus the standard <c>Logging</c> section), <c>SECUREFEDREC_</c> environment
/// variables (<c>SECUREFEDREC_Coordinator__Rounds__CohortSize=20</c>), configuration-style command-line arguments, then
/// the command's own flags. Strict: an unknown key, an unreadable value or a broken rule stops the start-up with one
/// <see cref="ConfigurationException"/> that lists every problem with the setting's path.
/// </summary>
/// <remarks>Relative paths (certificate, key, allow-list, SQLite file) are relative to the JSON file's folder. Stateless.</remarks>
public static class CoordinatorConfiguration
{
    /// <summary>The top-level sections a coordinator's configuration may have besides <c>Coordinator</c>.</summary>
    public static IReadOnlyList<string> OtherSections { get; } = ["Logging"];

    /// <summary>Builds the configuration (file, environment, command line, flags) without reading it yet.</summary>
    public static IConfigurationRoot Build(string? configPath, IEnumerable<KeyValuePair<string, string?>>? overrides = null, IReadOnlyList<string>? commandLine = null) =>
        Sources(configPath, overrides, commandLine).Build();

    /// <summary>Reads and validates the <c>Coordinator</c> section; throws <see cref="ConfigurationException"/> with every problem.</summary>
    public static CoordinatorOptions Load(string? configPath, IEnumerable<KeyValuePair<string, string?>>? overrides = null, IReadOnlyList<string>? commandLine = null)
    {
        SettingsSources sources = Sources(configPath, overrides, commandLine);
        return Load(sources.Build(), configPath is null ? null : sources.BaseDirectory);
    }

    /// <summary>Reads and validates the <c>Coordinator</c> section of <paramref name="configuration"/>; relative paths are resolved against <paramref name="baseDirectory"/> (null: left as they are).</summary>
    public static CoordinatorOptions Load(IConfiguration configuration, string? baseDirectory) =>
        SettingsLoader.Load<CoordinatorOptions>(configuration, "Coordinator", options =>
        {
            if (baseDirectory is null)
            {
                return;
            }

            options.CertificatePath = Rebase(baseDirectory, options.CertificatePath);
            options.CertificateKeyPath = Rebase(baseDirectory, options.CertificateKeyPath);
            options.AllowListPath = Rebase(baseDirectory, options.AllowListPath);
            options.Roster.Path = Rebase(baseDirectory, options.Roster.Path);
            if (options.StoreProvider == "sqlite")
            {
                options.Store = Rebase(baseDirectory, options.Store)!;
            }
        }, OtherSections);

    private static SettingsSources Sources(string? configPath, IEnumerable<KeyValuePair<string, string?>>? overrides, IReadOnlyList<string>? commandLine) => new()
    {
        JsonFile = configPath,
        CommandLine = commandLine ?? [],
        Overrides = overrides?.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.OrdinalIgnoreCase) ?? [],
    };

    private static string? Rebase(string dir, string? path) =>
        string.IsNullOrEmpty(path) || Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(dir, path));
}
