// A minimal integrator program: reads its client settings strictly, prints the policy it will enforce, and (with
// --run) enrols and takes part in one round with a zero update. Exit 2 on a configuration problem.
using SecureFedRec.Client;
using SecureFedRec.Configuration;

if (args.Length == 0)
{
    Console.Error.WriteLine("usage: SdkConsumer CLIENT.json [--run]");
    return 2;
}

ClientSettings settings;
try
{
    settings = ClientSettings.Load(args[0]);
}
catch (ConfigurationException ex)
{
    foreach (string problem in ex.Problems)
    {
        Console.Error.WriteLine("error: " + problem);
    }

    return 2;
}

Console.WriteLine($"coordinator {settings.Coordinator}; policy: total ε ≤ {settings.Policy.MaxTotalEpsilon} at δ = {settings.Policy.Delta}");
if (args.Length > 1 && args[1] == "--run")
{
    FederationClientOptions options = settings.ToOptions();
    using (options.Identity)
    using (var client = new FederationClient(options))
    {
        await client.EnrolAsync();
        ClientRoundResult result = await client.RunRoundAsync(round => new double[round.Model.Values.Length]);
        Console.WriteLine($"round {result.RoundId}: {result.Kind}");
    }
}

return 0;
