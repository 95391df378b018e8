using System.CommandLine;
using SecureFedRec.Coordinator.Storage;

namespace SecureFedRec.Cli.Commands;

/// <summary>
/// <c>securefedrec ledger verify|head --store sqlite:PATH|postgres:CONNSTR</c>: an auditor's read-only check of a
/// coordinator store's hash-chained privacy ledger (<c>protocol-spec/ledger.md</c>). Never creates, upgrades or writes the
/// store. <c>ledger verify|export --coordinator URL --key operator.key</c>: the same against a running coordinator
/// through the operator API: the coordinator exports every ledger and model row with its hashes and the chains are
/// verified HERE (<see cref="LedgerChain.Verify"/>), so a coordinator cannot answer "intact" for a broken chain; pass
/// <c>--expect-head</c> to catch a rewritten one. Exit codes (Cli/ExitCodes.cs): 0 intact, 8 broken (the first broken row is named), 7 the store could not be read, 2 a malformed flag,
/// 5 / 6 the coordinator unreachable / refused the key.
/// </summary>
internal static class LedgerCommand
{
    private const int Intact = ExitCodes.Ok;
    private const int Failed = ExitCodes.StoreUnavailable;
    private const int Broken = ExitCodes.VerificationFailed;

    public static Command Create()
    {
        var ledger = new Command("ledger", "Audit the coordinator's hash-chained privacy ledger (read-only): a store file, or a running coordinator (--coordinator).");

        var store = new Option<string?>("--store") { Description = "sqlite:PATH or postgres:CONNECTION-STRING (offline: the store file itself). Or --coordinator." };
        var remote = new OperatorCommands.Remote();
        var expect = new Option<string?>("--expect-head") { Description = "COUNT:HASH recorded earlier (from `ledger head`, a client, or a published release): the ledger must still contain it." };
        var allModels = new Option<bool>("--all-models") { Description = "Also re-hash every stored model version (default: the latest)." };
        var verify = new Command("verify", "Verify both hash chains and each model's ledger anchor; exit 0 when intact, 8 naming the first broken row.");
        verify.Options.Add(store);
        verify.Options.Add(expect);
        verify.Options.Add(allModels);
        remote.AddTo(verify, coordinatorRequired: false);
        verify.SetAction(async (parse, cancellationToken) =>
        {
            bool offline = parse.GetValue(store) is not null, online = parse.GetValue(remote.Coordinator) is not null;
            if (offline == online)
            {
                Console.Error.WriteLine("error: ledger verify needs exactly one of --store (a store file or database) and --coordinator (a running coordinator).");
                return ExitCodes.Usage;
            }

            LedgerHead? expected = null;
            string? expectText = parse.GetValue(expect);
            if (expectText is not null)
            {
                if (!LedgerHead.TryParse(expectText, out LedgerHead parsed))
                {
                    Console.Error.WriteLine("error: --expect-head must be COUNT:HASH (decimal count, 64 lowercase hex digits).");
                    return ExitCodes.Usage;
                }

                expected = parsed;
            }

            if (online)
            {
                if (parse.GetValue(allModels))
                {
                    Console.Error.WriteLine("error: --all-models re-hashes model bytes, which only the store holds: use it with --store.");
                    return ExitCodes.Usage;
                }

                return await OperatorCommands.RunAsync(remote, parse, async channel =>
                {
                    Wire.Operations.V1.ExportLedgerResponse export = await OperatorCommands.ExportAsync(channel, cancellationToken);
                    (var rows, var models) = OperatorCommands.ToRecords(export);
                    LedgerVerification result = LedgerChain.Verify(rows, models, expected);
                    if (result.Intact && !result.Head.Equals(new LedgerHead((long)export.LedgerCount, export.LedgerHead)))
                    {
                        result = result with { Intact = false, Table = "ledger", Row = (long)export.LedgerCount, Problem = $"the coordinator's stated head {export.LedgerCount}:{export.LedgerHead} is not the head of the rows it exported ({result.Head})." };
                    }

                    return Report(result);
                });
            }

            return await WithStoreAsync(parse.GetValue(store)!, async s =>
                Report(await s.VerifyLedgerAsync(expected, parse.GetValue(allModels), cancellationToken)), cancellationToken);
        });

        var exportRemote = new OperatorCommands.Remote();
        var exportOut = new Option<string?>("--out") { Description = "Write the export to this file (refuses an existing file) instead of standard output." };
        var export = new Command("export", "Export a running coordinator's ledger and model chains with every row's hashes (JSON, the operations.proto ExportLedgerResponse), for an auditor's records.");
        exportRemote.AddTo(export);
        export.Options.Add(exportOut);
        export.SetAction((parse, cancellationToken) =>
        {
            string? path = parse.GetValue(exportOut);
            if (path is not null && (File.Exists(path) || Directory.Exists(path)))
            {
                Console.Error.WriteLine($"error: --out: {path} exists; refusing to overwrite an export.");
                return Task.FromResult(ExitCodes.Usage);
            }

            return OperatorCommands.RunAsync(exportRemote, parse, async channel => await WriteExportAsync(channel, path, cancellationToken));
        });

        var headStore = new Option<string>("--store") { Description = "sqlite:PATH or postgres:CONNECTION-STRING.", Required = true };
        var head = new Command("head", "Print the ledger head COUNT:HASH to record now and pass to `ledger verify --expect-head` later.");
        head.Options.Add(headStore);
        head.SetAction(async (parse, cancellationToken) => await WithStoreAsync(parse.GetValue(headStore)!, async s =>
        {
            Console.WriteLine((await s.GetLedgerHeadAsync(cancellationToken)).ToString());
            return Intact;
        }, cancellationToken));

        ledger.Subcommands.Add(verify);
        ledger.Subcommands.Add(head);
        ledger.Subcommands.Add(export);
        return ledger;
    }

    private static async Task<int> WriteExportAsync(Wire.Client.CoordinatorChannel channel, string? path, CancellationToken cancellationToken)
    {
        string json = OperatorCommands.Format(await OperatorCommands.ExportAsync(channel, cancellationToken));
        if (path is null)
        {
            Console.WriteLine(json);
            return Intact;
        }

        try
        {
            await File.WriteAllTextAsync(path, json + "\n", cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: --out: cannot write {path}: {ex.Message}");
            return Failed;
        }

        Console.WriteLine("ledger export written to " + path);
        return Intact;
    }

    private static int Report(LedgerVerification result)
    {
        if (result.Intact)
        {
            Console.WriteLine("ledger " + result.Problem);
            return Intact;
        }

        Console.Error.WriteLine($"ledger BROKEN at {result.Table} row {result.Row}: {result.Problem}");
        Console.Error.WriteLine("stored head: " + result.Head);
        return Broken;
    }

    private static async Task<int> WithStoreAsync(string spec, Func<SqlCoordinatorStore, Task<int>> action, CancellationToken cancellationToken)
    {
        SqlCoordinatorStore store;
        if (spec.StartsWith("sqlite:", StringComparison.Ordinal))
        {
            string path = spec["sqlite:".Length..];
            if (!File.Exists(path))
            {
                // Opening would create an empty database: an auditor asked about an existing one.
                Console.Error.WriteLine($"error: --store: no SQLite store at {path}.");
                return Failed;
            }

            store = new SqliteCoordinatorStore(path);
        }
        else if (spec.StartsWith("postgres:", StringComparison.Ordinal))
        {
            store = new PostgresCoordinatorStore(spec["postgres:".Length..]);
        }
        else
        {
            Console.Error.WriteLine("error: --store must be sqlite:PATH or postgres:CONNECTION-STRING.");
            return ExitCodes.Usage;
        }

        await using (store)
        {
            try
            {
                int schema = await store.GetSchemaVersionAsync(cancellationToken);
                if (schema == 0)
                {
                    Console.Error.WriteLine("error: not a SecureFedRec coordinator store (no schema table).");
                    return Failed;
                }

                if (schema < SqlCoordinatorStore.FirstChainedSchemaVersion)
                {
                    Console.Error.WriteLine($"ledger UNVERIFIABLE: schema {schema} store has no hash chain; a coordinator of this version upgrades it on start (schema {SqlCoordinatorStore.CurrentSchemaVersion}).");
                    return Broken;
                }

                if (schema > SqlCoordinatorStore.CurrentSchemaVersion)
                {
                    Console.Error.WriteLine($"error: schema {schema} is newer than this tool (reads {SqlCoordinatorStore.CurrentSchemaVersion}).");
                    return Failed;
                }

                return await action(store);
            }
            catch (System.Data.Common.DbException ex)
            {
                Console.Error.WriteLine("error: --store: cannot read the store: " + ex.Message);
                return Failed;
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine("error: " + ex.Message);
                return Failed;
            }
        }
    }
}
