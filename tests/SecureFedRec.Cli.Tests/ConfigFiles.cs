using System.Text.Json.Nodes;

namespace SecureFedRec.Cli.Tests;

/// <summary>Valid coordinator and client configuration files in a temporary folder, with one key changed per test.</summary>
internal static class ConfigFiles
{
    public const string Key = "04" + "6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296"
                                   + "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5";

    public static Dictionary<string, string> Coordinator(TempDir dir)
    {
        dir.File("c.crt", "certificate");
        dir.File("c.key", "key");
        dir.File("allow.txt", Key + " bank\n");
        return new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["Coordinator:ListenAddress"] = "\"127.0.0.1\"",
            ["Coordinator:Port"] = "0",
            ["Coordinator:CertificatePath"] = "\"c.crt\"",
            ["Coordinator:CertificateKeyPath"] = "\"c.key\"",
            ["Coordinator:Store"] = "\"c.db\"",
            ["Coordinator:AllowListPath"] = "\"allow.txt\"",
            ["Coordinator:Rounds:CohortSize"] = "3",
            ["Coordinator:Rounds:MinClients"] = "2",
            ["Coordinator:Rounds:Dimension"] = "4",
        };
    }

    public static Dictionary<string, string> Client(TempDir dir)
    {
        dir.File("id.key", "key");
        dir.File("data.json", "[0.1, 0.2, 0.3, 0.4]");
        dir.File("c.crt", "certificate");
        return new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["Client:Coordinator"] = "\"https://127.0.0.1:7443/\"",
            ["Client:IdentityKeyPath"] = "\"id.key\"",
            ["Client:TrustedCertificatePath"] = "\"c.crt\"",
            ["Client:LedgerPath"] = "\"bank.ledger\"",
            ["Client:DataPath"] = "\"data.json\"",
            ["Client:Policy:MaxTotalEpsilon"] = "10",
        };
    }

    /// <summary>Writes the flat keys (values are raw JSON) as a nested JSON file; a null value removes the key.</summary>
    public static string Write(TempDir dir, string name, IDictionary<string, string> keys)
    {
        var root = new JsonObject();
        foreach ((string path, string raw) in keys)
        {
            if (raw is null)
            {
                continue;
            }

            string[] parts = path.Split(':');
            JsonObject node = root;
            foreach (string part in parts[..^1])
            {
                if (node[part] is not JsonObject child)
                {
                    child = new JsonObject();
                    node[part] = child;
                }

                node = child;
            }

            node[parts[^1]] = JsonNode.Parse(raw);
        }

        return dir.File(name, root.ToJsonString());
    }
}
