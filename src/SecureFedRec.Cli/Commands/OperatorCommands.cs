using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using SecureFedRec.Coordinator.Storage;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Client;
using SecureFedRec.Wire.Operations.V1;

namespace SecureFedRec.Cli.Commands;

/// <summary>
/// Run management against a running coordinator through its operator API (protocol-spec/proto/operations.proto):
/// <c>securefedrec status|rounds|round N|models|dashboard login</c> and the remote forms of <c>ledger export|verify</c>,
/// every call signed with an operator key (<c>--key</c>, from <c>securefedrec keygen client --name operator</c>; its
/// public key in the coordinator's <c>Coordinator:Operators:Keys</c>). Human tables by default (the conventions of
/// <c>kubectl get</c>: upper-case headers, one row per object, newest first); <c>--json</c> prints the operations.proto
/// message in the proto3 JSON mapping for scripts.
/// </summary>
/// <remarks>Exit codes (Cli/ExitCodes.cs): 0; 2 a malformed flag or key file; 5 the coordinator unreachable; 6 refused
/// (not an operator key, clock skew); 1 another status (e.g. NOT_FOUND for an unknown round).</remarks>
internal static class OperatorCommands
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithIndentation());

    /// <summary>The flags every remote command takes.</summary>
    internal sealed class Remote
    {
        public Option<string?> Coordinator { get; } = new("--coordinator") { Description = "The coordinator's address, https://HOST:PORT (http:// only for an --insecure-dev coordinator)." };
        public Option<string> Key { get; } = new("--key") { Description = "The operator's identity key (PKCS#8 PEM, from `securefedrec keygen client --name operator`).", DefaultValueFactory = _ => "operator.key" };
        public Option<string?> TrustedCert { get; } = new("--trusted-cert") { Description = "PEM certificate of the coordinator to pin (e.g. coordinator.crt from keygen dev-cert)." };
        public Option<string?> Pin { get; } = new("--pin") { Description = "SHA-256 pin of the coordinator's public key (sha256/BASE64 or hex), instead of --trusted-cert." };

        public void AddTo(Command command, bool coordinatorRequired = true)
        {
            Coordinator.Required = coordinatorRequired;
            command.Options.Add(Coordinator);
            command.Options.Add(Key);
            command.Options.Add(TrustedCert);
            command.Options.Add(Pin);
        }

        /// <summary>Opens the signed channel; null (after one error line) when a flag is wrong.</summary>
        public (CoordinatorChannel Channel, IDisposable Identity)? Open(ParseResult parse)
        {
            string? address = parse.GetValue(Coordinator);
            if (!Uri.TryCreate(address, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            {
                Console.Error.WriteLine($"error: --coordinator must be an https:// (or http://) URL, got '{address}'.");
                return null;
            }

            CertificatePin? pin;
            try
            {
                pin = Pinned(parse);
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or System.Security.Cryptography.CryptographicException or IOException)
            {
                Console.Error.WriteLine("error: " + ex.Message);
                return null;
            }

            string keyPath = parse.GetValue(Key)!;
            if (!File.Exists(keyPath))
            {
                Console.Error.WriteLine($"error: --key: no operator key at {keyPath} (securefedrec keygen client --name operator writes one).");
                return null;
            }

            ClientIdentity identity;
            try
            {
                identity = ClientIdentity.FromKeyFile(keyPath);
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine($"error: --key: {keyPath} is not a PKCS#8 PEM identity key (Ed25519 or ECDSA P-256): {ex.Message}");
                return null;
            }

            var channel = new CoordinatorChannel(uri, new CoordinatorChannelOptions { Authenticator = identity, Pin = pin, MaxAttempts = 3, CallTimeout = TimeSpan.FromSeconds(10) });
            return (channel, identity);
        }

        private CertificatePin? Pinned(ParseResult parse)
        {
            string? pin = parse.GetValue(Pin);
            if (!string.IsNullOrWhiteSpace(pin))
            {
                try
                {
                    return CertificatePin.ParseSpki(pin);
                }
                catch (Exception ex) when (ex is ArgumentException or FormatException)
                {
                    throw new ArgumentException($"--pin: '{pin}' is not a SHA-256 public-key pin: {ex.Message}", ex);
                }
            }

            string? cert = parse.GetValue(TrustedCert);
            if (string.IsNullOrEmpty(cert))
            {
                return null;
            }

            if (!File.Exists(cert))
            {
                throw new ArgumentException($"--trusted-cert: no certificate at {cert}.");
            }

            try
            {
                using X509Certificate2 certificate = X509CertificateLoader.LoadCertificateFromFile(cert);
                return CertificatePin.ForCertificate(certificate);
            }
            catch (System.Security.Cryptography.CryptographicException ex)
            {
                throw new ArgumentException($"--trusted-cert: {cert} is not a PEM or DER certificate: {ex.Message}", ex);
            }
        }
    }

    public static IEnumerable<Command> Create()
    {
        yield return Status();
        yield return Rounds();
        yield return Round();
        yield return Models();
        yield return Dashboard();
    }

    /// <summary>Runs <paramref name="call"/> on a signed channel: flags wrong → 2; RPC failures through <see cref="CliErrors"/>.</summary>
    internal static async Task<int> RunAsync(Remote remote, ParseResult parse, Func<CoordinatorChannel, Task<int>> call)
    {
        if (remote.Open(parse) is not { } opened)
        {
            return ExitCodes.Usage;
        }

        using (opened.Identity)
        using (opened.Channel)
        {
            try
            {
                return await call(opened.Channel);
            }
            catch (Exception ex) when (ex is RpcException or CoordinatorTlsException)
            {
                return CliErrors.Report(ex);
            }
        }
    }

    private static Option<bool> JsonFlag() => new("--json") { Description = "Print the operations.proto message as JSON (proto3 JSON mapping) instead of a table." };

    private static Command Status()
    {
        var remote = new Remote();
        var json = JsonFlag();
        var command = new Command("status", "Show a running coordinator: current round and phase, model version, ε spent against the budget, round counts, ledger head.");
        remote.AddTo(command);
        command.Options.Add(json);
        command.SetAction((parse, ct) => RunAsync(remote, parse, async channel =>
        {
            GetStatusResponse s = await channel.InvokeAsync("GetStatus", o => channel.Operations.GetStatusAsync(new GetStatusRequest(), o), ct);
            if (parse.GetValue(json))
            {
                Console.WriteLine(Json.Format(s));
                return ExitCodes.Ok;
            }

            Table.KeyValues(
            [
                ("Coordinator", $"{channel.Address} (v{s.CoordinatorVersion}, {s.ApiVersion})"),
                ("Started", Time(s.StartedAtUnixMs)),
                ("Round", s.CurrentRound == 0 ? "none in progress" : $"{s.CurrentRound} ({s.CurrentPhase})"),
                ("Model version", N(s.ModelVersion)),
                ("Epsilon", $"{F(s.EpsilonSpent)} of {F(s.EpsilonBudget)} (δ = {s.BudgetDelta.ToString("G3", CultureInfo.InvariantCulture)}), {F(Math.Max(0, s.EpsilonBudget - s.EpsilonSpent))} left"),
                ("Rounds", $"{s.RoundsTotal} total: {s.RoundsCompleted} released, {s.RoundsWithheld} withheld, {s.RoundsAborted} aborted" + (s.MaxRounds > 0 ? $" (max {s.MaxRounds})" : string.Empty)),
                ("Enrolled clients", N(s.EnrolledClients)),
                ("Ledger head", $"{s.LedgerCount}:{s.LedgerHead}"),
                ("Dashboard", s.DashboardEnabled ? s.DashboardAddress + "dashboard/" : "off"),
            ]);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Rounds()
    {
        var remote = new Remote();
        var json = JsonFlag();
        var limit = new Option<int>("--limit") { Description = "Rounds to list, newest first (1..1000).", DefaultValueFactory = _ => 50 };
        var command = new Command("rounds", "List rounds, newest first: outcome, cohort and threshold, contributors, drops, ε.");
        remote.AddTo(command);
        command.Options.Add(limit);
        command.Options.Add(json);
        command.SetAction(async (parse, ct) =>
        {
            int n = parse.GetValue(limit);
            if (n is < 1 or > 1000)
            {
                Console.Error.WriteLine("error: --limit must be in [1, 1000].");
                return ExitCodes.Usage;
            }

            return await RunAsync(remote, parse, async channel =>
            {
                ListRoundsResponse r = await channel.InvokeAsync("ListRounds", o => channel.Operations.ListRoundsAsync(new ListRoundsRequest { Limit = (uint)n }, o), ct);
                if (parse.GetValue(json))
                {
                    Console.WriteLine(Json.Format(r));
                    return ExitCodes.Ok;
                }

                if (r.Rounds.Count == 0)
                {
                    Console.WriteLine("No rounds yet.");
                    return ExitCodes.Ok;
                }

                Table.Print(["ROUND", "OPENED (UTC)", "PHASE", "OUTCOME", "COHORT", "T", "CONTRIBUTORS", "DROPPED", "EPSILON", "TOTAL", "MODEL"],
                    r.Rounds.Select(x => new[]
                    {
                        N(x.RoundId), Time(x.CreatedAtUnixMs), x.Phase, x.Outcome.Length == 0 ? "(open)" : x.Outcome,
                        Dash(x.Cohort), Dash(x.Threshold), Dash(x.Contributors), x.Cohort == 0 ? "-" : N(x.Dropped),
                        x.RoundEpsilon == 0 ? "-" : F(x.RoundEpsilon), x.TotalEpsilon == 0 ? "-" : F(x.TotalEpsilon), x.ReleasedVersion == 0 ? "-" : "v" + N(x.ReleasedVersion),
                    }));
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private static Command Round()
    {
        var remote = new Remote();
        var json = JsonFlag();
        var id = new Argument<ulong>("N") { Description = "The round id (from `securefedrec rounds`)." };
        var command = new Command("round", "Show one round: outcome, survivors per phase, drops by reason, ε.");
        command.Arguments.Add(id);
        remote.AddTo(command);
        command.Options.Add(json);
        command.SetAction((parse, ct) => RunAsync(remote, parse, async channel =>
        {
            GetRoundResponse r = await channel.InvokeAsync("GetRound", o => channel.Operations.GetRoundAsync(new GetRoundRequest { RoundId = parse.GetValue(id) }, o), ct);
            if (parse.GetValue(json))
            {
                Console.WriteLine(Json.Format(r));
                return ExitCodes.Ok;
            }

            RoundSummary s = r.Round;
            Table.KeyValues(
            [
                ("Round", N(s.RoundId)),
                ("Opened", Time(s.CreatedAtUnixMs)),
                ("Updated", Time(s.UpdatedAtUnixMs)),
                ("Phase", s.Phase),
                ("Outcome", s.Outcome.Length == 0 ? "(open)" : s.Outcome),
                ("Model", $"built on v{s.ModelVersion}" + (s.ReleasedVersion == 0 ? ", released nothing" : $", released v{s.ReleasedVersion}")),
                ("Cohort", r.Observed ? $"{s.Cohort} clients, threshold t = {s.Threshold}" : "not observed (opened before this coordinator process started)"),
                ("Contributors", N(s.Contributors)),
                ("Epsilon", s.RoundEpsilon == 0 ? "nothing charged" : $"{F(s.RoundEpsilon)} (total {F(s.TotalEpsilon)})"),
            ]);
            if (r.Detail.Length > 0)
            {
                Console.WriteLine("Detail:        " + r.Detail);
            }

            if (r.Phases.Count > 0)
            {
                Console.WriteLine();
                Table.Print(["PHASE", "EXPECTED", "ANSWERED", "SECONDS"],
                    r.Phases.Select(p => new[] { p.Phase.ToString(), N(p.Expected), N(p.Answered), p.DurationSeconds.ToString("F2", CultureInfo.InvariantCulture) }));
            }

            if (r.Drops.Count > 0)
            {
                Console.WriteLine();
                Table.Print(["DROP REASON", "CLIENTS"], r.Drops.Select(d => new[] { d.Reason.ToString(), N(d.Count) }));
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Models()
    {
        var remote = new Remote();
        var json = JsonFlag();
        var command = new Command("models", "List released model versions, newest first, with the ledger head each was released under.");
        remote.AddTo(command);
        command.Options.Add(json);
        command.SetAction((parse, ct) => RunAsync(remote, parse, async channel =>
        {
            ListModelsResponse r = await channel.InvokeAsync("ListModels", o => channel.Operations.ListModelsAsync(new ListModelsRequest(), o), ct);
            if (parse.GetValue(json))
            {
                Console.WriteLine(Json.Format(r));
                return ExitCodes.Ok;
            }

            Table.Print(["VERSION", "ROUND", "EPSILON", "RELEASED (UTC)", "DIGEST", "LEDGER"],
                r.Models.Reverse().Select(m => new[]
                {
                    "v" + N(m.Version), m.RoundId == 0 ? "initial" : N(m.RoundId), m.Epsilon, Time(m.ReleasedAtUnixMs), Short(m.ModelDigest), m.LedgerCount + ":" + Short(m.LedgerHead),
                }));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Dashboard()
    {
        var remote = new Remote();
        var login = new Command("login", "Print a one-time login link for the coordinator's dashboard (valid for Coordinator:Operators:Dashboard:LoginSeconds, one use).");
        remote.AddTo(login);
        login.SetAction((parse, ct) => RunAsync(remote, parse, async channel =>
        {
            CreateDashboardLoginResponse r = await channel.InvokeAsync("CreateDashboardLogin", o => channel.Operations.CreateDashboardLoginAsync(new CreateDashboardLoginRequest(), o), ct);
            Console.WriteLine(r.LoginUrl);
            Console.Error.WriteLine($"(open it in a browser before {Time(r.ExpiresAtUnixMs)} UTC; it works once)");
            return ExitCodes.Ok;
        }));
        var dashboard = new Command("dashboard", "The coordinator's operator dashboard.");
        dashboard.Subcommands.Add(login);
        return dashboard;
    }

    /// <summary>Fetches the ledger and model chains (ExportLedger).</summary>
    internal static Task<ExportLedgerResponse> ExportAsync(CoordinatorChannel channel, CancellationToken ct) =>
        channel.InvokeAsync("ExportLedger", o => channel.Operations.ExportLedgerAsync(new ExportLedgerRequest(), o), ct);

    /// <summary>The exported rows as the store's records, to verify with <see cref="LedgerChain.Verify"/> here, not trusting a verdict.</summary>
    internal static (List<LedgerRecord> Ledger, List<ModelVersionRecord> Models) ToRecords(ExportLedgerResponse export)
    {
        var ledger = export.Ledger.Select(r => new LedgerRecord((long)r.Sequence, r.RoundId, DateTimeOffset.FromUnixTimeMilliseconds(r.RecordedAtUnixMs),
            r.ParametersJson, (int)r.ContributingClients, r.RoundEpsilon, r.TotalEpsilon)
        { PreviousHash = r.PreviousHash, Hash = r.Hash }).ToList();
        var models = export.Models.Select(m => new ModelVersionRecord((long)m.Version, (long)m.RoundId, [], m.Epsilon, DateTimeOffset.FromUnixTimeMilliseconds((long)m.ReleasedAtUnixMs))
        {
            ModelDigest = m.ModelDigest,
            LedgerCount = (long)m.LedgerCount,
            LedgerHead = m.LedgerHead,
            PreviousHash = m.PreviousHash,
            Hash = m.Hash,
        }).ToList();
        return (ledger, models);
    }

    internal static string Format(IMessage message) => Json.Format(message);

    private static string Time(ulong unixMs) => unixMs == 0 ? "-" :
        DateTimeOffset.FromUnixTimeMilliseconds((long)unixMs).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static string N(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    private static string N(uint value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Dash(uint value) => value == 0 ? "-" : N(value);

    private static string F(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);

    private static string Short(string hash) => hash.Length > 12 ? hash[..12] : hash;

    /// <summary>Plain-text tables in the style of <c>kubectl get</c>: columns padded to their widest cell, three spaces apart.</summary>
    private static class Table
    {
        public static void Print(string[] headers, IEnumerable<string[]> rows)
        {
            List<string[]> all = [headers, .. rows];
            int[] widths = [.. Enumerable.Range(0, headers.Length).Select(c => all.Max(r => r[c].Length))];
            foreach (string[] row in all)
            {
                Console.WriteLine(string.Join("   ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd());
            }
        }

        public static void KeyValues(IEnumerable<(string Key, string Value)> pairs)
        {
            foreach ((string key, string value) in pairs)
            {
                Console.WriteLine((key + ":").PadRight(18) + value);
            }
        }
    }
}
