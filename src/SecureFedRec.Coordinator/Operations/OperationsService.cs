using System.Globalization;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SecureFedRec.Coordinator.Dashboard;
using SecureFedRec.Coordinator.Grpc;
using SecureFedRec.Wire;
using SecureFedRec.Wire.Operations.V1;
using OperationsDescriptor = SecureFedRec.Wire.Operations.V1.Operations;

namespace SecureFedRec.Coordinator.Operations;

/// <summary>
/// The <c>Operations</c> service (operations.proto) bound with the signed-request marshallers of
/// <see cref="SignedMessages"/> (64 KiB requests; the body must hash to the signed value).
/// </summary>
[BindServiceMethod(typeof(SignedOperationsBase), nameof(BindService))]
internal abstract class SignedOperationsBase
{
    private static readonly Method<GetStatusRequest, GetStatusResponse> s_status = Unary<GetStatusRequest, GetStatusResponse>("GetStatus", GetStatusRequest.Parser);
    private static readonly Method<ListRoundsRequest, ListRoundsResponse> s_rounds = Unary<ListRoundsRequest, ListRoundsResponse>("ListRounds", ListRoundsRequest.Parser);
    private static readonly Method<GetRoundRequest, GetRoundResponse> s_round = Unary<GetRoundRequest, GetRoundResponse>("GetRound", GetRoundRequest.Parser);
    private static readonly Method<ListModelsRequest, ListModelsResponse> s_models = Unary<ListModelsRequest, ListModelsResponse>("ListModels", ListModelsRequest.Parser);
    private static readonly Method<ExportLedgerRequest, ExportLedgerResponse> s_ledger = Unary<ExportLedgerRequest, ExportLedgerResponse>("ExportLedger", ExportLedgerRequest.Parser);
    private static readonly Method<CreateDashboardLoginRequest, CreateDashboardLoginResponse> s_login =
        Unary<CreateDashboardLoginRequest, CreateDashboardLoginResponse>("CreateDashboardLogin", CreateDashboardLoginRequest.Parser);

    /// <summary>The service's descriptor (server reflection finds it here).</summary>
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => OperationsDescriptor.Descriptor;

    /// <summary>Binds the methods (grpc-dotnet calls this with a null instance and resolves the service per call).</summary>
    public static void BindService(ServiceBinderBase binder, SignedOperationsBase? service)
    {
        ArgumentNullException.ThrowIfNull(binder);
        binder.AddMethod(s_status, service is null ? null : service.GetStatus);
        binder.AddMethod(s_rounds, service is null ? null : service.ListRounds);
        binder.AddMethod(s_round, service is null ? null : service.GetRound);
        binder.AddMethod(s_models, service is null ? null : service.ListModels);
        binder.AddMethod(s_ledger, service is null ? null : service.ExportLedger);
        binder.AddMethod(s_login, service is null ? null : service.CreateDashboardLogin);
    }

    public abstract Task<GetStatusResponse> GetStatus(GetStatusRequest request, ServerCallContext context);

    public abstract Task<ListRoundsResponse> ListRounds(ListRoundsRequest request, ServerCallContext context);

    public abstract Task<GetRoundResponse> GetRound(GetRoundRequest request, ServerCallContext context);

    public abstract Task<ListModelsResponse> ListModels(ListModelsRequest request, ServerCallContext context);

    public abstract Task<ExportLedgerResponse> ExportLedger(ExportLedgerRequest request, ServerCallContext context);

    public abstract Task<CreateDashboardLoginResponse> CreateDashboardLogin(CreateDashboardLoginRequest request, ServerCallContext context);

    private static Method<TRequest, TResponse> Unary<TRequest, TResponse>(string name, Google.Protobuf.MessageParser<TRequest> parser)
        where TRequest : class, Google.Protobuf.IMessage<TRequest>
        where TResponse : class, Google.Protobuf.IMessage<TResponse>, new() =>
        SignedMessages.Unary<TRequest, TResponse>(OperationsDescriptor.Descriptor, name, parser, CoordinatorProtocol.SmallMessageBytes);
}

/// <summary>
/// <c>Operations</c>: the operator API over <see cref="OperationsQueries"/>, for callers that
/// <see cref="OperatorRequestMiddleware"/> authenticated against the operator keys (never the clients' allow-list).
/// </summary>
/// <remarks>Singleton; thread-safe.</remarks>
internal sealed class OperationsService(OperationsQueries queries, DashboardSessions sessions, DashboardAddress dashboard, ILogger<OperationsService> logger)
    : SignedOperationsBase
{
    /// <summary>Default and largest <c>ListRounds.limit</c>.</summary>
    public const int DefaultLimit = 50, MaxLimit = 1000;

    public override async Task<GetStatusResponse> GetStatus(GetStatusRequest request, ServerCallContext context)
    {
        SignedMessages.CallerOf(request, context);
        return await queries.StatusAsync(context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task<ListRoundsResponse> ListRounds(ListRoundsRequest request, ServerCallContext context)
    {
        SignedMessages.CallerOf(request, context);
        if (request.Limit > MaxLimit)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"limit must be at most {MaxLimit}."));
        }

        var response = new ListRoundsResponse();
        response.Rounds.AddRange(await queries.RoundsAsync(request.Limit == 0 ? DefaultLimit : (int)request.Limit, context.CancellationToken).ConfigureAwait(false));
        return response;
    }

    public override async Task<GetRoundResponse> GetRound(GetRoundRequest request, ServerCallContext context)
    {
        SignedMessages.CallerOf(request, context);
        return await queries.RoundAsync(request.RoundId, context.CancellationToken).ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.NotFound, "No round " + request.RoundId.ToString(CultureInfo.InvariantCulture) + "."));
    }

    public override async Task<ListModelsResponse> ListModels(ListModelsRequest request, ServerCallContext context)
    {
        SignedMessages.CallerOf(request, context);
        var response = new ListModelsResponse();
        response.Models.AddRange(await queries.ModelsAsync(context.CancellationToken).ConfigureAwait(false));
        return response;
    }

    public override async Task<ExportLedgerResponse> ExportLedger(ExportLedgerRequest request, ServerCallContext context)
    {
        SignedMessages.CallerOf(request, context);
        return await queries.LedgerAsync(context.CancellationToken).ConfigureAwait(false);
    }

    public override Task<CreateDashboardLoginResponse> CreateDashboardLogin(CreateDashboardLoginRequest request, ServerCallContext context)
    {
        string operatorId = SignedMessages.CallerOf(request, context);
        if (dashboard.Uri is not { } baseUri)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "The dashboard is off (Coordinator:Operators:Dashboard:Enabled)."));
        }

        (string token, DateTimeOffset expires) = sessions.IssueLogin(operatorId);
        OperationsLog.DashboardLoginIssued(logger, operatorId);
        return Task.FromResult(new CreateDashboardLoginResponse
        {
            LoginUrl = new Uri(baseUri, "dashboard/login?token=" + token).ToString(),
            ExpiresAtUnixMs = (ulong)expires.ToUnixTimeMilliseconds(),
        });
    }
}

/// <summary>
/// Authenticates every call of the <c>Operations</c> service from its headers, before the body is read, against the
/// operator keys (<see cref="OperatorOptions"/>) with a replay guard of its own; the verdicts and statuses are those of
/// <see cref="SignedRequestAuthenticator"/>. Runs after <see cref="SignedRequestMiddleware"/>, which leaves this service
/// alone (it authenticates Enrolment and Rounds against the clients' allow-list only).
/// </summary>
internal sealed class OperatorRequestMiddleware(RequestDelegate next, OperatorAuthenticator authenticator, CoordinatorMetrics metrics)
{
    private static readonly string Service = OperationsDescriptor.Descriptor.FullName;

    public async Task InvokeAsync(HttpContext context)
    {
        GrpcMethodMetadata? grpc = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>();
        if (grpc is null || grpc.Method.ServiceName != Service)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        AuthVerdict verdict = await authenticator.Authenticator.AuthenticateAsync(grpc.Method.FullName,
            name => context.Request.Headers.TryGetValue(name, out var values) && values.Count == 1 ? values[0] : null,
            context.RequestAborted).ConfigureAwait(false);
        if (!verdict.IsAuthenticated)
        {
            metrics.Rpc(grpc.Method.Name, verdict.Status.ToString());
            HttpResponse response = context.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/grpc";
            response.Headers["grpc-status"] = ((int)verdict.Status).ToString(CultureInfo.InvariantCulture);
            response.Headers["grpc-message"] = Uri.EscapeDataString(verdict.Message);
            return;
        }

        context.Items[SignedMessages.ClientIdItem] = verdict.ClientId;
        context.Items[SignedMessages.RequestHashItem] = verdict.RequestHash;
        await next(context).ConfigureAwait(false);
    }
}

/// <summary>The operator keys and the request authenticator over them (its own replay guard).</summary>
internal sealed class OperatorAuthenticator(AllowList operators, SignedRequestAuthenticator authenticator)
{
    public AllowList Operators { get; } = operators;

    /// <summary>Number of operator keys.</summary>
    public int Count => Operators.Count;

    public SignedRequestAuthenticator Authenticator { get; } = authenticator;
}
