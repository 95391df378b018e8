using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using SecureFedRec.Crypto;
using SecureFedRec.Roster;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Tls;

namespace SecureFedRec.Cli.Commands;

/// <summary>
/// <c>securefedrec keygen client|identity|dev-cert</c>: client request-signing keys, roster identity keys and a self-signed
/// coordinator certificate. Every private key file is created through <see cref="SafeFile"/>: a fresh temporary file opened
/// with O_CREAT|O_EXCL and mode 0600, flushed, then renamed without clobbering; an existing file or a symbolic link at an
/// output path is refused before anything is written.
/// </summary>
internal static class KeygenCommand
{
    public static Command Create()
    {
        var keygen = new Command("keygen", "Create a client identity key (ECDSA P-256), a roster identity key (Ed25519 or P-256) or a self-signed development certificate for the coordinator.");

        var outDir = new Option<DirectoryInfo>("--out") { Description = "Directory to write into (created if missing).", DefaultValueFactory = _ => new DirectoryInfo(".") };
        var name = new Option<string>("--name") { Description = "File name stem.", DefaultValueFactory = _ => "client" };
        var client = new Command("client", "Write NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub (hex SEC1 public key: one allow-list line).");
        client.Options.Add(outDir);
        client.Options.Add(name);
        PlainFileName(name);
        client.SetAction(parse => Guard(() =>
        {
            DirectoryInfo dir = parse.GetValue(outDir)!;
            string stem = parse.GetValue(name)!;
            CreateOutFolder(dir);
            string keyPath = Path.Combine(dir.FullName, stem + ".key");
            using IdentitySigningKey key = IdentitySigningKey.Generate(IdentitySuite.EcdsaP256Sha256);
            IdentityKeyFile.Write(keyPath, key);
            string line = Convert.ToHexString(key.PublicKey) + " " + stem;
            SafeFile.Replace(Path.Combine(dir.FullName, stem + ".pub"), Encoding.UTF8.GetBytes(line + "\n"), secret: false);
            Console.WriteLine($"identity key: {keyPath}");
            Console.WriteLine($"client id:    {RequestSignature.ClientIdOf(key.PublicKey)}");
            Console.WriteLine($"allow-list line (add to the coordinator's AllowListPath file):");
            Console.WriteLine(line);
            return 0;
        }));

        var idDir = new Option<DirectoryInfo>("--out") { Description = "Directory to write into (created if missing).", DefaultValueFactory = _ => new DirectoryInfo(".") };
        var idName = new Option<string>("--name") { Description = "File name stem.", DefaultValueFactory = _ => "identity" };
        PlainFileName(idName);
        var suite = RosterCommand.SuiteOption("ed25519 (default) or ecdsa-p256-sha256 (FIPS).");
        var identity = new Command("identity", "Write NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub (\"SUITE HEX\"): a member identity for the enrolment authority's roster.");
        identity.Options.Add(idDir);
        identity.Options.Add(idName);
        identity.Options.Add(suite);
        identity.SetAction(parse => Guard(() =>
        {
            if (!IdentitySignature.TryParse(parse.GetValue(suite), out IdentitySuite chosen))
            {
                Console.Error.WriteLine("error: --suite is ed25519 or ecdsa-p256-sha256.");
                return ExitCodes.Usage;
            }

            DirectoryInfo dir = parse.GetValue(idDir)!;
            string stem = parse.GetValue(idName)!;
            CreateOutFolder(dir);
            string keyPath = Path.Combine(dir.FullName, stem + ".key");
            using IdentitySigningKey key = IdentitySigningKey.Generate(chosen);
            IdentityKeyFile.Write(keyPath, key);
            string line = IdentitySignature.NameOf(chosen) + " " + Convert.ToHexStringLower(key.PublicKey);
            SafeFile.Replace(Path.Combine(dir.FullName, stem + ".pub"), Encoding.UTF8.GetBytes(line + "\n"), secret: false);
            Console.WriteLine($"identity key: {keyPath}");
            Console.WriteLine($"public key:   {line}");
            return 0;
        }));

        var certDir = new Option<DirectoryInfo>("--out") { Description = "Directory to write into (created if missing).", DefaultValueFactory = _ => new DirectoryInfo(".") };
        var hosts = new Option<string[]>("--host") { Description = "DNS name or IP address of the coordinator (repeatable).", DefaultValueFactory = _ => ["localhost", "127.0.0.1"], AllowMultipleArgumentsPerToken = true };
        var days = new Option<int>("--days") { Description = "Validity in days.", DefaultValueFactory = _ => 90 };
        var devCert = new Command("dev-cert", "Write coordinator.crt and coordinator.key (self-signed ECDSA P-256, for trying it out; clients pin coordinator.crt). Refuses to overwrite either file or to follow a symbolic link.");
        devCert.Options.Add(certDir);
        devCert.Options.Add(hosts);
        devCert.Options.Add(days);
        devCert.SetAction(parse => Guard(() =>
        {
            DirectoryInfo dir = parse.GetValue(certDir)!;
            int validity = parse.GetValue(days);
            if (validity is < 1 or > 825)
            {
                Console.Error.WriteLine("error: --days must be in [1, 825].");
                return ExitCodes.Usage;
            }

            CreateOutFolder(dir);
            string crt = Path.Combine(dir.FullName, "coordinator.crt");
            string key = Path.Combine(dir.FullName, "coordinator.key");
            foreach (string path in new[] { crt, key })
            {
                if (File.Exists(path) || new FileInfo(path).LinkTarget is not null)
                {
                    Console.Error.WriteLine($"error: {path} exists (or is a link); refusing to overwrite a certificate or key. Write into a new directory.");
                    return ExitCodes.Usage;
                }
            }

            using X509Certificate2 certificate = DevCertificate.Create(parse.GetValue(hosts)!, TimeSpan.FromDays(validity));
            WritePrivateKey(certificate, key);
            SafeFile.CreateNew(crt, Encoding.ASCII.GetBytes(certificate.ExportCertificatePem() + "\n"), secret: false);
            Console.WriteLine($"certificate: {crt}");
            Console.WriteLine($"private key: {key}");
            Console.WriteLine($"sha256:      {DevCertificate.Fingerprint(certificate)}");
            return 0;
        }));

        keygen.Subcommands.Add(client);
        keygen.Subcommands.Add(identity);
        keygen.Subcommands.Add(devCert);
        return keygen;
    }

    /// <summary>--name is a file name stem inside --out, never a path (no folder, no "." or "..").</summary>
    private static void PlainFileName(Option<string> name) =>
        name.Validators.Add(r =>
        {
            string? n = r.GetValueOrDefault<string>();
            if (string.IsNullOrWhiteSpace(n) || n.IndexOfAny(['/', '\\']) >= 0 || n is "." or "..")
            {
                r.AddError($"--name must be a plain file name (no folder), got '{n}'.");
            }
        });

    /// <summary>Creates --out if missing; a folder that cannot be created is named with its flag (exit 7 through <see cref="Guard"/>).</summary>
    private static void CreateOutFolder(DirectoryInfo dir)
    {
        try
        {
            dir.Create();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"--out: cannot create the folder {dir.FullName}: {ex.Message}", ex);
        }
    }

    /// <summary>The certificate's key as PKCS#8 PEM through <see cref="SafeFile.CreateNew"/>, every buffer wiped.</summary>
    private static void WritePrivateKey(X509Certificate2 certificate, string path)
    {
        using ECDsa ecdsa = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("The certificate has no ECDSA private key.");
        byte[] der = ecdsa.ExportPkcs8PrivateKey();
        char[] pem = [];
        byte[] text = [];
        try
        {
            pem = PemEncoding.Write("PRIVATE KEY", der);
            text = new byte[pem.Length + 1];
            Encoding.ASCII.GetBytes(pem, text);
            text[^1] = (byte)'\n';
            SafeFile.CreateNew(path, text, secret: true);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(der);
            CryptographicOperations.ZeroMemory(text);
            Array.Clear(pem);
        }
    }

    private static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (UnsafeOutputPathException ex)
        {
            // A link or an existing file at the output path: refused before anything was written.
            Console.Error.WriteLine("error: " + ex.Message);
            return ExitCodes.Usage;
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine("error: " + ex.Message);
            return ExitCodes.StoreUnavailable;
        }
        catch (UnauthorizedAccessException ex)
        {
            Console.Error.WriteLine("error: " + ex.Message);
            return ExitCodes.StoreUnavailable;
        }
    }
}
