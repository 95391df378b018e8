using Grpc.Core;
using SecureFedRec.Rounds.Transport;

namespace SecureFedRec.Wire;

/// <summary>
/// The one mapping between round refusals (<see cref="RoundRefusal"/>) and gRPC: a status code, a fixed message and the
/// name carried in the <c>x-sfr-refusal</c> trailer (coordinator.proto header). The coordinator's service ends refused
/// calls with <see cref="ToException"/>; <see cref="GrpcRoundTransport"/> turns them back into values with
/// <see cref="TryParse"/>. Immutable; thread-safe.
/// </summary>
public static class RoundStatus
{
    private static readonly Dictionary<RoundRefusal, (StatusCode Code, string Name, string Message)> s_table = new()
    {
        [RoundRefusal.UnknownRound] = (StatusCode.NotFound, "unknown-round", "The round is not a recent round."),
        [RoundRefusal.NotInCohort] = (StatusCode.FailedPrecondition, "not-in-cohort", "This client is not in the round's cohort."),
        [RoundRefusal.PhaseClosed] = (StatusCode.FailedPrecondition, "phase-closed", "The phase is closed."),
        [RoundRefusal.Dropped] = (StatusCode.FailedPrecondition, "dropped", "This client was dropped from the round."),
        [RoundRefusal.ConflictingResubmission] = (StatusCode.AlreadyExists, "conflicting-resubmission", "A different message was already submitted for this phase."),
        [RoundRefusal.ProtocolRefused] = (StatusCode.InvalidArgument, "protocol-refused", "The protocol refused the message."),
        [RoundRefusal.Finished] = (StatusCode.FailedPrecondition, "finished", "The coordinator has run its configured number of rounds."),
    };

    private static readonly Dictionary<string, RoundRefusal> s_byName =
        s_table.ToDictionary(kv => kv.Value.Name, kv => kv.Key, StringComparer.Ordinal);

    /// <summary>The status code of a refusal.</summary>
    public static StatusCode CodeOf(RoundRefusal refusal) => Entry(refusal).Code;

    /// <summary>The trailer name of a refusal.</summary>
    public static string NameOf(RoundRefusal refusal) => Entry(refusal).Name;

    /// <summary>
    /// The exception that ends a refused call: the table's status, its message (followed by <paramref name="detail"/>,
    /// which names the rule that failed and never holds secrets) and the refusal trailer.
    /// </summary>
    public static RpcException ToException(RoundRefusal refusal, string? detail = null)
    {
        (StatusCode code, string name, string message) = Entry(refusal);
        var trailers = new Metadata { { CoordinatorProtocol.RefusalTrailer, name } };
        return new RpcException(new Status(code, string.IsNullOrEmpty(detail) ? message : message + " " + detail), trailers);
    }

    /// <summary>The refusal a failed call carries, when its trailer names one with the table's status code.</summary>
    public static bool TryParse(RpcException exception, out RoundRefusal refusal)
    {
        ArgumentNullException.ThrowIfNull(exception);
        refusal = RoundRefusal.None;
        string? name = exception.Trailers.GetValue(CoordinatorProtocol.RefusalTrailer);
        if (name is null || !s_byName.TryGetValue(name, out RoundRefusal found) || s_table[found].Code != exception.StatusCode)
        {
            return false;
        }

        refusal = found;
        return true;
    }

    private static (StatusCode Code, string Name, string Message) Entry(RoundRefusal refusal) =>
        s_table.TryGetValue(refusal, out var entry)
            ? entry
            : throw new ArgumentOutOfRangeException(nameof(refusal), refusal, "Not a refusal.");
}
