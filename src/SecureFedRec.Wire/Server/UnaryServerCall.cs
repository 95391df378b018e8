using System.Buffers.Binary;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SecureFedRec.Wire.Internal;

namespace SecureFedRec.Wire.Server;

/// <summary>Serves one unary method: validates the HTTP/2 request, reads one frame, authenticates, dispatches.</summary>
internal sealed class UnaryServerCall<TRequest, TResponse>(
    string path,
    MessageParser<TRequest> parser,
    Func<TRequest, WireCallContext, Task<TResponse>> handler,
    WireServerOptions options,
    WireAuthenticator? authenticator,
    ILogger logger)
    where TRequest : IMessage<TRequest>
    where TResponse : IMessage<TResponse>
{
    public async Task HandleAsync(HttpContext context)
    {
        HttpRequest request = context.Request;
        if (!HttpMethods.IsPost(request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        if (!GrpcFraming.IsGrpcContentType(request.ContentType))
        {
            WireServerResponses.WriteTrailersOnly(context, GrpcStatusCode.Internal,
                "Content-Type is not application/grpc.", StatusCodes.Status415UnsupportedMediaType);
            return;
        }

        if (!HttpProtocol.IsHttp2(request.Protocol))
        {
            WireServerResponses.WriteTrailersOnly(context, GrpcStatusCode.Internal,
                "gRPC requires HTTP/2.", StatusCodes.Status426UpgradeRequired);
            return;
        }

        DateTimeOffset? deadline = null;
        string? timeoutHeader = request.Headers[GrpcFraming.TimeoutHeader];
        TimeSpan timeout = default;
        if (timeoutHeader is not null)
        {
            if (!GrpcFraming.TryParseTimeout(timeoutHeader, out timeout))
            {
                WireServerResponses.WriteTrailersOnly(context, GrpcStatusCode.Internal, "Malformed grpc-timeout.");
                return;
            }

            deadline = options.TimeProvider.GetUtcNow() + timeout;
        }

        using var deadlineCts = deadline is null ? null : new CancellationTokenSource(timeout, options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(
            context.RequestAborted, deadlineCts?.Token ?? CancellationToken.None);
        CancellationToken token = linked.Token;

        GrpcStatusCode status;
        string message;
        try
        {
            (status, message) = await RunAsync(context, deadline, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadlineCts?.IsCancellationRequested == true)
        {
            (status, message) = (GrpcStatusCode.DeadlineExceeded, "Deadline exceeded.");
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client reset the stream: nobody is left to read a status.
            return;
        }
        catch (WireException ex)
        {
            (status, message) = (ex.StatusCode, ex.Detail);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            WireLog.HandlerFailed(logger, path, ex);
            (status, message) = (GrpcStatusCode.Unknown, "Exception was thrown by handler.");
        }

        if (status == GrpcStatusCode.OK)
        {
            return;
        }

        if (context.Response.HasStarted)
        {
            WireServerResponses.AppendStatusTrailers(context, status, message);
        }
        else
        {
            WireServerResponses.WriteTrailersOnly(context, status, message);
        }
    }

    private async Task<(GrpcStatusCode Status, string Message)> RunAsync(HttpContext context, DateTimeOffset? deadline, CancellationToken token)
    {
        (byte[] body, int length) = await ReadBodyAsync(context.Request.Body, token).ConfigureAwait(false);
        FrameResult frame = GrpcFraming.ParseSingle(body.AsSpan(0, length), options.MaxReceiveMessageSize,
            context.Request.Headers[GrpcFraming.EncodingHeader], out Range payloadRange);
        if (!frame.IsOk)
        {
            if (frame.Status == GrpcStatusCode.Unimplemented)
            {
                context.Response.Headers[GrpcFraming.AcceptEncodingHeader] = GrpcFraming.IdentityEncoding;
            }

            return (frame.Status, frame.Message);
        }

        ReadOnlyMemory<byte> payload = body.AsMemory(payloadRange);
        var callContext = new WireCallContext(path, context, payload, deadline, token);
        if (authenticator is not null)
        {
            await authenticator(callContext).ConfigureAwait(false);
        }

        TRequest requestMessage;
        try
        {
            requestMessage = parser.ParseFrom(payload.Span);
        }
        catch (InvalidProtocolBufferException)
        {
            return (GrpcStatusCode.Internal, "Failed to deserialize request message.");
        }

        TResponse response = await handler(requestMessage, callContext).ConfigureAwait(false);
        token.ThrowIfCancellationRequested();

        int size = response.CalculateSize();
        if (size > options.MaxSendMessageSize)
        {
            return (GrpcStatusCode.ResourceExhausted, "Response message larger than the maximum message size.");
        }

        byte[] frameBytes = new byte[GrpcFraming.HeaderSize + size];
        GrpcFraming.WriteHeader(frameBytes, size);
        response.WriteTo(frameBytes.AsSpan(GrpcFraming.HeaderSize));

        HttpResponse httpResponse = context.Response;
        httpResponse.StatusCode = StatusCodes.Status200OK;
        httpResponse.ContentType = GrpcFraming.ContentType;
        httpResponse.Headers[GrpcFraming.AcceptEncodingHeader] = GrpcFraming.IdentityEncoding;
        await httpResponse.Body.WriteAsync(frameBytes, token).ConfigureAwait(false);
        WireServerResponses.AppendStatusTrailers(context, GrpcStatusCode.OK, string.Empty);
        return (GrpcStatusCode.OK, string.Empty);
    }

    /// <summary>
    /// Reads the body, never buffering more than the declared length (bounded by the limit) plus one byte, so that an
    /// oversized or endless body is refused without being read.
    /// </summary>
    private async Task<(byte[] Body, int Length)> ReadBodyAsync(Stream body, CancellationToken token)
    {
        byte[] header = new byte[GrpcFraming.HeaderSize];
        int got = await ReadAtMostAsync(body, header, token).ConfigureAwait(false);
        if (got < GrpcFraming.HeaderSize)
        {
            return (header, got);
        }

        uint declared = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1));
        if (declared > (uint)options.MaxReceiveMessageSize)
        {
            // ParseSingle reports RESOURCE_EXHAUSTED from the prefix alone.
            return (header, GrpcFraming.HeaderSize);
        }

        // +1: one byte past the declared end detects trailing data.
        byte[] buffer = new byte[GrpcFraming.HeaderSize + (int)declared + 1];
        header.CopyTo(buffer, 0);
        int rest = await ReadAtMostAsync(body, buffer.AsMemory(GrpcFraming.HeaderSize), token).ConfigureAwait(false);
        return (buffer, GrpcFraming.HeaderSize + rest);
    }

    private static async Task<int> ReadAtMostAsync(Stream stream, Memory<byte> buffer, CancellationToken token)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer[total..], token).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }
}
