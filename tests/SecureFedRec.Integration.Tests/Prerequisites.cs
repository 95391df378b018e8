using Npgsql;

namespace SecureFedRec.Integration.Tests;

/// <summary>
/// External prerequisites of the integration tests (installed and started by scripts/install-prereqs.sh).
/// Under CI (env CI=true) a missing prerequisite FAILS the test with a clear message; locally the test returns early
/// and says so on stderr.
/// </summary>
internal static class Prerequisites
{
    /// <summary>Env var holding the PostgreSQL connection string for tests.</summary>
    public const string PostgresVariable = "SECUREFEDREC_TEST_PG";

    public const string DefaultPostgres = "Host=127.0.0.1;Port=5432;Username=securefedrec;Password=securefedrec-test;Database=securefedrec_test";

    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static string PostgresConnectionString =>
        Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } s ? s : DefaultPostgres;

    private static readonly Lazy<string?> PostgresProblem = new(() =>
    {
        try
        {
            using var connection = new NpgsqlConnection(PostgresConnectionString + ";Timeout=5");
            connection.Open();
            return null;
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            return ex.Message;
        }
    });

    /// <summary>True when PostgreSQL is reachable; false (locally) or a failed assertion (CI) otherwise.</summary>
    public static bool RequirePostgres()
    {
        if (PostgresProblem.Value is null)
        {
            return true;
        }

        string message = $"PostgreSQL is not reachable with {PostgresVariable} (default {DefaultPostgres}): {PostgresProblem.Value}. " +
                         "Run scripts/install-prereqs.sh.";
        if (InCi)
        {
            Assert.Fail(message);
        }

        Console.Error.WriteLine("SKIPPED (not CI): " + message);
        return false;
    }

    /// <summary>Debian's python with grpcio, grpc_tools, protobuf and cryptography, or null.</summary>
    public static string? FindPython()
    {
        foreach (string candidate in new[] { "/usr/bin/python3", "python3" })
        {
            try
            {
                using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(candidate, "-c \"import grpc, grpc_tools, google.protobuf, cryptography.hazmat.primitives.ciphers.aead\"")
                {
                    RedirectStandardError = true,
                    RedirectStandardOutput = true,
                });
                if (p is not null && p.WaitForExit(30_000) && p.ExitCode == 0)
                {
                    return candidate;
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // not installed
            }
        }

        return null;
    }

    public static string? RequirePython()
    {
        string? python = FindPython();
        if (python is not null)
        {
            return python;
        }

        const string message = "python3 with grpcio, grpc_tools, protobuf and cryptography is missing (Debian: python3-grpcio python3-grpc-tools python3-protobuf python3-cryptography). Run scripts/install-prereqs.sh.";
        if (InCi)
        {
            Assert.Fail(message);
        }

        Console.Error.WriteLine("SKIPPED (not CI): " + message);
        return null;
    }

    /// <summary>Prometheus' promtool (Debian package prometheus), or null (locally) / a failed assertion (CI).</summary>
    public static string? RequirePromtool()
    {
        foreach (string candidate in new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        const string message = "promtool is missing (Debian: prometheus). Run scripts/install-prereqs.sh.";
        if (InCi)
        {
            Assert.Fail(message);
        }

        Console.Error.WriteLine("SKIPPED (not CI): " + message);
        return null;
    }
}
