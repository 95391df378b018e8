using System.Text.Json;
using Grpc.Core;
using SecureFedRec.Client;
using SecureFedRec.Coordinator;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Client;
using SecureFedRec.Wire.Operations.V1;

namespace SecureFedRec.Cli.Tests;

/// <summary>
/// A real coordinator on loopback (h2c, in this process) after one released round of two SDK clients, with an operator
/// key made by `securefedrec keygen client --name operator`.
/// </summary>
#pragma warning disable CA1001 // xunit disposes a fixture through IAsyncLifetime.DisposeAsync, which disposes the folder.
public sealed class OperatorCoordinator : IAsyncLifetime
#pragma warning restore CA1001
{
    private readonly TempDir _dir = new();

    public CoordinatorHost Host { get; private set; } = null!;

    public string Url => Host.Address.ToString();

    public string OperatorKey => _dir["operator.key"];

    public string ClientKey => _dir["bank0.key"];

    public string Dir => _dir.Path;

    public async Task InitializeAsync()
    {
        var options = new CoordinatorOptions { InsecureDev = true, Port = 0, Store = _dir["c.db"] };
        options.Rounds.CohortSize = 2;
        options.Rounds.MinClients = 2;
        options.Rounds.Dimension = 4;
        options.Rounds.RecruitSeconds = 0;
        options.Rounds.PhaseSeconds = 5;
        options.Rounds.ThreatMode = "HonestButCurious";
        options.Rounds.AllowHonestButCurious = true;
        options.Operators.Keys.Add(Keygen("operator"));
        options.AllowList.Add(Keygen("bank0").Split(' ')[0]);
        options.AllowList.Add(Keygen("bank1").Split(' ')[0]);
        Host = await CoordinatorHost.StartAsync(options);
        await Task.WhenAll(new[] { "bank0", "bank1" }.Select(async name =>
        {
            using var identity = ClientIdentity.FromKeyFile(_dir[name + ".key"]);
            using var client = new FederationClient(new FederationClientOptions
            {
                Coordinator = Host.Address,
                Identity = identity,
                LedgerPath = _dir[name + ".ledger"],
                Policy = new ClientPrivacyPolicy
                {
                    MaxTotalEpsilon = 1000,
                    Delta = 1e-5,
                    MinNoiseMultiplier = 0,
                    MaxClip = 10,
                    AcceptedThreatModes = new HashSet<ThreatMode> { ThreatMode.CuriousServer },
                    AllowHonestButCurious = true,
                    MinCohortSize = 2,
                    MinThreshold = 2,
                    MinDistinctOrganisations = 1,
                },
            });
            await client.EnrolAsync();
            await client.RunRoundAsync(ctx => [.. ctx.Model.Values.Select((_, k) => 0.1 * (k + 1))]).WaitAsync(TimeSpan.FromSeconds(60));
        }));
    }

    private string Keygen(string name)
    {
        Cli.Result key = Cli.Run("keygen", "client", "--out", _dir.Path, "--name", name);
        Assert.True(key.Code == ExitCodes.Ok, key.ToString());
        return File.ReadAllText(_dir[name + ".pub"]).Trim();
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>`securefedrec status|rounds|round|models|ledger export|ledger verify --coordinator` against a running coordinator.</summary>
public sealed class OperatorCommandTests(OperatorCoordinator coordinator) : IClassFixture<OperatorCoordinator>
{
    private Cli.Result Run(params string[] args) => Cli.Run([.. args, "--coordinator", coordinator.Url, "--key", coordinator.OperatorKey]);

    [Fact]
    public void Status_shows_the_model_version_epsilon_and_round_counts()
    {
        Cli.Result r = Run("status");
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
        Assert.Contains("Model version:    2", r.Out, StringComparison.Ordinal);
        Assert.Contains("Rounds:           1 total: 1 released, 0 withheld, 0 aborted", r.Out, StringComparison.Ordinal);
        Assert.Contains("Enrolled clients: 2", r.Out, StringComparison.Ordinal);
        Assert.Matches(@"Epsilon:\s+[0-9.]+ of 10 ", r.Out);
        Assert.Contains("Dashboard:        off", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_json_is_the_operations_proto_message()
    {
        Cli.Result r = Run("status", "--json");
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
        GetStatusResponse s = GetStatusResponse.Parser.ParseJson(r.Out);
        Assert.Equal(2UL, s.ModelVersion);
        Assert.Equal(1U, s.RoundsCompleted);
        Assert.Equal(10, s.EpsilonBudget);
        Assert.True(s.EpsilonSpent > 0);
        Assert.Equal(1UL, s.LedgerCount);
    }

    [Fact]
    public void Rounds_lists_the_released_round_as_a_table()
    {
        Cli.Result r = Run("rounds");
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
        string[] lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("ROUND   OPENED (UTC)", lines[0], StringComparison.Ordinal);
        Assert.Equal(2, lines.Length);
        Assert.Matches(@"^1\s+\S+ \S+\s+Completed\s+Completed\s+2\s+2\s+2\s+0\s+[0-9.]+\s+[0-9.]+\s+v2$", lines[1]);
    }

    [Fact]
    public void Rounds_json_has_every_field_for_scripts()
    {
        Cli.Result r = Run("rounds", "--json", "--limit", "5");
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
        using JsonDocument doc = JsonDocument.Parse(r.Out);
        JsonElement round = Assert.Single(doc.RootElement.GetProperty("rounds").EnumerateArray());
        Assert.Equal("1", round.GetProperty("roundId").GetString());
        Assert.Equal("Completed", round.GetProperty("outcome").GetString());
        Assert.Equal(2, round.GetProperty("contributors").GetInt32());
        Assert.Equal(0, round.GetProperty("dropped").GetInt32());
    }

    [Fact]
    public void Round_N_shows_survivors_per_phase()
    {
        Cli.Result r = Run("round", "1");
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
        Assert.Contains("Cohort:           2 clients, threshold t = 2", r.Out, StringComparison.Ordinal);
        Assert.Matches(@"AdvertiseKeys\s+2\s+2\s+[0-9.]+", r.Out);
        Assert.Matches(@"MaskedInput\s+2\s+2\s+[0-9.]+", r.Out);
        Assert.Matches(@"Unmasking\s+2\s+2\s+[0-9.]+", r.Out);
        Assert.DoesNotContain("DROP REASON", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_round_is_not_found_exit_1()
    {
        Cli.Result r = Run("round", "99");
        Assert.True(r.Code == ExitCodes.Failed, r.ToString());
        Assert.Equal("error: NotFound: No round 99.", r.ErrorLines[^1]);
    }

    [Fact]
    public void Models_lists_the_initial_and_the_released_version()
    {
        Cli.Result r = Run("models");
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
        string[] lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("VERSION", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("v2 ", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("v1 ", lines[2], StringComparison.Ordinal);
        Assert.Contains("initial", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public void Ledger_verify_against_the_coordinator_checks_the_exported_chains_here()
    {
        Cli.Result r = Run("ledger", "verify");
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
        Assert.StartsWith("ledger intact: 1 ledger rows, 2 model versions, head 1:", r.Out, StringComparison.Ordinal);

        // The same verdict as the offline check of the store file, which still works beside the remote one.
        Cli.Result offline = Cli.Run("ledger", "verify", "--store", "sqlite:" + Path.Combine(coordinator.Dir, "c.db"));
        Assert.True(offline.Code == ExitCodes.Ok, offline.ToString());
        Assert.Equal(r.Out, offline.Out);
    }

    [Fact]
    public void Ledger_verify_with_a_head_the_ledger_does_not_contain_fails_with_8()
    {
        Cli.Result r = Run("ledger", "verify", "--expect-head", "1:" + new string('a', 64));
        Assert.True(r.Code == ExitCodes.VerificationFailed, r.ToString());
        Assert.StartsWith("ledger BROKEN", r.ErrorLines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Ledger_export_writes_every_row_with_its_hashes()
    {
        string file = Path.Combine(coordinator.Dir, "export-" + Guid.NewGuid().ToString("N") + ".json");
        Cli.Result r = Run("ledger", "export", "--out", file);
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
        ExportLedgerResponse export = ExportLedgerResponse.Parser.ParseJson(File.ReadAllText(file));
        LedgerRow row = Assert.Single(export.Ledger);
        Assert.Equal("round-1", row.RoundId);
        Assert.Equal(64, row.Hash.Length);
        Assert.Equal(row.Hash, export.LedgerHead);
        Assert.Equal(2, export.Models.Count);

        Cli.Result again = Run("ledger", "export", "--out", file);
        Assert.True(again.Code == ExitCodes.Usage, again.ToString());
        Assert.StartsWith("error: --out: " + file + " exists", again.ErrorLines[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("status")]
    [InlineData("rounds")]
    [InlineData("round 1")]
    [InlineData("models")]
    [InlineData("ledger export")]
    [InlineData("ledger verify")]
    [InlineData("dashboard login")]
    public void A_client_key_is_refused_by_the_operator_api_with_code_6(string command)
    {
        Cli.Result r = Cli.Run([.. command.Split(' '), "--coordinator", coordinator.Url, "--key", coordinator.ClientKey]);
        Assert.True(r.Code == ExitCodes.Refused, r.ToString());
        Assert.Equal("error: PermissionDenied: Permission denied.", r.ErrorLines[^1]);
    }

    [Fact]
    public async Task The_operator_key_is_refused_by_the_client_services()
    {
        using var identity = ClientIdentity.FromKeyFile(coordinator.OperatorKey);
        using var channel = new CoordinatorChannel(coordinator.Host.Address, new CoordinatorChannelOptions { Authenticator = identity, MaxAttempts = 1 });
        var enrol = await Assert.ThrowsAsync<RpcException>(async () => await channel.Enrolment.EnrolAsync(new Wire.V1.EnrolRequest { IdentityPublicKey = Google.Protobuf.ByteString.CopyFrom(identity.PublicKey) }));
        Assert.Equal(StatusCode.PermissionDenied, enrol.StatusCode);
        var join = await Assert.ThrowsAsync<RpcException>(async () => await channel.Rounds.JoinRoundAsync(new Wire.V1.JoinRoundRequest()));
        Assert.Equal(StatusCode.PermissionDenied, join.StatusCode);
    }

    [Fact]
    public async Task An_unsigned_operator_call_is_unauthenticated()
    {
        using var channel = new CoordinatorChannel(coordinator.Host.Address, new CoordinatorChannelOptions { MaxAttempts = 1 });
        var e = await Assert.ThrowsAsync<RpcException>(async () => await channel.Operations.GetStatusAsync(new GetStatusRequest()));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
    }

    [Fact]
    public async Task A_replayed_operator_request_is_refused()
    {
        using var identity = ClientIdentity.FromKeyFile(coordinator.OperatorKey);
        var request = new GetStatusRequest();
        IReadOnlyList<KeyValuePair<string, string>> headers = identity.CreateHeaders("/securefedrec.operations.v1.Operations/GetStatus", Google.Protobuf.MessageExtensions.ToByteArray(request));
        var metadata = new Metadata();
        foreach ((string name, string value) in headers)
        {
            if (name.EndsWith("-bin", StringComparison.Ordinal))
            {
                metadata.Add(name, Convert.FromBase64String(value));
            }
            else
            {
                metadata.Add(name, value);
            }
        }

        using var channel = new CoordinatorChannel(coordinator.Host.Address, new CoordinatorChannelOptions { MaxAttempts = 1 });
        await channel.Operations.GetStatusAsync(request, metadata);
        var e = await Assert.ThrowsAsync<RpcException>(async () => await channel.Operations.GetStatusAsync(request, metadata));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        Assert.Equal("Replayed request.", e.Status.Detail);
    }

    [Fact]
    public void Dashboard_login_when_the_dashboard_is_off_is_refused()
    {
        Cli.Result r = Run("dashboard", "login");
        Assert.True(r.Code == ExitCodes.Refused, r.ToString());
        Assert.Contains("The dashboard is off", r.ErrorLines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreachable_coordinator_exits_5()
    {
        Cli.Result r = Cli.Run("status", "--coordinator", "http://127.0.0.1:9/", "--key", coordinator.OperatorKey);
        Assert.True(r.Code == ExitCodes.Unreachable, r.ToString());
    }
}

/// <summary>Start-up refusals of the operator settings.</summary>
public sealed class OperatorSettingsTests
{
    [Fact]
    public async Task An_operator_key_that_is_also_a_client_key_stops_the_coordinator()
    {
        using var dir = new TempDir();
        using var key = ClientIdentity.Generate();
        var options = new CoordinatorOptions { InsecureDev = true, Port = 0, Store = dir["c.db"] };
        options.AllowList.Add(Convert.ToHexString(key.PublicKey));
        options.Operators.Keys.Add(Convert.ToHexString(key.PublicKey));
        var e = await Assert.ThrowsAsync<ArgumentException>(() => CoordinatorHost.StartAsync(options));
        Assert.StartsWith("Coordinator:Operators:Keys: operator " + key.ClientId + " is also on the clients' allow-list", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0.0.0.0", 7444, "Coordinator:Operators:Dashboard:ListenAddress: '0.0.0.0' is not a loopback address")]
    [InlineData("127.0.0.1", 7443, "Coordinator:Operators:Dashboard:Port: 7443 is the coordinator's own port")]
    public async Task An_unsafe_dashboard_listener_stops_the_coordinator(string address, int port, string message)
    {
        using var dir = new TempDir();
        using var key = ClientIdentity.Generate();
        var options = new CoordinatorOptions { InsecureDev = true, Port = 7443, Store = dir["c.db"] };
        options.Operators.Keys.Add(Convert.ToHexString(key.PublicKey));
        options.Operators.Dashboard.Enabled = true;
        options.Operators.Dashboard.ListenAddress = address;
        options.Operators.Dashboard.Port = port;
        var e = await Assert.ThrowsAsync<ArgumentException>(() => CoordinatorHost.StartAsync(options));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"Coordinator\":{\"Operators\":{\"Dashboard\":{\"Enabled\":true}}}}", "error: Coordinator:Operators:Dashboard:Enabled: the dashboard needs at least one operator key")]
    [InlineData("{\"Coordinator\":{\"Operators\":{\"Keys\":[\"04zz\"]}}}", "error: Coordinator:Operators:Keys: Keys[0]: not a hex public key.")]
    [InlineData("{\"Coordinator\":{\"Operators\":{\"KeysPath\":\"/nonexistent-sfr/ops.txt\"}}}", "error: Coordinator:Operators:KeysPath: ")]
    [InlineData("{\"Coordinator\":{\"Operators\":{\"Dashboard\":{\"ListenAddress\":\"localhost\"}}}}", "error: Coordinator:Operators:Dashboard:ListenAddress: 'localhost' is not an IP address")]
    [InlineData("{\"Coordinator\":{\"Operators\":{\"Dashboard\":{\"PublicUrl\":\"ftp://x\"}}}}", "error: Coordinator:Operators:Dashboard:PublicUrl: 'ftp://x' is not an absolute http(s) URL.")]
    [InlineData("{\"Coordinator\":{\"Operators\":{\"Dashboard\":{\"LoginSeconds\":5}}}}", "error: Coordinator:Operators:Dashboard:LoginSeconds: '5' is out of range")]
    [InlineData("{\"Coordinator\":{\"Operators\":{\"Dashboard\":{\"Enabeld\":true}}}}", "error: Coordinator:Operators:Dashboard:Enabeld")]
    public void A_wrong_operator_setting_is_named_by_config_check(string json, string message)
    {
        using var dir = new TempDir();
        string file = dir.File("c.json", json);
        Cli.Result r = Cli.Run("config", "check", "--coordinator", file);
        Assert.True(r.Code == ExitCodes.Usage, r.ToString());
        Assert.Contains(r.ErrorLines, l => l.StartsWith(message, StringComparison.Ordinal));
    }
}
