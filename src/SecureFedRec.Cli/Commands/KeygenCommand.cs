using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Tls;

namespace SecureFedRec.Cli.Commands;

/// <summary><c>securefedrec keygen client|dev-cert</c>: client identity keys and a self-signed coordinator certificate.</summary>
internal static class KeygenCommand
{
    public static Command Create()
    {
        var keygen = new Command("keygen", "Create a client identity key (ECDSA P-256) or a self-signed development certificate for the coordinator.");

        var outDir = new Option<DirectoryInfo>("--out") { Description = "Directory to write into (created if missing).", DefaultValueFactory = _ => new DirectoryInfo(".") };
        var name = new Option<string>("--name") { Description = "File name stem.", DefaultValueFactory = _ => "client" };
        var client = new Command("client", "Write NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub (hex SEC1 public key: one allow-list line).");
        client.Options.Add(outDir);
        client.Options.Add(name);
        name.Validators.Add(r =>
        {
            string? n = r.GetValueOrDefault<string>();
            if (string.IsNullOrWhiteSpace(n) || n.IndexOfAny(['/', '\\']) >= 0 || n is "." or "..")
            {
                r.AddError($"--name must be a plain file name (no folder), got '{n}'.");
            }
        });
        client.SetAction(parse =>
        {
            DirectoryInfo dir = parse.GetValue(outDir)!;
            string stem = parse.GetValue(name)!;
            dir.Create();
            string keyPath = Path.Combine(dir.FullName, stem + ".key");
            if (File.Exists(keyPath))
            {
                Console.Error.WriteLine($"error: {keyPath} exists; refusing to overwrite an identity key.");
                return ExitCodes.Usage;
            }

            using ClientIdentity identity = ClientIdentity.Generate();
            SecretFile.WriteAllText(keyPath, identity.ExportPrivateKeyPem());
            string line = Convert.ToHexString(identity.PublicKey) + " " + stem;
            File.WriteAllText(Path.Combine(dir.FullName, stem + ".pub"), line + "\n");
            Console.WriteLine($"identity key: {keyPath}");
            Console.WriteLine($"client id:    {identity.ClientId}");
            Console.WriteLine($"allow-list line (add to the coordinator's AllowListPath file):");
            Console.WriteLine(line);
            return 0;
        });

        var certDir = new Option<DirectoryInfo>("--out") { Description = "Directory to write into (created if missing).", DefaultValueFactory = _ => new DirectoryInfo(".") };
        var hosts = new Option<string[]>("--host") { Description = "DNS name or IP address of the coordinator (repeatable).", DefaultValueFactory = _ => ["localhost", "127.0.0.1"], AllowMultipleArgumentsPerToken = true };
        var days = new Option<int>("--days") { Description = "Validity in days.", DefaultValueFactory = _ => 90 };
        var devCert = new Command("dev-cert", "Write coordinator.crt and coordinator.key (self-signed ECDSA P-256, for trying it out; clients pin coordinator.crt).");
        devCert.Options.Add(certDir);
        devCert.Options.Add(hosts);
        devCert.Options.Add(days);
        devCert.SetAction(parse =>
        {
            DirectoryInfo dir = parse.GetValue(certDir)!;
            int validity = parse.GetValue(days);
            if (validity is < 1 or > 825)
            {
                Console.Error.WriteLine("error: --days must be in [1, 825].");
                return ExitCodes.Usage;
            }

            dir.Create();
            using X509Certificate2 certificate = DevCertificate.Create(parse.GetValue(hosts)!, TimeSpan.FromDays(validity));
            string crt = Path.Combine(dir.FullName, "coordinator.crt");
            string key = Path.Combine(dir.FullName, "coordinator.key");
            DevCertificate.WritePem(certificate, crt, key);
            Console.WriteLine($"certificate: {crt}");
            Console.WriteLine($"private key: {key}");
            Console.WriteLine($"sha256:      {DevCertificate.Fingerprint(certificate)}");
            return 0;
        });

        keygen.Subcommands.Add(client);
        keygen.Subcommands.Add(devCert);
        return keygen;
    }
}
