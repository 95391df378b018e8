using System.Data.Common;
using System.Security.Cryptography;
using SecureFedRec.Configuration;
using SecureFedRec.Coordinator.Storage;
using SecureFedRec.Privacy.Ledger;
using Grpc.Core;
using SecureFedRec.Wire.Client;

namespace SecureFedRec.Cli;

/// <summary>
/// Turns the failures a command can meet into one or a few lines on standard error and an exit code from
/// <see cref="ExitCodes"/>; never a stack trace unless <c>SECUREFEDREC_TRACE=1</c>.
/// </summary>
internal static class CliErrors
{
    /// <summary>Whether <paramref name="exception"/> is a failure with a code of its own (everything but internal errors).</summary>
    public static bool IsExpected(Exception exception) => Classify(exception) != ExitCodes.Failed || exception is RpcException;

    /// <summary>Prints <paramref name="exception"/> and returns its exit code.</summary>
    public static int Report(Exception exception, TextWriter? error = null)
    {
        ArgumentNullException.ThrowIfNull(exception);
        error ??= Console.Error;
        int code = Classify(exception);
        switch (exception)
        {
            case ConfigurationException config:
                foreach (string problem in config.Problems)
                {
                    error.WriteLine("error: " + problem);
                }

                error.WriteLine("(settings: docs/configuration.md; check a file without starting: securefedrec config check --coordinator FILE | --client FILE)");
                break;
            case RpcException rpc:
                error.WriteLine($"error: {rpc.StatusCode}: {rpc.Status.Detail}");
                break;
            case CoordinatorTlsException tls:
                // Named and never retried: an untrusted certificate, a pin mismatch or a name mismatch is not transient.
                error.WriteLine($"error: TLS {tls.Failure}: {OneLine(tls.Message)}");
                break;
            case DbException db:
                error.WriteLine("error: the store cannot be opened: " + OneLine(db.Message));
                break;
            case ArgumentException argument when argument.Message.Contains('\n', StringComparison.Ordinal):
                // Options validated in code: one problem per line.
                foreach (string line in argument.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    error.WriteLine("error: " + line);
                }

                break;
            case OperationCanceledException:
                error.WriteLine("interrupted");
                break;
            default:
                error.WriteLine(code == ExitCodes.Failed
                    ? $"error: internal error ({exception.GetType().Name}): {OneLine(exception.Message)}"
                    : "error: " + OneLine(exception.Message));
                break;
        }

        if (Environment.GetEnvironmentVariable("SECUREFEDREC_TRACE") == "1")
        {
            error.WriteLine(exception.ToString());
        }

        return code;
    }

    /// <summary>Prints <paramref name="exception"/> in one line and returns <paramref name="code"/> (a failure whose code the caller knows better, e.g. an unreadable input file named by a setting).</summary>
    public static int ReportAs(Exception exception, int code, TextWriter? error = null)
    {
        ArgumentNullException.ThrowIfNull(exception);
        (error ?? Console.Error).WriteLine("error: " + OneLine(exception.Message));
        return code;
    }

    /// <summary>The exit code of <paramref name="exception"/>.</summary>
    public static int Classify(Exception exception) => exception switch
    {
        // A missing or broken assembly is an installation fault, not a file the operator named.
        FileLoadException or BadImageFormatException => ExitCodes.Failed,
        FileNotFoundException { FileName: { } f } when f.Contains(", Version=", StringComparison.Ordinal) => ExitCodes.Failed,
        ConfigurationException or ArgumentException or FormatException or CryptographicException or InvalidDataException => ExitCodes.Usage,
        StoreLockedException or StoreConflictException or DbException or UnauthorizedAccessException or IOException => ExitCodes.StoreUnavailable,
        LedgerCorruptException or Roster.RosterRefusedException => ExitCodes.VerificationFailed,
        RpcException rpc => ForStatus(rpc.StatusCode),
        CoordinatorTlsException => ExitCodes.Unreachable,
        TimeoutException => ExitCodes.RoundIncomplete,
        OperationCanceledException => ExitCodes.Interrupted,
        _ => ExitCodes.Failed,
    };

    /// <summary>The exit code of a gRPC status the coordinator answered (or the transport produced).</summary>
    public static int ForStatus(StatusCode status) => status switch
    {
        StatusCode.Unavailable or StatusCode.DeadlineExceeded => ExitCodes.Unreachable,
        StatusCode.PermissionDenied or StatusCode.Unauthenticated or StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.ResourceExhausted => ExitCodes.Refused,
        _ => ExitCodes.Failed,
    };

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
