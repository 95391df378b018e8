using System.Globalization;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace SecureFedRec.Coordinator.Grpc;

/// <summary>
/// Authenticates signed gRPC calls (services Enrolment and Rounds) from their headers BEFORE the request body is read,
/// so an unauthenticated caller cannot make the coordinator buffer a message: a refused call ends at once with a
/// trailers-only gRPC response (HTTP 200, <c>grpc-status</c>, <c>grpc-message</c>) and its body is never read. Also
/// enforces case-sensitive method paths (ASP.NET routing matches literals case-insensitively; gRPC paths are exact):
/// any other spelling is UNIMPLEMENTED.
/// </summary>
/// <remarks>Runs after routing (it reads the gRPC endpoint's method); thread-safe.</remarks>
internal sealed class SignedRequestMiddleware(RequestDelegate next, SignedRequestAuthenticator authenticator, CoordinatorMetrics metrics)
{
    private static readonly HashSet<string> s_signedServices = new(StringComparer.Ordinal)
    {
        V1Services.Enrolment,
        V1Services.Rounds,
    };

    public async Task InvokeAsync(HttpContext context)
    {
        GrpcMethodMetadata? grpc = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>();
        if (grpc is null || context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) != true)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        if (!string.Equals(context.Request.Path.Value, grpc.Method.FullName, StringComparison.Ordinal))
        {
            TrailersOnly(context, StatusCode.Unimplemented, "Method is unimplemented.");
            return;
        }

        if (s_signedServices.Contains(grpc.Method.ServiceName))
        {
            AuthVerdict verdict = await authenticator.AuthenticateAsync(grpc.Method.FullName,
                name => context.Request.Headers.TryGetValue(name, out var values) && values.Count == 1 ? values[0] : null,
                context.RequestAborted).ConfigureAwait(false);
            if (!verdict.IsAuthenticated)
            {
                metrics.Rpc(grpc.Method.Name, verdict.Status.ToString());
                TrailersOnly(context, verdict.Status, verdict.Message);
                return;
            }

            context.Items[SignedMessages.ClientIdItem] = verdict.ClientId;
            context.Items[SignedMessages.RequestHashItem] = verdict.RequestHash;
        }

        await next(context).ConfigureAwait(false);
    }

    /// <summary>A gRPC trailers-only response (PROTOCOL-HTTP2.md): the status in the headers, no message, nothing read.</summary>
    private static void TrailersOnly(HttpContext context, StatusCode status, string message)
    {
        HttpResponse response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)status).ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(message);
    }
}

/// <summary>Full names of the coordinator.proto services.</summary>
internal static class V1Services
{
    public static readonly string Status = Wire.V1.CoordinatorStatus.Descriptor.FullName;
    public static readonly string Enrolment = Wire.V1.Enrolment.Descriptor.FullName;
    public static readonly string Rounds = Wire.V1.Rounds.Descriptor.FullName;
}
