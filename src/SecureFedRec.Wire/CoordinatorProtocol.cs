namespace SecureFedRec.Wire;

/// <summary>Constants of the coordinator API (<c>protocol-spec/proto/coordinator.proto</c>) that both ends share.</summary>
public static class CoordinatorProtocol
{
    /// <summary>The protobuf package and API version string reported by <c>GetStatus</c>.</summary>
    public const string ApiVersion = "securefedrec.coordinator.v1";

    /// <summary>Largest request of every method except <c>Rounds.SubmitPhase</c> (64 KiB): only the masked input needs MBs.</summary>
    public const int SmallMessageBytes = 64 * 1024;

    /// <summary>Default largest <c>SubmitPhase</c> request and largest response (4 MiB; the coordinator's MaxMessageBytes).</summary>
    public const int DefaultMaxMessageBytes = 4 * 1024 * 1024;

    /// <summary>Trailer naming a round refusal (<see cref="RoundStatus"/>).</summary>
    public const string RefusalTrailer = "x-sfr-refusal";
}
