using System.Text.Json;
using SecureFedRec.Client;
using SecureFedRec.Coordinator;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Wire.Auth;

namespace SecureFedRec.Cli.Tests;

/// <summary>The client command's exit codes against a real coordinator on loopback (h2c, in this process).</summary>
public sealed class LiveCoordinatorTests
{
    private static string Keygen(TempDir dir, string name)
    {
        Cli.Result key = Cli.Run("keygen", "client", "--out", dir.Path, "--name", name);
        Assert.True(key.Code == ExitCodes.Ok, key.ToString());
        return File.ReadAllText(dir[name + ".pub"]).Split(' ')[0];
    }

    private static string ClientConfig(TempDir dir, string name, Uri coordinator, double maxEpsilon)
    {
        dir.File(name + ".json", "[0.1, 0.2, 0.3, 0.4]");
        return dir.File(name + "-client.json", JsonSerializer.Serialize(new
        {
            Client = new
            {
                Coordinator = coordinator.ToString(),
                IdentityKeyPath = name + ".key",
                LedgerPath = name + ".ledger",
                DataPath = name + ".json",
                Policy = new { MaxTotalEpsilon = maxEpsilon, MinNoiseMultiplier = 0, AllowHonestButCurious = true, MinCohortSize = 2, MinThreshold = 2, MinDistinctOrganisations = 1 },
            },
        }));
    }

    [Fact]
    public async Task A_client_not_on_the_allow_list_is_refused_with_code_6()
    {
        using var dir = new TempDir();
        Keygen(dir, "stranger");
        var options = new CoordinatorOptions { InsecureDev = true, Port = 0, Store = dir["c.db"] };
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(options);
        Cli.Result r = Cli.Run("client", "--config", ClientConfig(dir, "stranger", host.Address, 10));
        Assert.True(r.Code == ExitCodes.Refused, r.ToString());
        Assert.StartsWith("error: PermissionDenied: ", r.ErrorLines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_round_declined_by_the_local_policy_exits_3()
    {
        using var dir = new TempDir();
        var options = new CoordinatorOptions { InsecureDev = true, Port = 0, Store = dir["c.db"] };
        options.Rounds.CohortSize = 2;
        options.Rounds.MinClients = 2;
        options.Rounds.Dimension = 4;
        options.Rounds.RecruitSeconds = 0;
        options.Rounds.PhaseSeconds = 3;
        options.Rounds.ThreatMode = "HonestButCurious"; // no roster identities in this test: opted in on both sides
        options.Rounds.AllowHonestButCurious = true;
        options.AllowList.Add(Keygen(dir, "careful"));
        options.AllowList.Add(Keygen(dir, "other"));
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(options);

        // The other institution takes part through the SDK; this one's policy allows almost no ε, so it declines.
        using var identity = ClientIdentity.FromKeyFile(dir["other.key"]);
        using var other = new FederationClient(new FederationClientOptions
        {
            Coordinator = host.Address,
            Identity = identity,
            LedgerPath = dir["other.ledger"],
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
        await other.EnrolAsync();
        Task<ClientRoundResult> otherRound = other.RunRoundAsync(ctx => new double[ctx.Model.Values.Length]);
        Cli.Result r = await Task.Run(() => Cli.Run("client", "--config", ClientConfig(dir, "careful", host.Address, maxEpsilon: 1e-6)));
        Assert.True(r.Code == ExitCodes.PolicyDeclined, r.ToString());
        Assert.Contains(": Declined", r.Out, StringComparison.Ordinal);
        try
        {
            await otherRound.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception ex) when (ex is Grpc.Core.RpcException or TimeoutException)
        {
            // The other client's round fails without the declined one; only this client's exit code is under test.
        }
    }
}
