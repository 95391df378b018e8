using System.CommandLine;
using SecureFedRec.Coordinator.Storage;

namespace SecureFedRec.Cli.Commands;

/// <summary>
/// <c>securefedrec ledger verify|head --store sqlite:PATH|postgres:CONNSTR</c>: an auditor's read-only check of a
/// coordinator store's hash-chained privacy ledger (<c>protocol-spec/ledger.md</c>). Never creates, upgrades or writes the
/// store. Exit codes (Cli/ExitCodes.cs): 0 intact, 8 broken (the first broken row is named), 7 the store could not be read, 2 a malformed flag.
/// </summary>
internal static class LedgerCommand
{
    private const int Intact = ExitCodes.Ok;
    private const int Failed = ExitCodes.StoreUnavailable;
    private const int Broken = ExitCodes.VerificationFailed;

    public static Command Create()
    {
        var ledger = new Command("ledger", "Audit the coordinator's hash-chained privacy ledger (read-only).");

        var store = new Option<string>("--store") { Description = "sqlite:PATH or postgres:CONNECTION-STRING.", Required = true };
        var expect = new Option<string?>("--expect-head") { Description = "COUNT:HASH recorded earlier (from `ledger head`, a client, or a published release): the ledger must still contain it." };
        var allModels = new Option<bool>("--all-models") { Description = "Also re-hash every stored model version (default: the latest)." };
        var verify = new Command("verify", "Verify both hash chains and each model's ledger anchor; exit 0 when intact, 8 naming the first broken row.");
        verify.Options.Add(store);
        verify.Options.Add(expect);
        verify.Options.Add(allModels);
        verify.SetAction(async (parse, cancellationToken) =>
        {
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

            return await WithStoreAsync(parse.GetValue(store)!, async s =>
            {
                LedgerVerification result = await s.VerifyLedgerAsync(expected, parse.GetValue(allModels), cancellationToken);
                if (result.Intact)
                {
                    Console.WriteLine("ledger " + result.Problem);
                    return Intact;
                }

                Console.Error.WriteLine($"ledger BROKEN at {result.Table} row {result.Row}: {result.Problem}");
                Console.Error.WriteLine("stored head: " + result.Head);
                return Broken;
            }, cancellationToken);
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
        return ledger;
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
