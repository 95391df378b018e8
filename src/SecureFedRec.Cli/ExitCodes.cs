using System.ComponentModel;
using System.Reflection;

namespace SecureFedRec.Cli;

/// <summary>
/// The exit codes of every <c>securefedrec</c> command: one table for the whole CLI, documented in docs/configuration.md
/// (generated from the descriptions below by <c>securefedrec config docs</c>) and tested per command. Scripts can rely
/// on them; a new code is added at the end, an existing one never changes meaning.
/// </summary>
internal static class ExitCodes
{
    [Description("Success.")]
    public const int Ok = 0;

    [Description("The operation failed: a simulated round failed, a planner found no feasible parameters, the coordinator answered with an error not listed below, or an unexpected internal error (one line; set SECUREFEDREC_TRACE=1 for the stack trace).")]
    public const int Failed = 1;

    [Description("Usage or configuration error, nothing was started: an unknown or malformed flag or argument, a key that is not a setting (the nearest known key is named), a value of the wrong type or out of range, a missing or unreadable file named by a flag or a setting (configuration, key, certificate, data).")]
    public const int Usage = 2;

    [Description("Declined by the local privacy policy: a round whose parameters or ε this institution's policy or ledger refuses (budget exhausted, too little noise, clip or threshold out of policy, threat mode not accepted).")]
    public const int PolicyDeclined = 3;

    [Description("A round ended without this client's contribution released: dropped, aborted or withheld by the coordinator, or not selected within the join timeout.")]
    public const int RoundIncomplete = 4;

    [Description("The coordinator could not be reached (connection refused, wrong scheme or port, TLS failure, deadline exceeded) after the configured retries.")]
    public const int Unreachable = 5;

    [Description("The coordinator refused this client: not a current roster member (or not on the allow-list), a bad signature or clock skew, its request quota used up, or a refused protocol message.")]
    public const int Refused = 6;

    [Description("A store, ledger, key folder or output file cannot be opened or written (PostgreSQL down, an unopenable SQLite path, an unwritable folder), the store belongs to another schema, or another coordinator holds the SQLite store's lock.")]
    public const int StoreUnavailable = 7;

    [Description("Verification failed: a test vector disagrees with this implementation, a privacy ledger is corrupt or disagrees with itself, or a signed roster is refused (coordinator start-up, client before enrolling or a round, roster verify: bad signature, unknown authority, expired, rolled back, this member revoked…; the rule is named).")]
    public const int VerificationFailed = 8;

    [Description("The coordinator trains another model than this client's Client:Recommender settings describe (kind, item count, factors or dimension differ; the coordinator's and the client's models are named): the client refused before any round, nothing contributed or charged.")]
    public const int ModelMismatch = 9;

    [Description("Interrupted (Ctrl+C) before the command finished; the coordinator stops gracefully on SIGTERM/Ctrl+C and exits 0.")]
    public const int Interrupted = 130;

    /// <summary>Every code with its constant's name and description, in code order.</summary>
    public static IReadOnlyList<(int Code, string Name, string Meaning)> All { get; } =
        [.. typeof(ExitCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral)
            .Select(f => ((int)f.GetRawConstantValue()!, f.Name, f.GetCustomAttribute<DescriptionAttribute>()!.Description))
            .OrderBy(e => e.Item1)];

    /// <summary>The code for a client that wanted <paramref name="wanted"/> rounds: declines first, then incomplete rounds.</summary>
    public static int ForRounds(int wanted, int completed, int declined) =>
        declined > 0 ? PolicyDeclined : completed < wanted ? RoundIncomplete : Ok;
}
