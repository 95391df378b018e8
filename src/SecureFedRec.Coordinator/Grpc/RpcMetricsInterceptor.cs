using Grpc.Core;
using Grpc.Core.Interceptors;

namespace SecureFedRec.Coordinator.Grpc;

/// <summary>Counts every unary call by method and final status for <c>/metrics</c>.</summary>
/// <remarks>Thread-safe; holds no per-call state.</remarks>
internal sealed class RpcMetricsInterceptor(CoordinatorMetrics metrics) : Interceptor
{
    /// <inheritdoc />
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        string method = context.Method[(context.Method.LastIndexOf('/') + 1)..];
        try
        {
            TResponse response = await continuation(request, context).ConfigureAwait(false);
            metrics.Rpc(method, nameof(StatusCode.OK));
            return response;
        }
        catch (RpcException ex)
        {
            metrics.Rpc(method, ex.StatusCode.ToString());
            throw;
        }
    }
}
