using System.Text.Json;
using SecureFedRec.Client;
using SecureFedRec.Wire.Auth;

namespace SecureFedRec.Integration.Tests;

/// <summary>
/// Run management against a coordinator PROCESS over TLS: `securefedrec coordinator --config` with an operator key file
/// (Operators:KeysPath, relative to the configuration), a round of SDK clients, then `status`, `rounds`, `round 1` and
/// `ledger verify --coordinator` as separate processes pinned to the coordinator's certificate.
/// </summary>
public sealed class OperatorProcessTests
{
    [Fact]
    public async Task Status_rounds_round_and_ledger_verify_work_against_a_running_coordinator_process()
    {
        await using var federation = new Federation(clients: 2);
        string config = ProcessTests.WriteCoordinatorConfig(federation, cohort: 2, phaseSeconds: 20);
        using (var operatorKey = ClientIdentity.Generate())
        {
            operatorKey.WriteKeyFile(Path.Combine(federation.Directory, "operator.key"));
            File.WriteAllText(Path.Combine(federation.Directory, "operators.txt"), "# operators\n" + Convert.ToHexString(operatorKey.PublicKey) + " ops\n");
        }

        // The same configuration with the operator section added.
        var json = JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, JsonElement>>>(File.ReadAllText(config))!;
        json["Coordinator"]["Operators"] = JsonSerializer.SerializeToElement(new { KeysPath = "operators.txt" });
        File.WriteAllText(config, JsonSerializer.Serialize(json));

        using CliProcess coordinator = CliProcess.Start("coordinator", "--config", config);
        Uri address = await coordinator.ListeningAsync(TimeSpan.FromSeconds(60));
        await Task.WhenAll(Enumerable.Range(0, 2).Select(async i =>
        {
            using FederationClient client = federation.Client(i, address);
            await client.EnrolAsync();
            await client.RunRoundAsync(ctx => new double[ctx.Model.Values.Length]).WaitAsync(TimeSpan.FromSeconds(90));
        }));

        string[] remote = ["--coordinator", address.ToString(), "--trusted-cert", federation.CertificatePath, "--key", Path.Combine(federation.Directory, "operator.key")];
        async Task<(int Code, string Output)> Run(params string[] args)
        {
            using CliProcess p = CliProcess.Start([.. args, .. remote]);
            int code = await p.WaitAsync(TimeSpan.FromSeconds(60));
            return (code, p.Output);
        }

        (int code, string output) = await Run("status");
        Assert.True(code == 0, output + "\ncoordinator:\n" + coordinator.Output);
        Assert.Contains("Model version:    2", output, StringComparison.Ordinal);
        Assert.Contains("1 total: 1 released", output, StringComparison.Ordinal);

        (code, output) = await Run("rounds", "--json");
        Assert.True(code == 0, output);
        Assert.Contains("\"outcome\": \"Completed\"", output, StringComparison.Ordinal);

        (code, output) = await Run("round", "1");
        Assert.True(code == 0, output);
        Assert.Matches(@"MaskedInput\s+2\s+2", output);

        (code, output) = await Run("ledger", "verify");
        Assert.True(code == 0, output);
        Assert.Contains("ledger intact: 1 ledger rows, 2 model versions", output, StringComparison.Ordinal);
    }
}
