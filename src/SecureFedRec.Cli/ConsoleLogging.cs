using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace SecureFedRec.Cli;

/// <summary>
/// Console logging of the coordinator and client commands, bound to the standard <c>Logging</c> section: levels from
/// <c>Logging:LogLevel</c> (default Information, with ASP.NET Core's and the host's own chatter at Warning, so each
/// event is logged once), the console formatter from <c>Logging:Console:FormatterName</c> (<c>json</c>: one JSON object
/// per line; <c>simple</c>, the default: one text line per event with a timestamp), and under systemd the journal
/// format with syslog priorities.
/// </summary>
internal static class ConsoleLogging
{
    /// <summary>Configures <paramref name="logging"/> from <paramref name="configuration"/> (its <c>Logging</c> section).</summary>
    public static void Configure(ILoggingBuilder logging, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(logging);
        ArgumentNullException.ThrowIfNull(configuration);
        IConfigurationSection section = configuration.GetSection("Logging");
        logging.ClearProviders();
        logging.SetMinimumLevel(LogLevel.Information);
        // The host's "Now listening on" / "Application started" lines repeat the coordinator's own start-up event.
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        logging.AddConfiguration(section);

        string? formatter = section["Console:FormatterName"];
        IConfigurationSection formatterOptions = section.GetSection("Console:FormatterOptions");
        if (SystemdHelpers.IsSystemdService())
        {
            logging.AddSystemdConsole();
        }
        else if (string.Equals(formatter, ConsoleFormatterNames.Json, StringComparison.OrdinalIgnoreCase))
        {
            // Defaults only where the section says nothing (its own values are bound by the logging configuration).
            logging.AddJsonConsole(o =>
            {
                if (formatterOptions["TimestampFormat"] is null)
                {
                    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                }

                if (formatterOptions["UseUtcTimestamp"] is null)
                {
                    o.UseUtcTimestamp = true;
                }
            });
        }
        else if (formatter is null || string.Equals(formatter, ConsoleFormatterNames.Simple, StringComparison.OrdinalIgnoreCase))
        {
            logging.AddSimpleConsole(o =>
            {
                if (formatterOptions["SingleLine"] is null)
                {
                    o.SingleLine = true;
                }

                if (formatterOptions["TimestampFormat"] is null)
                {
                    o.TimestampFormat = "HH:mm:ss.fff ";
                }
            });
        }
        else if (string.Equals(formatter, ConsoleFormatterNames.Systemd, StringComparison.OrdinalIgnoreCase))
        {
            logging.AddSystemdConsole();
        }
        else
        {
            throw new Configuration.ConfigurationException($"Logging:Console:FormatterName: '{formatter}' is not a console format: use simple, json or systemd.");
        }
    }
}
