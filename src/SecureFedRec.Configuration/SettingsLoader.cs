using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace SecureFedRec.Configuration;

/// <summary>
/// The configuration sources of a SecureFedRec program, by the ASP.NET Core conventions, later ones winning: an
/// appsettings-style JSON file, environment variables with a prefix (<c>SECUREFEDREC_Coordinator__Rounds__CohortSize</c>),
/// command-line arguments (<c>--Coordinator:Port=7443</c>), then the program's own flags.
/// </summary>
public sealed class SettingsSources
{
    /// <summary>The JSON file (null: none). Relative paths inside it are relative to the file (see <see cref="BaseDirectory"/>).</summary>
    public string? JsonFile { get; init; }

    /// <summary>Prefix of the environment variables read (default <c>SECUREFEDREC_</c>); null: none are read.</summary>
    public string? EnvironmentPrefix { get; init; } = "SECUREFEDREC_";

    /// <summary>Command-line arguments in the configuration-provider form (<c>--Client:LedgerPath=x</c>).</summary>
    public IReadOnlyList<string> CommandLine { get; init; } = [];

    /// <summary>Values set by the program's own flags (full keys, e.g. <c>Coordinator:Port</c>); they win over everything.</summary>
    public IReadOnlyDictionary<string, string?> Overrides { get; init; } = new Dictionary<string, string?>();

    /// <summary>The folder relative paths are resolved against: the JSON file's folder, else the current folder.</summary>
    public string BaseDirectory => JsonFile is null ? Environment.CurrentDirectory : Path.GetDirectoryName(Path.GetFullPath(JsonFile))!;

    /// <summary>Builds the configuration; a missing or unparsable JSON file is a <see cref="ConfigurationException"/>.</summary>
    public IConfigurationRoot Build()
    {
        var builder = new ConfigurationBuilder();
        if (JsonFile is not null)
        {
            string full = Path.GetFullPath(JsonFile);
            if (!File.Exists(full))
            {
                throw new ConfigurationException($"The configuration file {full} does not exist.");
            }

            builder.AddJsonFile(full, optional: false, reloadOnChange: false);
        }

        if (EnvironmentPrefix is not null)
        {
            builder.AddEnvironmentVariables(EnvironmentPrefix);
        }

        if (CommandLine.Count > 0)
        {
            builder.AddCommandLine([.. CommandLine]);
        }

        builder.AddInMemoryCollection(Overrides);
        try
        {
            return builder.Build();
        }
        catch (InvalidDataException ex)
        {
            // The JSON provider's message names the file and the line ("Could not parse the JSON file. Error on line …").
            throw new ConfigurationException(ex.InnerException is null ? ex.Message : $"{ex.Message} {ex.InnerException.Message}");
        }
        catch (FormatException ex)
        {
            throw new ConfigurationException("The command line is not KEY=VALUE pairs: " + ex.Message);
        }
        catch (IOException ex)
        {
            throw new ConfigurationException($"The configuration file {JsonFile} cannot be read: {ex.Message}");
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new ConfigurationException($"The configuration file {JsonFile} cannot be read: {ex.Message}");
        }
    }
}

/// <summary>
/// Loads one settings section strictly through the options pattern: <c>AddOptions&lt;T&gt;().BindStrictly(…).ValidateOnStart()</c>
/// in a small service container, then the start-up validation; every problem becomes one line of a
/// <see cref="ConfigurationException"/>.
/// </summary>
public static class SettingsLoader
{
    /// <summary>
    /// Reads section <paramref name="sectionPath"/> of <paramref name="configuration"/> into a new <typeparamref name="T"/>
    /// and validates it; <paramref name="afterBind"/> runs between binding and validation (e.g. to resolve relative paths).
    /// Throws <see cref="ConfigurationException"/> with every problem.
    /// </summary>
    public static T Load<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties | DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] T>(
        IConfiguration configuration, string sectionPath, Action<T>? afterBind = null, IEnumerable<string>? otherTopLevelSections = null, string environmentPrefix = "SECUREFEDREC_")
        where T : class, new()
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var services = new ServiceCollection();
        OptionsBuilder<T> options = services.AddOptions<T>().BindStrictly(configuration, sectionPath, otherTopLevelSections, environmentPrefix);
        if (afterBind is not null)
        {
            options.PostConfigure(afterBind);
        }

        options.ValidateOnStart();
        using ServiceProvider provider = services.BuildServiceProvider();
        try
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
            return provider.GetRequiredService<IOptions<T>>().Value;
        }
        catch (OptionsValidationException ex)
        {
            throw new ConfigurationException([.. ex.Failures]);
        }
    }
}

/// <summary>The options-pattern entry point: <c>services.AddOptions&lt;T&gt;().BindStrictly(configuration, "Client").ValidateOnStart()</c>.</summary>
public static class StrictOptionsExtensions
{
    /// <summary>
    /// Binds section <paramref name="sectionPath"/> (unknown keys and unreadable values left out) and registers a validator
    /// that reports them together with every attribute and <see cref="ISettingsRules"/> rule, each with its path.
    /// </summary>
    public static OptionsBuilder<T> BindStrictly<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] T>(
        this OptionsBuilder<T> builder, IConfiguration configuration, string sectionPath, IEnumerable<string>? otherTopLevelSections = null, string environmentPrefix = "SECUREFEDREC_")
        where T : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        SettingNode schema = SettingNode.Describe(typeof(T), sectionPath);
        string[] others = [.. otherTopLevelSections ?? ["Logging"]];
        builder.Configure(target => StrictSettings.BindReadable(configuration, schema, target));
        builder.Services.AddSingleton<IValidateOptions<T>>(new StrictValidator<T>(builder.Name, configuration, schema, others, environmentPrefix));
        return builder;
    }

    private sealed class StrictValidator<T>(string? name, IConfiguration configuration, SettingNode schema, string[] others, string prefix) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? optionsName, T options)
        {
            if (name is not null && name != optionsName)
            {
                return ValidateOptionsResult.Skip;
            }

            var problems = new SettingsProblems();
            StrictSettings.CheckKeys(configuration, schema, problems, others, prefix);
            StrictSettings.CheckRules(options, schema, problems);
            return problems.IsEmpty ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.All);
        }
    }
}
