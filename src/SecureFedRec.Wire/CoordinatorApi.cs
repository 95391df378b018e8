using Google.Protobuf.Reflection;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Wire;

/// <summary>
/// Method descriptors of <c>protocol-spec/proto/coordinator.proto</c> (package <c>securefedrec.coordinator.v1</c>),
/// used by both the coordinator's endpoints and the client's calls so that the two never disagree on a path.
/// </summary>
/// <remarks>Immutable; thread-safe.</remarks>
public static class CoordinatorApi
{
    /// <summary>The protobuf package and API version string.</summary>
    public const string ApiVersion = "securefedrec.coordinator.v1";

    /// <summary><c>CoordinatorStatus.GetStatus</c> (no authentication).</summary>
    public static MethodDescriptor GetStatus { get; } = Find("CoordinatorStatus", "GetStatus");

    /// <summary><c>Enrolment.Enrol</c>.</summary>
    public static MethodDescriptor Enrol { get; } = Find("Enrolment", "Enrol");

    /// <summary><c>Rounds.JoinRound</c>.</summary>
    public static MethodDescriptor JoinRound { get; } = Find("Rounds", "JoinRound");

    /// <summary><c>Rounds.SubmitPhase</c>.</summary>
    public static MethodDescriptor SubmitPhase { get; } = Find("Rounds", "SubmitPhase");

    /// <summary><c>Rounds.FetchPhase</c>.</summary>
    public static MethodDescriptor FetchPhase { get; } = Find("Rounds", "FetchPhase");

    /// <summary><c>Rounds.GetModel</c>.</summary>
    public static MethodDescriptor GetModel { get; } = Find("Rounds", "GetModel");

    private static MethodDescriptor Find(string service, string method) =>
        CoordinatorReflection.Descriptor.Services.Single(s => s.Name == service).FindMethodByName(method);
}
