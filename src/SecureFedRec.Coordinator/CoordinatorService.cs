using System.Security.Cryptography;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using SecureFedRec.Coordinator.Storage;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Wire;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.Server;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Coordinator;

/// <summary>The coordinator's RPC handlers (coordinator.proto), mapped onto Kestrel by <see cref="Map"/>.</summary>
/// <remarks>Thread-safe; state lives in the <see cref="RoundEngine"/> and the store.</remarks>
internal sealed class CoordinatorService(
    RoundEngine engine, ICoordinatorStore store, IPrivacyLedger ledger, AllowList allowList, SignedRequestAuthenticator authenticator,
    CoordinatorMetrics metrics, ILogger logger, TimeProvider time)
{
    private const int MaxDisplayNameBytes = 128;

    public void Map(IEndpointRouteBuilder endpoints, WireServerOptions options)
    {
        WireAuthenticator auth = authenticator.AuthenticateAsync;
        endpoints.MapUnary<GetStatusRequest, GetStatusResponse>(CoordinatorApi.GetStatus, Counted<GetStatusRequest, GetStatusResponse>("GetStatus", GetStatusAsync), options);
        endpoints.MapUnary<EnrolRequest, EnrolResponse>(CoordinatorApi.Enrol, Counted<EnrolRequest, EnrolResponse>("Enrol", EnrolAsync), options, auth);
        endpoints.MapUnary<JoinRoundRequest, JoinRoundResponse>(CoordinatorApi.JoinRound, Counted<JoinRoundRequest, JoinRoundResponse>("JoinRound",
            async (_, c) => engine.Join(await EnrolledAsync(c).ConfigureAwait(false))), options, auth);
        endpoints.MapUnary<SubmitPhaseRequest, SubmitPhaseResponse>(CoordinatorApi.SubmitPhase, Counted<SubmitPhaseRequest, SubmitPhaseResponse>("SubmitPhase",
            async (r, c) => engine.Submit(await EnrolledAsync(c).ConfigureAwait(false), r)), options, auth);
        endpoints.MapUnary<FetchPhaseRequest, FetchPhaseResponse>(CoordinatorApi.FetchPhase, Counted<FetchPhaseRequest, FetchPhaseResponse>("FetchPhase",
            async (r, c) => engine.Fetch(await EnrolledAsync(c).ConfigureAwait(false), r)), options, auth);
        endpoints.MapUnary<GetModelRequest, GetModelResponse>(CoordinatorApi.GetModel, Counted<GetModelRequest, GetModelResponse>("GetModel", GetModelAsync), options, auth);
        endpoints.MapUnknownGrpcMethods();
    }

    private Func<TRequest, WireCallContext, Task<TResponse>> Counted<TRequest, TResponse>(string name, Func<TRequest, WireCallContext, Task<TResponse>> handler) =>
        async (request, context) =>
        {
            try
            {
                TResponse response = await handler(request, context).ConfigureAwait(false);
                metrics.Rpc(name, nameof(GrpcStatusCode.OK));
                return response;
            }
            catch (WireException ex)
            {
                metrics.Rpc(name, ex.StatusCode.ToString());
                throw;
            }
        };

    private Task<GetStatusResponse> GetStatusAsync(GetStatusRequest request, WireCallContext context)
    {
        (ulong round, Phase phase) = engine.Current;
        return Task.FromResult(new GetStatusResponse
        {
            ApiVersion = CoordinatorApi.ApiVersion,
            ModelVersion = (ulong)engine.ModelVersion,
            CurrentRound = round,
            CurrentPhase = phase,
            ServerTimeUnixMs = time.GetUtcNow().ToUnixTimeMilliseconds(),
        });
    }

    private async Task<EnrolResponse> EnrolAsync(EnrolRequest request, WireCallContext context)
    {
        string clientId = SignedRequestAuthenticator.AuthenticatedClientId(context);
        byte[] key = request.IdentityPublicKey.ToByteArray();
        byte[]? allowed = allowList.Find(clientId);
        if (allowed is null || !CryptographicOperations.FixedTimeEquals(allowed, key))
        {
            throw new WireException(GrpcStatusCode.InvalidArgument, "identity_public_key does not match the signing identity.");
        }

        if (System.Text.Encoding.UTF8.GetByteCount(request.DisplayName) > MaxDisplayNameBytes)
        {
            throw new WireException(GrpcStatusCode.InvalidArgument, "display_name is longer than 128 bytes.");
        }

        string name = request.DisplayName.Length > 0 ? request.DisplayName : allowList.NameOf(clientId);
        EnrolmentRecord record = await store.EnrolAsync(clientId, key, name, time.GetUtcNow(), context.CancellationToken).ConfigureAwait(false);
        CoordinatorLog.Enrolled(logger, clientId, record.Number);
        return new EnrolResponse { ClientId = clientId, EnrolledAtUnixMs = record.EnrolledAt.ToUnixTimeMilliseconds() };
    }

    private async Task<EnrolmentRecord> EnrolledAsync(WireCallContext context)
    {
        string clientId = SignedRequestAuthenticator.AuthenticatedClientId(context);
        return await store.GetEnrolmentAsync(clientId, context.CancellationToken).ConfigureAwait(false)
            ?? throw new WireException(GrpcStatusCode.FailedPrecondition, "Enrol before joining rounds.");
    }

    private async Task<GetModelResponse> GetModelAsync(GetModelRequest request, WireCallContext context)
    {
        ModelVersionRecord model = await store.GetModelAsync((long)request.Version, context.CancellationToken).ConfigureAwait(false)
            ?? throw new WireException(GrpcStatusCode.NotFound, "No such model version.");
        LedgerEntry? entry = ledger.Entries.FirstOrDefault(e => e.RoundId == RoundCodec.LedgerRoundId((ulong)model.RoundId));
        return new GetModelResponse
        {
            Version = (ulong)model.Version,
            RoundId = (ulong)model.RoundId,
            Model = Google.Protobuf.ByteString.CopyFrom(model.Model),
            Epsilon = entry?.RoundEpsilon ?? 0,
            TotalEpsilon = entry?.TotalEpsilon ?? 0,
            ReleasedAtUnixMs = model.ReleasedAt.ToUnixTimeMilliseconds(),
        };
    }
}
