#pragma warning disable CA1873 // constant test arguments
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace SecureFedRec.Cli.Tests;

/// <summary>Logging follows the Logging section; each event once; SIGTERM is a graceful stop that says what it abandoned.</summary>
public sealed class LoggingTests
{
    private static IConfiguration Config(params (string Key, string Value)[] keys) =>
        new ConfigurationBuilder().AddInMemoryCollection(keys.Select(k => new KeyValuePair<string, string?>(k.Key, k.Value))).Build();

    private static string Capture(IConfiguration configuration, Action<ILogger> log)
    {
        lock (typeof(Cli))
        {
            TextWriter previous = Console.Out;
            var output = new StringWriter();
            Console.SetOut(output);
            try
            {
                using (ILoggerFactory factory = LoggerFactory.Create(b => ConsoleLogging.Configure(b, configuration)))
                {
                    log(factory.CreateLogger("SecureFedRec.Coordinator"));
                }

                return output.ToString();
            }
            finally
            {
                Console.SetOut(previous);
            }
        }
    }

    [Fact]
    public void The_default_is_one_text_line_per_event_at_information()
    {
        string text = Capture(Config(), l =>
        {
            l.LogDebug("hidden");
            l.LogInformation(new EventId(2001, "Started"), "shown {Value}", 42);
        });
        Assert.DoesNotContain("hidden", text, StringComparison.Ordinal);
        string line = Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("info: SecureFedRec.Coordinator[2001] shown 42", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Levels_come_from_the_logging_section()
    {
        string text = Capture(Config(("Logging:LogLevel:Default", "Warning")), l =>
        {
            l.LogInformation("quiet");
            l.LogWarning("loud");
        });
        Assert.DoesNotContain("quiet", text, StringComparison.Ordinal);
        Assert.Contains("loud", text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_json_formatter_writes_one_object_per_line()
    {
        string text = Capture(Config(("Logging:Console:FormatterName", "json")), l => l.LogInformation(new EventId(2013, "Released"), "Round {RoundId} released", 7));
        using JsonDocument json = JsonDocument.Parse(Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal(2013, json.RootElement.GetProperty("EventId").GetInt32());
        Assert.Equal("Information", json.RootElement.GetProperty("LogLevel").GetString());
        Assert.Equal(7, json.RootElement.GetProperty("State").GetProperty("RoundId").GetInt32());
        Assert.EndsWith("Z", json.RootElement.GetProperty("Timestamp").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_console_format_is_a_configuration_error()
    {
        var ex = Assert.Throws<Configuration.ConfigurationException>(() => Capture(Config(("Logging:Console:FormatterName", "xml")), _ => { }));
        Assert.Equal(["Logging:Console:FormatterName: 'xml' is not a console format: use simple, json or systemd."], ex.Problems);
    }

    [Fact]
    public async Task A_coordinator_logs_each_event_once_in_json_and_stops_gracefully_on_sigterm()
    {
        using var dir = new TempDir();
        string config = dir.File("coordinator.json", """
            { "Logging": { "Console": { "FormatterName": "json" } },
              "Coordinator": { "InsecureDev": true, "Port": 0, "Store": "c.db" } }
            """);
        using Process process = Cli.Start("coordinator", "--config", config);
        var lines = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        string? line;
        while ((line = await process.StandardOutput.ReadLineAsync(timeout.Token)) is not null)
        {
            lines.Add(line);
            if (line.StartsWith("listening on ", StringComparison.Ordinal))
            {
                break;
            }
        }

        using (Process kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(timeout.Token);
        }

        lines.AddRange((await process.StandardOutput.ReadToEndAsync(timeout.Token)).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        await process.WaitForExitAsync(timeout.Token);
        string all = string.Join('\n', lines);
        Assert.True(process.ExitCode == ExitCodes.Ok, $"exit {process.ExitCode}\n{all}\n{await process.StandardError.ReadToEndAsync()}");
        var events = lines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("EventId").GetInt32()).ToList();
        Assert.Equal(lines.Count - 1, events.Count); // every line but "listening on" is a JSON log event
        Assert.Equal(1, events.Count(e => e == 2001));
        Assert.Equal(1, events.Count(e => e == 2050));
        Assert.Equal(events.Count, events.Distinct().Count());
        Assert.DoesNotContain("Microsoft.Hosting.Lifetime", all, StringComparison.Ordinal);
    }
}
