using System.CommandLine;
using System.Globalization;
using SecureFedRec.Coordinator;

namespace SecureFedRec.Cli.Commands;

/// <summary><c>securefedrec coordinator --config FILE</c>: runs the coordinator until Ctrl+C / SIGTERM.</summary>
internal static class CoordinatorCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config") { Description = "appsettings-style JSON file (section \"Coordinator\"); SECUREFEDREC_Coordinator__* environment variables override it." };
        var insecure = new Option<bool>("--insecure-dev") { Description = "Plaintext HTTP/2 (h2c) without TLS: local development only." };
        var port = new Option<int?>("--port") { Description = "TCP port (0: any free port)." };
        var store = new Option<string?>("--store") { Description = "SQLite file, or PostgreSQL connection string with --store-provider postgres." };
        var provider = new Option<string?>("--store-provider") { Description = "sqlite (default) or postgres." };
        var maxRounds = new Option<int?>("--max-rounds") { Description = "Open no new round after this many completed rounds." };
        var roster = new Option<string?>("--roster") { Description = "Signed roster file to admit clients from and serve (Coordinator:Roster:Path); needs --roster-authority." };
        var authority = new Option<string?>("--roster-authority") { Description = "The enrolment authority's key to pin, SUITE:HEX (Coordinator:Roster:Authority)." };
        var command = new Command("coordinator", "Run the coordinator: TLS, clients admitted from the signed roster (or a development allow-list), rounds with deadlines, durable store, /healthz and /metrics.");
        command.Options.Add(config);
        command.Options.Add(insecure);
        command.Options.Add(port);
        command.Options.Add(store);
        command.Options.Add(provider);
        command.Options.Add(maxRounds);
        command.Options.Add(roster);
        command.Options.Add(authority);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var overrides = new Dictionary<string, string?>();
            if (parse.GetValue(insecure))
            {
                overrides["Coordinator:InsecureDev"] = "true";
            }

            if (parse.GetValue(port) is { } p)
            {
                overrides["Coordinator:Port"] = p.ToString(CultureInfo.InvariantCulture);
            }

            if (parse.GetValue(store) is { } s)
            {
                overrides["Coordinator:Store"] = s;
            }

            if (parse.GetValue(provider) is { } sp)
            {
                overrides["Coordinator:StoreProvider"] = sp;
            }

            if (parse.GetValue(roster) is { } r)
            {
                overrides["Coordinator:Roster:Path"] = Path.GetFullPath(r);
            }

            if (parse.GetValue(authority) is { } a)
            {
                overrides["Coordinator:Roster:Authority"] = a;
            }

            if (parse.GetValue(maxRounds) is { } m)
            {
                overrides["Coordinator:Rounds:MaxRounds"] = m.ToString(CultureInfo.InvariantCulture);
            }

            try
            {
                string? path = parse.GetValue(config)?.FullName;
                var configuration = CoordinatorConfiguration.Build(path, overrides);
                CoordinatorOptions options = CoordinatorConfiguration.Load(configuration, path is null ? null : Path.GetDirectoryName(path));
                await using CoordinatorHost host = await CoordinatorHost.StartAsync(options, logging => ConsoleLogging.Configure(logging, configuration), cancellationToken: cancellationToken);
                Console.WriteLine("listening on " + host.Address);
                await host.WaitForShutdownAsync(cancellationToken);
                return 0;
            }
            catch (Exception ex) when (CliErrors.IsExpected(ex))
            {
                return CliErrors.Report(ex);
            }
        });
        return command;
    }
}
