using Grpc.Core;
using SecureFedRec.Wire;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Coordinator.Grpc;

// grpc-dotnet binds a service through the static method its [BindServiceMethod] names and looks each handler up as a
// public virtual method declared on that method's type; these bases play the part of the generated *Base classes, with
// the signed-request marshallers of SignedMessages instead of the generated ones.

/// <summary>The <c>Enrolment</c> service bound with signed-request marshallers (64 KiB requests).</summary>
[BindServiceMethod(typeof(SignedEnrolmentBase), nameof(BindService))]
internal abstract class SignedEnrolmentBase
{
    private static readonly Method<EnrolRequest, EnrolResponse> s_enrol =
        SignedMessages.Unary<EnrolRequest, EnrolResponse>(Enrolment.Descriptor, "Enrol", EnrolRequest.Parser, CoordinatorProtocol.SmallMessageBytes);

    /// <summary>The service's descriptor (server reflection finds it here).</summary>
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => Enrolment.Descriptor;

    /// <summary>Binds the methods (grpc-dotnet calls this with a null instance and resolves the service per call).</summary>
    public static void BindService(ServiceBinderBase binder, SignedEnrolmentBase? service)
    {
        ArgumentNullException.ThrowIfNull(binder);
        binder.AddMethod(s_enrol, service is null ? null : service.Enrol);
    }

    /// <summary><c>Enrol</c>.</summary>
    public abstract Task<EnrolResponse> Enrol(EnrolRequest request, ServerCallContext context);
}

/// <summary>
/// The <c>Rounds</c> service bound with signed-request marshallers: SubmitPhase up to the service's
/// MaxReceiveMessageSize (the coordinator's MaxMessageBytes), the other methods 64 KiB.
/// </summary>
[BindServiceMethod(typeof(SignedRoundsBase), nameof(BindService))]
internal abstract partial class SignedRoundsBase
{
    private static readonly Method<JoinRoundRequest, JoinRoundResponse> s_join =
        SignedMessages.Unary<JoinRoundRequest, JoinRoundResponse>(Wire.V1.Rounds.Descriptor, "JoinRound", JoinRoundRequest.Parser, CoordinatorProtocol.SmallMessageBytes);

    // SubmitPhase carries the masked input: its limit is the service's MaxReceiveMessageSize, which grpc-dotnet enforces
    // from the length prefix. Decoded with one copy of the payload (SubmitPayloads).
    private static readonly Method<SubmitPhaseRequest, SubmitPhaseResponse> s_submit =
        SignedMessages.Unary<SubmitPhaseRequest, SubmitPhaseResponse>(Wire.V1.Rounds.Descriptor, "SubmitPhase", SubmitPhaseRequest.Parser, int.MaxValue, SubmitPayloads.ParseRequest);

    private static readonly Method<FetchPhaseRequest, FetchPhaseResponse> s_fetch =
        SignedMessages.Unary<FetchPhaseRequest, FetchPhaseResponse>(Wire.V1.Rounds.Descriptor, "FetchPhase", FetchPhaseRequest.Parser, CoordinatorProtocol.SmallMessageBytes);

    private static readonly Method<GetModelRequest, GetModelResponse> s_model =
        SignedMessages.Unary<GetModelRequest, GetModelResponse>(Wire.V1.Rounds.Descriptor, "GetModel", GetModelRequest.Parser, CoordinatorProtocol.SmallMessageBytes);

    /// <summary>The service's descriptor (server reflection finds it here).</summary>
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => Wire.V1.Rounds.Descriptor;

    /// <summary>Binds the methods (grpc-dotnet calls this with a null instance and resolves the service per call).</summary>
    public static void BindService(ServiceBinderBase binder, SignedRoundsBase? service)
    {
        ArgumentNullException.ThrowIfNull(binder);
        binder.AddMethod(s_join, service is null ? null : service.JoinRound);
        binder.AddMethod(s_submit, service is null ? null : service.SubmitPhase);
        binder.AddMethod(s_fetch, service is null ? null : service.FetchPhase);
        binder.AddMethod(s_model, service is null ? null : service.GetModel);
        BindTransfer(binder, service);
    }

    /// <summary><c>JoinRound</c>.</summary>
    public abstract Task<JoinRoundResponse> JoinRound(JoinRoundRequest request, ServerCallContext context);

    /// <summary><c>SubmitPhase</c>.</summary>
    public abstract Task<SubmitPhaseResponse> SubmitPhase(SubmitPhaseRequest request, ServerCallContext context);

    /// <summary><c>FetchPhase</c>.</summary>
    public abstract Task<FetchPhaseResponse> FetchPhase(FetchPhaseRequest request, ServerCallContext context);

    /// <summary><c>GetModel</c>.</summary>
    public abstract Task<GetModelResponse> GetModel(GetModelRequest request, ServerCallContext context);
}

/// <summary>The <c>Membership</c> service (unsigned: the public signed roster); responses up to MaxMessageBytes.</summary>
[BindServiceMethod(typeof(MembershipServiceBase), nameof(BindService))]
internal abstract class MembershipServiceBase
{
    private static readonly Method<GetRosterRequest, GetRosterResponse> s_roster =
        SignedMessages.Unary<GetRosterRequest, GetRosterResponse>(Membership.Descriptor, "GetRoster", GetRosterRequest.Parser, CoordinatorProtocol.SmallMessageBytes);

    /// <summary>The service's descriptor (server reflection finds it here).</summary>
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => Membership.Descriptor;

    /// <summary>Binds the method (grpc-dotnet calls this with a null instance and resolves the service per call).</summary>
    public static void BindService(ServiceBinderBase binder, MembershipServiceBase? service)
    {
        ArgumentNullException.ThrowIfNull(binder);
        binder.AddMethod(s_roster, service is null ? null : service.GetRoster);
    }

    /// <summary><c>GetRoster</c>.</summary>
    public abstract Task<GetRosterResponse> GetRoster(GetRosterRequest request, ServerCallContext context);
}

/// <summary>
/// The <c>CoordinatorStatus</c> service (unsigned) bound with the same marshallers, so that its malformed or oversized
/// requests get the same statuses as the signed services' (INTERNAL, RESOURCE_EXHAUSTED) and no handler error is logged.
/// </summary>
[BindServiceMethod(typeof(StatusServiceBase), nameof(BindService))]
internal abstract class StatusServiceBase
{
    private static readonly Method<GetStatusRequest, GetStatusResponse> s_status =
        SignedMessages.Unary<GetStatusRequest, GetStatusResponse>(CoordinatorStatus.Descriptor, "GetStatus", GetStatusRequest.Parser, CoordinatorProtocol.SmallMessageBytes);

    /// <summary>The service's descriptor (server reflection finds it here).</summary>
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => CoordinatorStatus.Descriptor;

    /// <summary>Binds the method (grpc-dotnet calls this with a null instance and resolves the service per call).</summary>
    public static void BindService(ServiceBinderBase binder, StatusServiceBase? service)
    {
        ArgumentNullException.ThrowIfNull(binder);
        binder.AddMethod(s_status, service is null ? null : service.GetStatus);
    }

    /// <summary><c>GetStatus</c>.</summary>
    public abstract Task<GetStatusResponse> GetStatus(GetStatusRequest request, ServerCallContext context);
}
