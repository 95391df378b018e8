using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace SecureFedRec.Bench;

/// <summary>
/// The cost floor measured with <c>openssl speed</c> in the same run, as a child process (openssl's default CPU-time measurement).
/// Every figure is null when openssl is missing or its output cannot be parsed; nothing is ever invented.
/// </summary>
public sealed partial class CryptoOpenSslFloor
{
    private CryptoOpenSslFloor(string version) => Version = version;

    /// <summary>openssl's version line, or why the floor is unavailable.</summary>
    public string Version { get; }

    /// <summary>AES-256-CTR bytes per second in 16384-byte blocks.</summary>
    public double? Aes256CtrBytesPerSecond { get; private set; }

    /// <summary>X25519 derivations per second.</summary>
    public double? X25519OpsPerSecond { get; private set; }

    /// <summary>P-256 ECDH derivations per second.</summary>
    public double? P256EcdhOpsPerSecond { get; private set; }

    /// <summary>ECDSA P-256 signatures per second.</summary>
    public double? EcdsaSignPerSecond { get; private set; }

    /// <summary>ECDSA P-256 verifications per second.</summary>
    public double? EcdsaVerifyPerSecond { get; private set; }

    /// <summary>The command behind the AES figure.</summary>
    public string? AesSource { get; private set; }

    /// <summary>The command behind the ECDH figures.</summary>
    public string? EcdhSource { get; private set; }

    /// <summary>The command behind the ECDSA figures.</summary>
    public string? EcdsaSource { get; private set; }

    /// <summary>Ed25519 signatures per second (<c>openssl speed ed25519</c>), when <see cref="MeasureEd25519"/> ran.</summary>
    public double? Ed25519SignPerSecond { get; private set; }

    /// <summary>Ed25519 verifications per second, when <see cref="MeasureEd25519"/> ran.</summary>
    public double? Ed25519VerifyPerSecond { get; private set; }

    /// <summary>Adds <c>openssl speed ed25519</c> (≈ 2 × <paramref name="seconds"/>) to this floor.</summary>
    public void MeasureEd25519(double seconds, Action<string> progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        string args = $"speed -seconds {Math.Max(1, (int)Math.Round(seconds))} ed25519";
        progress($"openssl {args} …");
        string? text = RunOpenSsl(args, 120);
        Match e = text is null ? Match.Empty : Ed25519Line().Match(text);
        if (e.Success)
        {
            Ed25519SignPerSecond = double.Parse(e.Groups[1].Value, CultureInfo.InvariantCulture);
            Ed25519VerifyPerSecond = double.Parse(e.Groups[2].Value, CultureInfo.InvariantCulture);
        }
    }

    /// <summary>A floor with no figures.</summary>
    public static CryptoOpenSslFloor Unavailable(string reason) => new($"unavailable: {reason}");

    /// <summary>Runs the three openssl speed commands (≈ 5 × <paramref name="seconds"/> in total).</summary>
    public static CryptoOpenSslFloor Measure(double seconds, Action<string> progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        string? version = RunOpenSsl("version", 30);
        if (version is null)
        {
            return Unavailable("openssl not found on PATH");
        }

        var floor = new CryptoOpenSslFloor(version.Trim());
        int secs = Math.Max(1, (int)Math.Round(seconds));

        string aesArgs = $"speed -evp aes-256-ctr -bytes 16384 -seconds {secs}";
        progress($"openssl {aesArgs} …");
        string? aes = RunOpenSsl(aesArgs, 120);
        Match m = aes is null ? Match.Empty : AesLine().Match(aes);
        if (m.Success)
        {
            floor.Aes256CtrBytesPerSecond = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * 1000;
            floor.AesSource = "openssl " + aesArgs;
        }

        string ecdhArgs = $"speed -seconds {secs} ecdhx25519 ecdhp256";
        progress($"openssl {ecdhArgs} …");
        string? ecdh = RunOpenSsl(ecdhArgs, 120);
        if (ecdh is not null)
        {
            Match x = X25519Line().Match(ecdh);
            Match p = P256EcdhLine().Match(ecdh);
            floor.X25519OpsPerSecond = x.Success ? double.Parse(x.Groups[1].Value, CultureInfo.InvariantCulture) : null;
            floor.P256EcdhOpsPerSecond = p.Success ? double.Parse(p.Groups[1].Value, CultureInfo.InvariantCulture) : null;
            floor.EcdhSource = "openssl " + ecdhArgs;
        }

        string ecdsaArgs = $"speed -seconds {secs} ecdsap256";
        progress($"openssl {ecdsaArgs} …");
        string? ecdsa = RunOpenSsl(ecdsaArgs, 120);
        Match e = ecdsa is null ? Match.Empty : EcdsaLine().Match(ecdsa);
        if (e.Success)
        {
            floor.EcdsaSignPerSecond = double.Parse(e.Groups[1].Value, CultureInfo.InvariantCulture);
            floor.EcdsaVerifyPerSecond = double.Parse(e.Groups[2].Value, CultureInfo.InvariantCulture);
            floor.EcdsaSource = "openssl " + ecdsaArgs;
        }

        return floor;
    }

    private static string? RunOpenSsl(string arguments, int timeoutSeconds)
    {
        try
        {
            var psi = new ProcessStartInfo("openssl", arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using Process? process = Process.Start(psi);
            if (process is null)
            {
                return null;
            }

            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeoutSeconds * 1000))
            {
                process.Kill(entireProcessTree: true);
                return null;
            }

            return process.ExitCode == 0 ? stdout.Result + stderr.Result : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    // "AES-256-CTR    2229354.50k" (thousands of bytes per second, 16384-byte column).
    [GeneratedRegex(@"^AES-256-CTR\s+([0-9.]+)k\s*$", RegexOptions.Multiline)]
    private static partial Regex AesLine();

    // " 253 bits ecdh (X25519)   0.0001s  10217.8"
    [GeneratedRegex(@"ecdh \(X25519\)\s+[0-9.]+s\s+([0-9.]+)")]
    private static partial Regex X25519Line();

    [GeneratedRegex(@"ecdh \(nistp256\)\s+[0-9.]+s\s+([0-9.]+)")]
    private static partial Regex P256EcdhLine();

    // " 256 bits ecdsa (nistp256)   0.0001s   0.0002s  16101.0   5307.0"
    [GeneratedRegex(@"ecdsa \(nistp256\)\s+[0-9.]+s\s+[0-9.]+s\s+([0-9.]+)\s+([0-9.]+)")]
    private static partial Regex EcdsaLine();

    // " 253 bits EdDSA (Ed25519)   0.0000s   0.0001s  22836.3   8106.5"
    [GeneratedRegex(@"EdDSA \(Ed25519\)\s+[0-9.]+s\s+[0-9.]+s\s+([0-9.]+)\s+([0-9.]+)")]
    private static partial Regex Ed25519Line();
}
