using SecureFedRec.Client;
using SecureFedRec.Coordinator;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Client;
using SecureFedRec.Wire.Operations.V1;

namespace SecureFedRec.Dashboard.Tests;

/// <summary>
/// A real coordinator on loopback (h2c; the dashboard on a listener of its own) after one released round of two SDK
/// clients, an operator key on its Operators:Keys, and the operator's signed channel.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sfr-dashboard-").FullName;

    public CoordinatorHost Host { get; private set; } = null!;

    public ClientIdentity Operator { get; } = ClientIdentity.Generate();

    public ClientIdentity[] Clients { get; } = [ClientIdentity.Generate(), ClientIdentity.Generate()];

    public CoordinatorChannel OperatorChannel { get; private set; } = null!;

    public static CoordinatorOptions Options(string dir, params ClientIdentity[] operators)
    {
        var options = new CoordinatorOptions { InsecureDev = true, Port = 0, Store = Path.Combine(dir, "c.db") };
        options.Rounds.CohortSize = 2;
        options.Rounds.MinClients = 2;
        options.Rounds.Dimension = 4;
        options.Rounds.RecruitSeconds = 0;
        options.Rounds.PhaseSeconds = 5;
        options.Rounds.ThreatMode = "HonestButCurious";
        options.Rounds.AllowHonestButCurious = true;
        options.Operators.Dashboard.Enabled = true;
        options.Operators.Dashboard.Port = 0;
        foreach (ClientIdentity o in operators)
        {
            options.Operators.Keys.Add(Convert.ToHexString(o.PublicKey) + " ops");
        }

        return options;
    }

    public async Task InitializeAsync()
    {
        CoordinatorOptions options = Options(_dir, Operator);
        foreach (ClientIdentity c in Clients)
        {
            options.AllowList.Add(Convert.ToHexString(c.PublicKey));
        }

        Host = await CoordinatorHost.StartAsync(options);
        OperatorChannel = new CoordinatorChannel(Host.Address, new CoordinatorChannelOptions { Authenticator = Operator, MaxAttempts = 1 });
        await Task.WhenAll(Clients.Select(async (identity, i) =>
        {
            using var client = new FederationClient(new FederationClientOptions
            {
                Coordinator = Host.Address,
                Identity = identity,
                LedgerPath = Path.Combine(_dir, $"client{i}.ledger"),
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

    /// <summary>A fresh one-time login link from the operator API.</summary>
    public async Task<string> LoginUrlAsync() =>
        (await OperatorChannel.Operations.CreateDashboardLoginAsync(new CreateDashboardLoginRequest())).LoginUrl;

    public async Task DisposeAsync()
    {
        OperatorChannel?.Dispose();
        await Host.DisposeAsync();
        Operator.Dispose();
        foreach (ClientIdentity c in Clients)
        {
            c.Dispose();
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}
