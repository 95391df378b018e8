using System.Text.Json;
using System.Text.RegularExpressions;
using SecureFedRec.Client;
using SecureFedRec.Coordinator;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Roster;
using SecureFedRec.Wire.Auth;

namespace SecureFedRec.Cli.Tests;

/// <summary>
/// The operator walkthrough of docs/operators.md ("Enrolment authority and roster") with the real commands: the authority
/// creates its key and a draft, each member makes its identity key, the authority adds them and signs; the coordinator is
/// configured with the signed roster and the pinned authority and serves it; a client pinning the authority enrols and
/// contributes; a client pinning another key, and a coordinator given a forged roster, stop with exit code 8 naming the rule.
/// </summary>
public sealed partial class RosterWalkthroughTests
{
    [GeneratedRegex(@"authority pin \(Coordinator:Roster:Authority and Client:RosterAuthority\): (?<pin>\S+)")]
    private static partial Regex PinLine();

    private static Cli.Result Ok(params string[] args)
    {
        Cli.Result r = Cli.Run(args);
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
        return r;
    }

    /// <summary>Runs the authority's side: returns the pinned authority (SUITE:HEX) and writes roster.json.</summary>
    private static string SignRoster(TempDir dir)
    {
        Cli.Result init = Ok("roster", "init", "--consortium", "demo", "--authority-key", dir["authority.key"], "--draft", dir["draft.json"]);
        string pin = PinLine().Match(init.Out).Groups["pin"].Value;
        Assert.True(RosterPin.TryParse(pin, out _), init.ToString());
        foreach ((string member, string organisation) in new[] { ("bank", "bank-a"), ("hospital", "hospital-b") })
        {
            Ok("keygen", "identity", "--out", dir.Path, "--name", member);
            Ok("roster", "add", "--draft", dir["draft.json"], "--organisation", organisation, "--client-id", member, "--public-key-file", dir[member + ".pub"]);
        }

        Ok("roster", "sign", "--draft", dir["draft.json"], "--authority-key", dir["authority.key"], "--out", dir["roster.json"]);
        Ok("roster", "verify", "--roster", dir["roster.json"], "--authority", pin, "--member", "bank-a/bank");
        return pin;
    }

    private static string CoordinatorConfig(TempDir dir, string pin) => dir.File("coordinator.json", JsonSerializer.Serialize(new
    {
        Coordinator = new
        {
            InsecureDev = true,
            Port = 0,
            Store = "c.db",
            Roster = new { Path = "roster.json", Authority = pin },
            Rounds = new { CohortSize = 2, MinClients = 2, Dimension = 4, RecruitSeconds = 0, PhaseSeconds = 5 },
        },
    }));

    private static string ClientConfig(TempDir dir, Uri coordinator, string pin) => dir.File("bank-client.json", JsonSerializer.Serialize(new
    {
        Client = new
        {
            Coordinator = coordinator.ToString(),
            IdentityKeyPath = "bank.key",
            RosterAuthority = pin,
            Organisation = "bank-a",
            ClientId = "bank",
            LedgerPath = "bank.ledger",
            DataPath = dir.File("bank.json", "[0.1, 0.2, 0.3, 0.4]"),
            Policy = new { MaxTotalEpsilon = 1000, MinNoiseMultiplier = 0, MinCohortSize = 2, MinThreshold = 2, MinDistinctOrganisations = 2 },
        },
    }));

    [Fact]
    public async Task Authority_members_coordinator_and_clients_work_end_to_end_from_the_commands()
    {
        using var dir = new TempDir();
        string pin = SignRoster(dir);
        CoordinatorOptions options = CoordinatorConfiguration.Load(CoordinatorConfig(dir, pin));
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(options);

        // The hospital takes part through the SDK, pinning the same authority.
        Assert.True(RosterPin.TryParse(pin, out RosterPin pinned));
        using var identity = ClientIdentity.FromKeyFile(dir["hospital.key"]);
        using var hospital = new FederationClient(new FederationClientOptions
        {
            Coordinator = host.Address,
            Identity = identity,
            LedgerPath = dir["hospital.ledger"],
            RosterAuthority = pinned,
            Organisation = "hospital-b",
            ClientId = "hospital",
            Policy = new ClientPrivacyPolicy
            {
                MaxTotalEpsilon = 1000,
                Delta = 1e-5,
                MinNoiseMultiplier = 0,
                MaxClip = 10,
                AcceptedThreatModes = new HashSet<ThreatMode> { ThreatMode.SemiMalicious },
                MinCohortSize = 2,
                MinThreshold = 2,
                MinDistinctOrganisations = 2,
            },
        });
        await hospital.EnrolAsync();
        Task<ClientRoundResult> other = hospital.RunRoundAsync(ctx => new double[ctx.Model.Values.Length]);

        Cli.Result bank = await Task.Run(() => Cli.Run("client", "--config", ClientConfig(dir, host.Address, pin)));
        ClientRoundResult hospitalResult = await other.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(bank.Code == ExitCodes.Ok, bank.ToString());
        Assert.Contains(": Completed;", bank.Out, StringComparison.Ordinal);
        Assert.Equal(RoundOutcomeKind.Completed, hospitalResult.Kind);
        Assert.Equal(1UL, RosterCheckpointFile.Read(dir["bank.ledger.roster"])!.Version);
    }

    [Fact]
    public async Task A_client_pinning_another_authority_exits_8_naming_the_rule_and_sends_no_enrolment()
    {
        using var dir = new TempDir();
        string pin = SignRoster(dir);
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(CoordinatorConfiguration.Load(CoordinatorConfig(dir, pin)));
        using Crypto.IdentitySigningKey other = Crypto.IdentitySigningKey.Generate(Crypto.IdentitySuite.Ed25519);
        string wrongPin = "ed25519:" + Convert.ToHexStringLower(other.PublicKey);

        Cli.Result r = Cli.Run("client", "--config", ClientConfig(dir, host.Address, wrongPin));
        Assert.True(r.Code == ExitCodes.VerificationFailed, r.ToString());
        Assert.StartsWith("error: roster refused: UnknownAuthority: ", r.ErrorLines[^1], StringComparison.Ordinal);
        Assert.False(File.Exists(dir["bank.ledger.roster"]));
    }

    [Fact]
    public void A_coordinator_given_a_forged_roster_exits_8_with_one_line()
    {
        using var dir = new TempDir();
        string pin = SignRoster(dir);
        // The coordinator's operator (or an intruder) edits the signed file: adds nothing, just raises the version.
        string forged = File.ReadAllText(dir["roster.json"]).Replace("\"version\": 1", "\"version\": 2", StringComparison.Ordinal);
        Assert.NotEqual(File.ReadAllText(dir["roster.json"]), forged);
        File.WriteAllText(dir["roster.json"], forged);

        Cli.Result r = Cli.Run("coordinator", "--config", CoordinatorConfig(dir, pin));
        Assert.True(r.Code == ExitCodes.VerificationFailed, r.ToString());
        Assert.Single(r.ErrorLines);
        Assert.StartsWith("error: roster refused: BadSignature: ", r.ErrorLines[0], StringComparison.Ordinal);
    }
}
