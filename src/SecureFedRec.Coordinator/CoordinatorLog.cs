using Microsoft.Extensions.Logging;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Coordinator;

/// <summary>
/// Every log event of the coordinator, with fixed event ids. They carry client ids (public key hashes), round ids,
/// phases, counts, reasons and ε; never keys, shares, seeds, masked or unmasked vectors, or model bytes.
/// </summary>
internal static partial class CoordinatorLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Coordinator listening on {Address} (TLS: {Tls}), store {Store}, {Enrolled} clients on the allow-list")]
    public static partial void Started(ILogger logger, Uri address, bool tls, string store, int enrolled);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Plaintext HTTP/2 (--insecure-dev): for local development only")]
    public static partial void InsecureDev(ILogger logger);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Client {ClientId} enrolled as number {Number}")]
    public static partial void Enrolled(ILogger logger, string clientId, int number);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "Round {RoundId} opened: {Cohort} clients, threshold {Threshold}, graph {Graph} degree {Degree}, model version {ModelVersion}, round ε {Epsilon:F4}")]
    public static partial void RoundOpened(ILogger logger, long roundId, int cohort, int threshold, Protocol.Graph.GraphKind graph, int degree, long modelVersion, double epsilon);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "Round {RoundId}: phase {Phase} closed after {Seconds:F3} s with {Answered} of {Expected} answers; next {Next}")]
    public static partial void PhaseClosed(ILogger logger, long roundId, Phase phase, double seconds, int answered, int expected, Phase next);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Information, Message = "Round {RoundId}: client {ClientId} dropped ({Reason})")]
    public static partial void ClientDropped(ILogger logger, long roundId, string clientId, DropReason reason);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Information, Message = "Round {RoundId} released model version {Version}: {Contributors} contributors, round ε {RoundEpsilon:F4}, total ε {TotalEpsilon:F4}")]
    public static partial void Released(ILogger logger, long roundId, long version, int contributors, double roundEpsilon, double totalEpsilon);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Warning, Message = "Round {RoundId} aborted: {Outcome}")]
    public static partial void RoundAborted(ILogger logger, long roundId, string outcome);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Warning, Message = "Round {RoundId} withheld: {Reason}")]
    public static partial void Withheld(ILogger logger, long roundId, string reason);

    [LoggerMessage(EventId = 2016, Level = LogLevel.Warning, Message = "Round {RoundId} was open at start-up (phase {Phase}); aborted, nothing released, nothing charged")]
    public static partial void RecoveredOpenRound(ILogger logger, long roundId, string phase);

    [LoggerMessage(EventId = 2017, Level = LogLevel.Warning, Message = "Cannot plan DP parameters for a cohort of {Cohort}: {Reason}")]
    public static partial void PlanRefused(ILogger logger, int cohort, string reason);

    [LoggerMessage(EventId = 2018, Level = LogLevel.Information, Message = "Round {RoundId}: client {ClientId} message refused in phase {Phase}: {Reason}")]
    public static partial void MessageRefused(ILogger logger, long roundId, string clientId, Phase phase, string reason);

    [LoggerMessage(EventId = 2019, Level = LogLevel.Error, Message = "Round driver failed; retrying")]
    public static partial void DriverFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2020, Level = LogLevel.Information, Message = "Reached MaxRounds = {MaxRounds}; no further rounds are opened")]
    public static partial void MaxRoundsReached(ILogger logger, int maxRounds);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Warning, Message = "Round {RoundId} not opened for {Cohort} waiting clients: the coordinator's privacy budget cannot release it (ε {RoundEpsilon:F4} at t = {Contributors} contributors on top of {TotalEpsilon:F4} exceeds {Budget:F4}); no further rounds are opened, clients are told the coordinator has finished. {Reason}")]
    public static partial void BudgetExhausted(ILogger logger, ulong roundId, int cohort, double roundEpsilon, int contributors, double totalEpsilon, double budget, string reason);

    [LoggerMessage(EventId = 2030, Level = LogLevel.Information, Message = "Roster {Consortium} version {Version} (digest {Digest}) loaded: {Members} members in {Organisations} organisations, valid until {NotAfter}; only its current members are admitted")]
    public static partial void RosterLoaded(ILogger logger, string consortium, ulong version, string digest, int members, int organisations, string notAfter);

    [LoggerMessage(EventId = 2031, Level = LogLevel.Warning, Message = "No roster configured: admitting the {Count} allow-listed keys (roster-less development deployment; honest-but-curious threat model only)")]
    public static partial void AllowListMode(ILogger logger, int count);

    [LoggerMessage(EventId = 2032, Level = LogLevel.Warning, Message = "The roster file changed but was refused ({Refusal}: {Detail}); still serving version {Version}")]
    public static partial void RosterReloadRefused(ILogger logger, string refusal, string detail, ulong version);

    [LoggerMessage(EventId = 2033, Level = LogLevel.Information, Message = "Client {ClientId} enrolled as number {Number}, roster member {Member} (roster version {Version})")]
    public static partial void EnrolledMember(ILogger logger, string clientId, int number, string member, ulong version);

    [LoggerMessage(EventId = 2034, Level = LogLevel.Warning, Message = "Round {RoundId} runs HONEST-BUT-CURIOUS (explicit opt-in): its inputs are NOT protected against a coordinator that lies about dropouts or the cohort; use the Malicious default in production")]
    public static partial void HonestButCuriousRound(ILogger logger, ulong roundId);

    [LoggerMessage(EventId = 2035, Level = LogLevel.Information, Message = "Caller {ClientId} left out of the cohort: {Reason}")]
    public static partial void CohortCandidateRefused(ILogger logger, string clientId, string reason);
}
