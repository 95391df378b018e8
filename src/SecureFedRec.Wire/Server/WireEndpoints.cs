using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SecureFedRec.Wire.Internal;

namespace SecureFedRec.Wire.Server;

/// <summary>
/// Maps unary gRPC methods onto ASP.NET Core endpoints (Kestrel, HTTP/2). Implements the server half of
/// grpc/grpc doc/PROTOCOL-HTTP2.md for unary calls: POST over HTTP/2, <c>application/grpc</c>, one length-prefixed
/// message each way, <c>grpc-timeout</c>, and <c>grpc-status</c>/<c>grpc-message</c> trailers (trailers-only
/// responses for errors before any message was sent).
/// </summary>
/// <remarks>
/// Failure modes, as status codes: wrong content type → HTTP 415 + INTERNAL; not HTTP/2 → HTTP 426 + INTERNAL;
/// malformed frame → INTERNAL; compressed message → INTERNAL/UNIMPLEMENTED; message above the limit →
/// RESOURCE_EXHAUSTED; unparseable protobuf → INTERNAL; deadline → DEADLINE_EXCEEDED; unknown method → UNIMPLEMENTED;
/// unexpected handler exception → UNKNOWN with a fixed message (details go to the log only).
/// </remarks>
public static class WireEndpoints
{
    /// <summary>The gRPC path of a method: <c>/package.Service/Method</c>.</summary>
    public static string PathOf(MethodDescriptor method)
    {
        ArgumentNullException.ThrowIfNull(method);
        return "/" + method.Service.FullName + "/" + method.Name;
    }

    /// <summary>Maps one unary method.</summary>
    /// <typeparam name="TRequest">Generated request message type; must be the method's input type.</typeparam>
    /// <typeparam name="TResponse">Generated response message type; must be the method's output type.</typeparam>
    public static IEndpointConventionBuilder MapUnary<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints,
        MethodDescriptor method,
        Func<TRequest, WireCallContext, Task<TResponse>> handler,
        WireServerOptions? options = null,
        WireAuthenticator? authenticator = null)
        where TRequest : IMessage<TRequest>, new()
        where TResponse : IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(handler);
        if (method.IsClientStreaming || method.IsServerStreaming)
        {
            throw new ArgumentException("Only unary methods are supported.", nameof(method));
        }

        var parser = new MessageParser<TRequest>(() => new TRequest());
        if (method.InputType.ClrType != typeof(TRequest) || method.OutputType.ClrType != typeof(TResponse))
        {
            throw new ArgumentException("Message types do not match the method descriptor.", nameof(method));
        }

        options ??= new WireServerOptions();
        var logger = endpoints.ServiceProvider.GetService<ILoggerFactory>()?.CreateLogger("SecureFedRec.Wire.Server")
            ?? NullLogger.Instance;
        var call = new UnaryServerCall<TRequest, TResponse>(PathOf(method), parser, handler, options, authenticator, logger);
        return endpoints.Map(PathOf(method), call.HandleAsync);
    }

    /// <summary>
    /// Maps a fallback so that a gRPC request for any other path ends with UNIMPLEMENTED (and the HTTP status 200 the
    /// spec asks for) instead of an HTTP 404.
    /// </summary>
    public static IEndpointConventionBuilder MapUnknownGrpcMethods(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapFallback(context =>
        {
            if (!GrpcFraming.IsGrpcContentType(context.Request.ContentType))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            WireServerResponses.WriteTrailersOnly(context, GrpcStatusCode.Unimplemented, "Method is unimplemented.");
            return Task.CompletedTask;
        });
    }
}

/// <summary>Writes gRPC responses and errors onto an <see cref="HttpResponse"/>.</summary>
internal static class WireServerResponses
{
    public static void WriteTrailersOnly(HttpContext context, GrpcStatusCode status, string message, int httpStatus = StatusCodes.Status200OK)
    {
        HttpResponse response = context.Response;
        response.StatusCode = httpStatus;
        response.ContentType = GrpcFraming.ContentType;
        response.Headers[GrpcFraming.StatusHeader] = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (message.Length > 0)
        {
            response.Headers[GrpcFraming.MessageHeader] = GrpcFraming.EncodeMessage(message);
        }
    }

    public static void AppendStatusTrailers(HttpContext context, GrpcStatusCode status, string message)
    {
        context.Response.AppendTrailer(GrpcFraming.StatusHeader, ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (message.Length > 0)
        {
            context.Response.AppendTrailer(GrpcFraming.MessageHeader, GrpcFraming.EncodeMessage(message));
        }
    }
}
