using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using SecureFedRec.Coordinator.Grpc;
using SecureFedRec.Coordinator.Storage;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Wire;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Coordinator;

/// <summary><c>CoordinatorStatus</c>: public liveness, version, model version, clock. No authentication.</summary>
/// <remarks>Singleton; thread-safe.</remarks>
internal sealed class StatusService(RoundEngine engine, TimeProvider time) : StatusServiceBase
{
    /// <inheritdoc />
    public override Task<GetStatusResponse> GetStatus(GetStatusRequest request, ServerCallContext context)
    {
        (ulong round, Phase phase) = engine.Current;
        return Task.FromResult(new GetStatusResponse
        {
            ApiVersion = CoordinatorProtocol.ApiVersion,
            ModelVersion = (ulong)engine.ModelVersion,
            CurrentRound = round,
            CurrentPhase = phase,
            ServerTimeUnixMs = time.GetUtcNow().ToUnixTimeMilliseconds(),
        });
    }
}

/// <summary>
/// Who may call the signed services: the current members of the configured roster (<see cref="CoordinatorRoster"/>), or,
/// in a roster-less development deployment, the allow-listed keys. One instance per host.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class Admission(CoordinatorRoster? roster, AllowList allowList, TimeProvider time)
{
    /// <summary>The roster, or null in an allow-list deployment.</summary>
    public CoordinatorRoster? Roster => roster;

    /// <summary>The allow-list (empty with a roster).</summary>
    public AllowList AllowList => allowList;

    /// <summary>The registered key of <paramref name="clientId"/> if it may call now (authentication's lookup), or null.</summary>
    public byte[]? KeyOf(string clientId)
    {
        if (roster is null)
        {
            return allowList.Find(clientId);
        }

        return roster.Admit(clientId, time.GetUtcNow())?.PublicKey.ToArray();
    }
}

/// <summary><c>Membership</c>: serves the signed roster's exact bytes. Public (no authentication): the roster is public,
/// and a client verifies it against its pinned authority before its first signed call.</summary>
/// <remarks>Singleton; thread-safe. The file's bytes are wrapped once per roster loaded, not copied per request; a request
/// naming the served roster's digest (<c>known_digest</c>) is answered <c>not_modified</c> without the file
/// (coordinator.md §3.1), so n clients checking an unchanged roster before a round cost n small replies.</remarks>
internal sealed class MembershipService(Admission admission) : MembershipServiceBase
{
    private (ReadOnlyMemory<byte> File, ByteString Wrapped) _served = (ReadOnlyMemory<byte>.Empty, ByteString.Empty);

    /// <inheritdoc />
    public override Task<GetRosterResponse> GetRoster(GetRosterRequest request, ServerCallContext context)
    {
        CoordinatorRoster roster = admission.Roster
            ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, "This coordinator serves no roster (rule: roster-less deployment, allow-list admission)."));
        Roster.VerifiedRoster verified = roster.Roster;
        if (request.KnownDigest.Length > 0 && string.Equals(request.KnownDigest, verified.Digest, StringComparison.Ordinal))
        {
            // coordinator.md §3.1: the client holds this roster; it verifies its own copy again.
            return Task.FromResult(new GetRosterResponse { Version = verified.Version, Digest = verified.Digest, NotModified = true });
        }

        var response = new GetRosterResponse
        {
            Roster = Wrapped(roster.FileBytes),
            Version = verified.Version,
            Digest = verified.Digest,
        };
        return RespondAsync(response, context);
    }

    private static async Task<GetRosterResponse> RespondAsync(GetRosterResponse response, ServerCallContext context)
    {
        await RoundsService.HoldResponseAsync(context, "membership", response.Roster.Length).ConfigureAwait(false);
        return response;
    }

    private ByteString Wrapped(ReadOnlyMemory<byte> file)
    {
        (ReadOnlyMemory<byte> File, ByteString Wrapped) served = _served;
        if (served.File.Equals(file))
        {
            return served.Wrapped;
        }

        ByteString wrapped = ByteString.CopyFrom(file.Span);
        _served = (file, wrapped);
        return wrapped;
    }
}

/// <summary>
/// <c>Enrolment</c>: a current roster member (or an allow-listed key) proves possession of its key (the request signature,
/// checked before the body by <see cref="SignedRequestMiddleware"/>) and is recorded in the store, bound to its roster
/// name: the store's display name of a roster enrolment is <c>organisation/client-id</c>.
/// </summary>
/// <remarks>Singleton; thread-safe. Bound by <see cref="SignedEnrolmentBase"/> with the signed-request marshallers.</remarks>
internal sealed class EnrolmentService(ICoordinatorStore store, Admission admission, ILogger<EnrolmentService> logger, TimeProvider time) : SignedEnrolmentBase
{
    private const int MaxDisplayNameBytes = 128;

    /// <inheritdoc />
    public override async Task<EnrolResponse> Enrol(EnrolRequest request, ServerCallContext context)
    {
        string clientId = SignedMessages.CallerOf(request, context);
        byte[] key = request.IdentityPublicKey.ToByteArray();
        byte[]? registered = admission.KeyOf(clientId);
        if (registered is null || registered.Length != key.Length || !CryptographicOperations.FixedTimeEquals(registered, key))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "identity_public_key does not match the signing identity (rule: enrolment key binding)."));
        }

        if (System.Text.Encoding.UTF8.GetByteCount(request.DisplayName) > MaxDisplayNameBytes)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "display_name is longer than 128 bytes."));
        }

        DateTimeOffset now = time.GetUtcNow();
        if (admission.Roster is { } roster)
        {
            Roster.VerifiedRoster verified = roster.Roster;
            if (request.Organisation.Length == 0 || request.RosterClientId.Length == 0)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "organisation and roster_client_id are required: this coordinator admits roster members (rule: enrolment roster name)."));
            }

            Roster.RosterCheck check = verified.CheckMember(request.Organisation, request.RosterClientId, now, key, out Roster.RosterMember? member);
            if (!check.Passed)
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Roster check failed (rule: roster.md §5.2 {check.Refusal}): {check.Detail}"));
            }

            EnrolmentRecord bound = await store.EnrolAsync(clientId, key, member!.Name, now, context.CancellationToken).ConfigureAwait(false);
            CoordinatorLog.EnrolledMember(logger, clientId, bound.Number, member.Name, verified.Version);
            return new EnrolResponse
            {
                ClientId = clientId,
                EnrolledAtUnixMs = bound.EnrolledAt.ToUnixTimeMilliseconds(),
                Organisation = member.Organisation,
                RosterClientId = member.ClientId,
                RosterVersion = verified.Version,
            };
        }

        string name = request.DisplayName.Length > 0 ? request.DisplayName : admission.AllowList.NameOf(clientId);
        EnrolmentRecord record = await store.EnrolAsync(clientId, key, name, now, context.CancellationToken).ConfigureAwait(false);
        CoordinatorLog.Enrolled(logger, clientId, record.Number);
        return new EnrolResponse { ClientId = clientId, EnrolledAtUnixMs = record.EnrolledAt.ToUnixTimeMilliseconds() };
    }
}

/// <summary>
/// <c>Rounds</c>: the round RPCs over an <see cref="IRoundService"/> (the coordinator's round host), for the caller the
/// signature authenticated. Replies map to responses here, refusals to gRPC statuses through the one table
/// (<see cref="RoundStatus"/>). Only <c>SubmitPhase</c> takes requests up to the coordinator's MaxMessageBytes; the
/// other methods refuse anything above 64 KiB.
/// </summary>
/// <remarks>
/// <para>Singleton; thread-safe when the round service is. Bound by <see cref="SignedRoundsBase"/>.</para>
/// <para>Scale (protocol-spec/coordinator.md, "Waiting and relaying at scale"): a JoinRound that would answer WAIT or
/// NOT_SELECTED and a FetchPhase that would answer PENDING are held until the round service signals a change (a round
/// opened, a phase closed) or <see cref="MaxHold"/> passed, whichever is first, and never past half the call's own
/// deadline, so that n waiting clients cost n open streams rather than n polls per retry interval. What is relayed is
/// serialized once per message, not once per request: the payload of a fetched message (one client's O(k) keys or
/// shares) and the model of a version are cached beside the message or version they encode, and only while it lives.
/// The caller's enrolment is looked up in the store once and then remembered (enrolments are never removed; the roster
/// or allow-list still admits every call before it gets here).</para>
/// </remarks>
internal sealed partial class RoundsService(IRoundService rounds, ICoordinatorStore store, TimeProvider time) : SignedRoundsBase
{
    /// <summary>Longest a JoinRound or FetchPhase is held waiting for a change of round or phase.</summary>
    internal static readonly TimeSpan MaxHold = TimeSpan.FromSeconds(5);

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<ServerToClient, ByteString> _payloads = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _enrolled = new(StringComparer.Ordinal);
    private (ModelRelease? Model, ByteString Encoded) _model = (null, ByteString.Empty);

    /// <inheritdoc />
    public override async Task<JoinRoundResponse> JoinRound(JoinRoundRequest request, ServerCallContext context)
    {
        string caller = await EnrolledCallerAsync(request, context).ConfigureAwait(false);
        JoinReply reply = await HoldAsync(() => rounds.Join(caller), r => r.Outcome is JoinOutcome.Wait or JoinOutcome.NotSelected, context).ConfigureAwait(false);
        var response = new JoinRoundResponse { RetryAfterMs = RetryMs(reply.RetryAfter) };
        switch (reply.Outcome)
        {
            case JoinOutcome.Selected when reply.Invitation is { } invitation:
                response.Outcome = JoinRoundResponse.Types.Outcome.Selected;
                response.Round = RoundCodec.ToWire(invitation.Contract, invitation.ClientNumber);
                response.Payload = PayloadOf(invitation.Opening);
                response.PhaseDeadlineUnixMs = UnixMs(invitation.Deadline);
                break;
            case JoinOutcome.Wait:
                response.Outcome = JoinRoundResponse.Types.Outcome.Wait;
                break;
            case JoinOutcome.NotSelected:
                response.Outcome = JoinRoundResponse.Types.Outcome.NotSelected;
                break;
            case JoinOutcome.Finished:
                response.Outcome = JoinRoundResponse.Types.Outcome.Finished;
                break;
            default:
                throw new InvalidOperationException("JoinReply " + reply.Outcome + " without its invitation.");
        }

        return response;
    }

    /// <inheritdoc />
    public override async Task<SubmitPhaseResponse> SubmitPhase(SubmitPhaseRequest request, ServerCallContext context)
    {
        string caller = await EnrolledCallerAsync(request, context).ConfigureAwait(false);
        ClientToServer message;
        try
        {
            message = SubmitPayloads.ParseMessage(request.Payload);
        }
        catch (InvalidProtocolBufferException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "payload is not a securefedrec.secagg.v1.ClientToServer message."));
        }

        if (SubmitPayloads.BufferOf(request) is { } received)
        {
            // The journal writes the bytes as received (header room in front) instead of encoding a copy.
            SecureFedRec.Rounds.Server.RoundJournalEntry.UseReceivedEncoding(message, received);
        }

        SubmitReply reply = await rounds.SubmitAsync(caller, request.RoundId, request.Phase, message, context.CancellationToken).ConfigureAwait(false);
        return reply.Outcome == SubmitOutcome.Accepted
            ? new SubmitPhaseResponse { PhaseDeadlineUnixMs = UnixMs(reply.Deadline) }
            : throw RoundStatus.ToException(reply.Refusal, reply.Detail);
    }

    /// <inheritdoc />
    public override async Task<FetchPhaseResponse> FetchPhase(FetchPhaseRequest request, ServerCallContext context)
    {
        string caller = await EnrolledCallerAsync(request, context).ConfigureAwait(false);
        FetchReply reply = await HoldAsync(() => rounds.Fetch(caller, request.RoundId, request.Phase), r => r.Outcome == FetchOutcome.Pending, context).ConfigureAwait(false);
        var response = new FetchPhaseResponse { PhaseDeadlineUnixMs = UnixMs(reply.Deadline), RetryAfterMs = RetryMs(reply.RetryAfter) };
        switch (reply.Outcome)
        {
            case FetchOutcome.Ready when reply.Message is { } message:
                response.Outcome = FetchPhaseResponse.Types.Outcome.Ready;
                response.Payload = PayloadOf(message);
                await HoldResponseAsync(context, caller, response.Payload.Length).ConfigureAwait(false);
                break;
            case FetchOutcome.Pending:
                response.Outcome = FetchPhaseResponse.Types.Outcome.Pending;
                break;
            case FetchOutcome.Dropped:
                response.Outcome = FetchPhaseResponse.Types.Outcome.Dropped;
                response.DropReason = reply.DropReason;
                break;
            case FetchOutcome.Aborted:
                response.Outcome = FetchPhaseResponse.Types.Outcome.Aborted;
                response.Payload = reply.Message is { } abort ? PayloadOf(abort) : ByteString.Empty;
                break;
            case FetchOutcome.Refused:
                throw RoundStatus.ToException(reply.Refusal);
            default:
                throw new InvalidOperationException("FetchReply " + reply.Outcome + " without its message.");
        }

        return response;
    }

    /// <inheritdoc />
    public override async Task<GetModelResponse> GetModel(GetModelRequest request, ServerCallContext context)
    {
        string caller = SignedMessages.CallerOf(request, context);
        ModelRelease model = await rounds.GetModelAsync(request.Version, context.CancellationToken).ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.NotFound, "No such model version."));
        var response = new GetModelResponse
        {
            Version = model.Version,
            RoundId = model.RoundId,
            Model = EncodedModel(model),
            Epsilon = model.Epsilon,
            TotalEpsilon = model.TotalEpsilon,
        };
        await HoldResponseAsync(context, caller, response.Model.Length).ConfigureAwait(false);
        return response;
    }

    /// <summary>
    /// Waits for a lease of the response budget (<see cref="ResponseAdmission"/>) for a response carrying
    /// <paramref name="bytes"/> (nothing at or below 64 KiB); the middleware releases it when the call completed.
    /// </summary>
    internal static ValueTask HoldResponseAsync(ServerCallContext context, string caller, long bytes)
    {
        if (bytes <= CoordinatorProtocol.SmallMessageBytes)
        {
            return ValueTask.CompletedTask;
        }

        Microsoft.AspNetCore.Http.HttpContext http = context.GetHttpContext();
        return Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetService<ResponseAdmission>(http.RequestServices) is { } gate
            ? gate.HoldAsync(http, caller, bytes)
            : ValueTask.CompletedTask;
    }

    /// <summary>
    /// Asks <paramref name="ask"/>; while its answer is one to wait on, holds the call until the round service signals a
    /// change (the signal is taken before asking, so a change between the two is not missed), at most
    /// <see cref="MaxHold"/> and half the time left before the call's deadline, then asks again.
    /// </summary>
    private async Task<T> HoldAsync<T>(Func<T> ask, Func<T, bool> wait, ServerCallContext context)
    {
        DateTimeOffset now = time.GetUtcNow();
        TimeSpan hold = MaxHold;
        if (context.Deadline != DateTime.MaxValue)
        {
            TimeSpan left = new DateTimeOffset(DateTime.SpecifyKind(context.Deadline, DateTimeKind.Utc)) - DateTimeOffset.UtcNow;
            hold = left / 2 < hold ? left / 2 : hold;
        }

        DateTimeOffset until = now + hold;
        while (true)
        {
            Task? changed = rounds.Changed;
            T reply = ask();
            TimeSpan remaining = until - time.GetUtcNow();
            if (changed is null || !wait(reply) || remaining <= TimeSpan.Zero)
            {
                return reply;
            }

            try
            {
                await changed.WaitAsync(remaining, time, context.CancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return ask();
            }
        }
    }

    /// <summary>The payload bytes of a relayed message, serialized once per message object (it is immutable once published).</summary>
    private ByteString PayloadOf(ServerToClient message) => _payloads.GetValue(message, static m => m.ToByteString());

    /// <summary>The encoded model of a version, encoded once per version served (the latest is what clients ask for).</summary>
    private ByteString EncodedModel(ModelRelease model)
    {
        (ModelRelease? Model, ByteString Encoded) cached = _model;
        if (ReferenceEquals(cached.Model, model))
        {
            return cached.Encoded;
        }

        ByteString encoded = UnsafeByteOperations.UnsafeWrap(RoundCodec.EncodeModel(model.Values));
        _model = (model, encoded);
        return encoded;
    }

    private async Task<string> EnrolledCallerAsync(object request, ServerCallContext context)
    {
        string caller = SignedMessages.CallerOf(request, context);
        if (_enrolled.ContainsKey(caller))
        {
            return caller;
        }

        if (await store.GetEnrolmentAsync(caller, context.CancellationToken).ConfigureAwait(false) is null)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "Enrol before joining rounds."));
        }

        _enrolled.TryAdd(caller, 0);
        return caller;
    }

    private static long UnixMs(DateTimeOffset at) => at == DateTimeOffset.MinValue ? 0 : at.ToUnixTimeMilliseconds();

    private static uint RetryMs(TimeSpan retry) => (uint)Math.Clamp(retry.TotalMilliseconds, 0, uint.MaxValue);
}

/// <summary>
/// Health of the coordinator for grpc.health.v1 (and <c>/healthz</c>): a query against the store (the latest model
/// version, which exists from start-up on). A store that does not answer within 5 s, or throws, is unhealthy.
/// </summary>
internal sealed class StoreHealthCheck(ICoordinatorStore store) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            ModelVersionRecord? latest = await store.GetModelAsync(0, timeout.Token).ConfigureAwait(false);
            return latest is null
                ? HealthCheckResult.Unhealthy("The store holds no model version.")
                : HealthCheckResult.Healthy("Store answers; latest model version " + latest.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".");
        }
#pragma warning disable CA1031 // A health check reports any failure of its dependency as unhealthy.
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
        {
            return HealthCheckResult.Unhealthy("The store does not answer: " + ex.GetType().Name + ".");
        }
    }
}
