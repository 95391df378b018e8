using System.Diagnostics;
using System.Reflection;
using SecureFedRec.Crypto;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Bench;

/// <summary>Options of <c>securefedrec bench crypto</c>.</summary>
/// <param name="SecondsPerMeasurement">Wall-clock seconds spent on each measured figure (and on each openssl run).</param>
/// <param name="RunOpenSsl">Whether to measure the openssl floor in the same run.</param>
public sealed record CryptoBenchOptions(double SecondsPerMeasurement = 2.0, bool RunOpenSsl = true);

/// <summary>One measured figure, with the openssl floor measured in the same run where one exists.</summary>
/// <param name="Name">What was measured.</param>
/// <param name="Unit">Unit of <paramref name="Value"/> (higher is better for every unit used here).</param>
/// <param name="Value">The project's figure.</param>
/// <param name="Floor">openssl's figure for the same work, or null when there is none or openssl is unavailable.</param>
/// <param name="FloorSource">The openssl command that produced the floor.</param>
/// <param name="Note">Parameters of the measurement.</param>
/// <param name="Counterpart">The <c>openssl speed</c> algorithm this figure is compared with, or null when there is none.</param>
public sealed record CryptoBenchRow(string Name, string Unit, double Value, double? Floor, string? FloorSource, string Note, string? Counterpart = null)
{
    /// <summary>Project / openssl (≥ 1 means the project is at least as fast), or null without a floor.</summary>
    public double? Ratio => Floor is > 0 ? Value / Floor : null;
}

/// <summary>The result of one run.</summary>
/// <param name="Rows">Every figure.</param>
/// <param name="OpenSslVersion">openssl's version line, or a reason it is unavailable.</param>
/// <param name="JitOptimized">False when the crypto assembly was built without optimisation (Debug): figures are then meaningless.</param>
/// <param name="AesBackend">The AES-CTR implementation in use.</param>
/// <param name="ProcessorCount">Logical processors on the machine (measurements use one thread).</param>
/// <param name="LoadAverage">The machine's 1/5/15-minute load average before and after the run ("n/a" where unknown).</param>
public sealed record CryptoBenchReport(IReadOnlyList<CryptoBenchRow> Rows, string OpenSslVersion, bool JitOptimized, string AesBackend, int ProcessorCount,
    string LoadAverage = "n/a");

/// <summary>
/// Measures the crypto core on one thread (per CPU second) beside <c>openssl speed</c> run as a child process in the same run:
/// mask PRG keystream and fused add-mask (vs AES-256-CTR, 16 KiB blocks), X25519 and P-256 agreements (vs ecdhx25519 /
/// ecdhp256), ECDSA P-256 sign and verify (vs ecdsap256), Shamir split/reconstruct at n = 100 and 1,000 with t = n/2 + 1,
/// and exact discrete Gaussian samples.
/// </summary>
public static class CryptoBenchmark
{
    /// <summary>Runs every measurement; <paramref name="progress"/> receives one line per step.</summary>
    public static CryptoBenchReport Run(CryptoBenchOptions options, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        progress ??= _ => { };
        string loadBefore = SecAggBenchmark.LoadAverage();
        double s = options.SecondsPerMeasurement;
        double half = s / 2; // secondary figures get half the time, to keep a default run near 30 s on an idle machine
        CryptoOpenSslFloor floor = options.RunOpenSsl ? CryptoOpenSslFloor.Measure(s, progress) : CryptoOpenSslFloor.Unavailable("not requested (--no-openssl)");
        var rows = new List<CryptoBenchRow>();

        progress("mask PRG …");
        rows.Add(new("mask PRG keystream, 16 KiB buffer", "GB/s", KeystreamGBps(s), floor.Aes256CtrBytesPerSecond / 1e9, floor.AesSource,
            $"AES-256-CTR, counter from 0, {AesCtr.Resolve(AesCtrBackend.Auto)}; same buffer size as openssl's 16384-byte column", "aes-256-ctr"));
        rows.Add(new("MaskPrg.Generate, d = 2^20", "GB/s", MaskGBps(s, 1 << 20, MaskOperation.Overwrite), floor.Aes256CtrBytesPerSecond / 1e9, floor.AesSource,
            "4 MiB of uint32 output per call (HKDF + key schedule included)", "aes-256-ctr"));
        rows.Add(new("MaskPrg.AddMask, d = 2^20", "GB/s", MaskGBps(s, 1 << 20, MaskOperation.Add), floor.Aes256CtrBytesPerSecond / 1e9, floor.AesSource,
            "fused keystream + SIMD add mod 2^b into a 4 MiB uint32 vector; GB/s of keystream", "aes-256-ctr"));

        rows.Add(new("client masked input, 43 streams fused in 16 KiB chunks, d = 10^5", "GB/s", FusedMaskGBps(s, 43, 100_000, chunked: true), floor.Aes256CtrBytesPerSecond / 1e9, floor.AesSource,
            "MaskStream per stream at the chunk offset (n = 1,000 Harary: k + 1 = 43 masks); GB/s of keystream, stream opening excluded", "aes-256-ctr"));
        rows.Add(new("same, 43 whole-vector passes, d = 10^5", "GB/s", FusedMaskGBps(half, 43, 100_000, chunked: false), floor.Aes256CtrBytesPerSecond / 1e9, floor.AesSource,
            "one AddMask over the whole 400 KB vector per stream (the pre-fusion construction)", "aes-256-ctr"));

        progress("key agreement …");
        rows.Add(new("X25519 agreements", "op/s", AgreementsPerSecond(KeyAgreementAlgorithm.X25519, half), floor.X25519OpsPerSecond, floor.EcdhSource,
            $"TryAgree ({(OpenSslX25519.IsAvailable ? "OpenSSL libcrypto EVP_PKEY_derive" : "BouncyCastle, libcrypto unavailable")}), incl. peer import, all-zero check and holder", "ecdhx25519"));
        rows.Add(new("X25519 agreements, NSec 26.4.0 (libsodium)", "op/s", NSecAgreementsPerSecond(half), floor.X25519OpsPerSecond, floor.EcdhSource,
            "PublicKey.Import(RawPublicKey) + Agree per call (the same work as TryAgree); measured for the choice of backend", "ecdhx25519"));
        rows.Add(new("X25519 agreements, BouncyCastle 2.7.0 (fallback)", "op/s", AgreementsPerSecond(new X25519Agreement { UseOpenSsl = false }, half), floor.X25519OpsPerSecond, floor.EcdhSource,
            "TryAgree on the managed fallback used when libcrypto is absent", "ecdhx25519"));
        bool direct = OpenSslP256.IsAvailable;
        rows.Add(new("P-256 ECDH agreements", "op/s", AgreementsPerSecond(KeyAgreementAlgorithm.P256, half), floor.P256EcdhOpsPerSecond, floor.EcdhSource,
            $"TryAgree ({(direct ? "libcrypto EC_POINT_oct2point + ECDH_compute_key" : ".NET ECDiffieHellman, libcrypto unavailable")}), incl. our on-curve check and peer point import", "ecdhp256"));
        rows.Add(new("P-256 ECDH agreements, .NET ECDiffieHellman (previous path)", "op/s", AgreementsPerSecond(new P256Agreement { UseOpenSsl = false }, half), floor.P256EcdhOpsPerSecond, floor.EcdhSource,
            "TryAgree on .NET: ECDiffieHellman.Create(peer ECParameters) (EC_KEY_check_key: an n·Q multiplication) + DeriveRawSecretAgreement (peer checked again)", "ecdhp256"));

        progress("ECDSA …");
        (double sign, double verify) = EcdsaPerSecond(half, openSsl: true);
        (double signBc, double verifyNet) = EcdsaPerSecond(half, openSsl: false);
        rows.Add(new("ECDSA P-256 sign (RFC 6979)", "op/s", sign, floor.EcdsaSignPerSecond, floor.EcdsaSource,
            direct ? "RFC 6979 nonce (managed HMAC-SHA-256) + libcrypto k·G, k^(n-2) mod n, ECDSA_do_sign_ex; SHA-256 of 32 bytes" : "BouncyCastle deterministic signing (libcrypto unavailable), SHA-256 of 32 bytes", "ecdsap256 sign"));
        rows.Add(new("ECDSA P-256 sign (RFC 6979), BouncyCastle 2.7.0 (previous path)", "op/s", signBc, floor.EcdsaSignPerSecond, floor.EcdsaSource,
            "ECDsaSigner + HMacDsaKCalculator, key parameters cached per SigningKey; the fallback without libcrypto", "ecdsap256 sign"));
        rows.Add(new("ECDSA P-256 verify", "op/s", verify, floor.EcdsaVerifyPerSecond, floor.EcdsaSource,
            $"Signature.Verify ({(direct ? "libcrypto EC_KEY_oct2key + ECDSA_do_verify" : ".NET ECDsa, libcrypto unavailable")}), incl. on-curve check and key import per call", "ecdsap256 verify"));
        rows.Add(new("ECDSA P-256 verify, .NET ECDsa (previous path)", "op/s", verifyNet, floor.EcdsaVerifyPerSecond, floor.EcdsaSource,
            "ECDsa.Create(ECParameters) (EC_KEY_check_key: an n·Q multiplication) + VerifyData per call", "ecdsap256 verify"));

        foreach (int n in new[] { 100, 1000 })
        {
            progress($"Shamir n = {n} …");
            int t = (n / 2) + 1;
            (double split, double reconstruct, double cached) = ShamirPerSecond(n, t, half);
            rows.Add(new($"Shamir split, n = {n}, t = {t}", "op/s", split, null, null, "one 32-byte secret into n shares"));
            rows.Add(new($"Shamir reconstruct, n = {n}, t = {t}", "op/s", reconstruct, null, null, "from t shares, Lagrange weights computed per call"));
            rows.Add(new($"Shamir reconstruct (LagrangeCache), t = {t}", "op/s", cached, null, null, "from t shares with cached weights (batch reconstruction)"));
        }

        foreach ((ulong num, string label) in new[] { (4UL, "σ = 2"), (10_000UL, "σ = 100"), (100_000_000UL, "σ = 10^4") })
        {
            progress($"discrete Gaussian {label} …");
            rows.Add(new($"discrete Gaussian, {label}", "samples/s", GaussianPerSecond(num, 1, half), null, null,
                "exact (CKS 2020), RandomSource.System, Fill of 10^5"));
        }

        // What a deployed client draws: the planner rounds σ² up on a 2^-20 grid, so the acceptance test runs on the
        // UInt128 path with a denominator above 2^64 (σ ≈ 1000 here).
        progress("discrete Gaussian σ² = (10^6·2^20 + 777)/2^20 …");
        rows.Add(new("discrete Gaussian, σ² = (10^6·2^20 + 777)/2^20 (planner grid, σ ≈ 1000)", "samples/s",
            GaussianPerSecond((1_000_000UL << 20) + 777, 1UL << 20, half), null, null,
            "exact (CKS 2020), RandomSource.System, Fill of 10^5; the σ² shape every planned round uses"));

        return new CryptoBenchReport(rows, floor.Version, IsOptimized(typeof(MaskPrg).Assembly), AesCtr.Resolve(AesCtrBackend.Auto).ToString(), Environment.ProcessorCount,
            $"before {loadBefore}; after {SecAggBenchmark.LoadAverage()}");
    }

    private static bool IsOptimized(Assembly assembly)
    {
        var debuggable = assembly.GetCustomAttribute<DebuggableAttribute>();
        return debuggable is null || !debuggable.IsJITOptimizerDisabled;
    }

    /// <summary>
    /// Runs <paramref name="op"/> in batches until the process has used <paramref name="seconds"/> of CPU time (or four times
    /// that in wall-clock time on a saturated machine); returns calls per CPU second. CPU time, like <c>openssl speed</c>
    /// without <c>-elapsed</c>, keeps other processes on a shared machine from distorting the ratio; it includes this
    /// process's background threads (GC, JIT), which only makes the project's figure conservative.
    /// </summary>
    private static double Rate(double seconds, int batch, Action op)
    {
        op(); // warm-up (JIT tiering)
        for (int i = 0; i < batch; i++)
        {
            op();
        }

        using Process self = Process.GetCurrentProcess();
        long calls = 0;
        TimeSpan cpu0 = self.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        double cpu;
        do
        {
            for (int i = 0; i < batch; i++)
            {
                op();
            }

            calls += batch;
            self.Refresh();
            cpu = (self.TotalProcessorTime - cpu0).TotalSeconds;
        }
        while (cpu < seconds && wall.Elapsed.TotalSeconds < 4 * seconds);
        return calls / Math.Max(cpu, 1e-9);
    }

    private static double KeystreamGBps(double seconds)
    {
        byte[] key = new byte[32];
        byte[] buffer = new byte[16384];
        UInt128 counter = 0;
        using var schedule = new AesKeySchedule(key, AesCtrBackend.Auto);
        double rate = Rate(seconds, 256, () =>
        {
            schedule.Generate(counter, buffer);
            counter += 1024;
        });
        return rate * buffer.Length / 1e9;
    }

    private static double MaskGBps(double seconds, int d, MaskOperation operation)
    {
        byte[] seed = new byte[32];
        byte[] context = "bench"u8.ToArray();
        uint[] vector = new uint[d];
        double rate = Rate(seconds, 4, () => MaskPrg.Run(seed, context, 32, vector, operation, AesCtrBackend.Auto));
        return rate * d * 4 / 1e9;
    }

    private static double FusedMaskGBps(double seconds, int streamCount, int d, bool chunked)
    {
        MaskStream[] streams = [.. Enumerable.Range(0, streamCount).Select(i => MaskStream.Open(Enumerable.Repeat((byte)i, 32).ToArray(), "bench"u8, 32))];
        uint[] vector = new uint[d];
        try
        {
            double rate = Rate(seconds, 2, () =>
            {
                if (chunked)
                {
                    for (int start = 0; start < d; start += 4096)
                    {
                        Span<uint> piece = vector.AsSpan(start, Math.Min(4096, d - start));
                        foreach (MaskStream stream in streams)
                        {
                            stream.AddMask(start, piece);
                        }
                    }
                }
                else
                {
                    foreach (MaskStream stream in streams)
                    {
                        stream.AddMask(0, vector);
                    }
                }
            });
            return rate * streamCount * d * 4 / 1e9;
        }
        finally
        {
            foreach (MaskStream stream in streams)
            {
                stream.Dispose();
            }
        }
    }

    private static double AgreementsPerSecond(KeyAgreementAlgorithm algorithm, double seconds)
    {
        using var rng = DeterministicRandomSource.FromTestSeed(1);
        using PrivateKey mine = algorithm.GenerateKey(rng);
        using PrivateKey peer = algorithm.GenerateKey(rng);
        byte[] peerPublic = peer.ExportPublicKey();
        return Rate(seconds, 64, () =>
        {
            if (!algorithm.TryAgree(mine, peerPublic, out SharedSecret? secret))
            {
                throw new InvalidOperationException("agreement failed");
            }

            secret.Dispose();
        });
    }

    /// <summary>NSec's X25519 doing what <c>TryAgree</c> does: import the peer's 32 bytes, agree, drop the secret.</summary>
    private static double NSecAgreementsPerSecond(double seconds)
    {
        var algorithm = NSec.Cryptography.KeyAgreementAlgorithm.X25519;
        using var mine = NSec.Cryptography.Key.Create(algorithm);
        using var peer = NSec.Cryptography.Key.Create(algorithm);
        byte[] peerPublic = peer.PublicKey.Export(NSec.Cryptography.KeyBlobFormat.RawPublicKey);
        return Rate(seconds, 64, () =>
        {
            var imported = NSec.Cryptography.PublicKey.Import(algorithm, peerPublic, NSec.Cryptography.KeyBlobFormat.RawPublicKey);
            using NSec.Cryptography.SharedSecret? secret = algorithm.Agree(mine, imported) ?? throw new InvalidOperationException("agreement failed");
        });
    }

    private static (double Sign, double Verify) EcdsaPerSecond(double seconds, bool openSsl)
    {
        using var rng = DeterministicRandomSource.FromTestSeed(2);
        byte[] scalar = new byte[32];
        using (SigningKey generated = SigningKey.Generate(rng))
        {
            generated.ExportPrivateKey(scalar);
        }

        using SigningKey key = SigningKey.Import(scalar, openSsl);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(scalar);
        byte[] message = new byte[32];
        byte[] signature = new byte[64];
        byte[] publicKey = key.ExportPublicKey();
        double sign = Rate(seconds, 32, () => key.Sign(message, signature));
        double verify = Rate(seconds, 32, () =>
        {
            if (!Signature.VerifyOn(publicKey, message, signature, openSsl))
            {
                throw new InvalidOperationException("verify failed");
            }
        });
        return (sign, verify);
    }

    private static (double Split, double Reconstruct, double Cached) ShamirPerSecond(int n, int t, double seconds)
    {
        int[] xs = Enumerable.Range(1, n).ToArray();
        byte[] secret = new byte[32];
        secret[0] = 0x42;
        ShamirShare[] shares = Shamir.Split(secret, t, xs);
        var subset = shares.Take(t).ToArray();
        byte[] output = new byte[32];
        var cache = new LagrangeCache(xs.AsSpan(0, t));
        int batch = n >= 1000 ? 1 : 4;
        double split = Rate(seconds, batch, () =>
        {
            foreach (ShamirShare share in Shamir.Split(secret, t, xs))
            {
                share.Dispose();
            }
        });
        double reconstruct = Rate(seconds, batch, () => Check(Shamir.TryReconstruct(subset, t, output)));
        double cached = Rate(seconds, 16, () => Check(cache.TryReconstruct(subset, output)));
        foreach (ShamirShare share in shares)
        {
            share.Dispose();
        }

        return (split, reconstruct, cached);
    }

    private static void Check(ShamirResult result)
    {
        if (result != ShamirResult.Ok)
        {
            throw new InvalidOperationException($"reconstruction failed: {result}");
        }
    }

    private static double GaussianPerSecond(ulong varianceNumerator, ulong varianceDenominator, double seconds)
    {
        var gaussian = new DiscreteGaussian(varianceNumerator, varianceDenominator);
        long[] samples = new long[100_000];
        return Rate(seconds, 1, () => gaussian.Fill(samples)) * samples.Length;
    }
}
