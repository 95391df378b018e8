using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Pipelines;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace SecureFedRec.Coordinator.Grpc;

/// <summary>
/// Authenticates signed gRPC calls (services Enrolment and Rounds) from their headers BEFORE the request body is read,
/// so an unauthenticated caller cannot make the coordinator buffer a message: a refused call ends at once with a
/// trailers-only gRPC response (HTTP 200, <c>grpc-status</c>, <c>grpc-message</c>) and its body is never read. Also
/// enforces case-sensitive method paths (ASP.NET routing matches literals case-insensitively; gRPC paths are exact):
/// any other spelling is UNIMPLEMENTED, and so is a request naming a <c>grpc-encoding</c> (none is offered). Then, still before any message is buffered, it enforces the per-method size
/// limit from the 5-byte gRPC prefix (grpc-dotnet has only per-service limits): <c>Rounds.SubmitPhase</c> up to
/// MaxMessageBytes, every other coordinator.proto request up to 64 KiB; above → RESOURCE_EXHAUSTED. The prefix is only
/// peeked at (not consumed): grpc-dotnet reads and frames the request itself. A signed request declaring more than
/// 64 KiB (a masked input, a chunk) then waits for a lease of the upload budget (<see cref="UploadAdmission"/>) before
/// its body is read, and holds it until it has been answered. A handler that answers with more than 64 KiB holds a lease
/// of <see cref="ResponseAdmission"/> for it, which this middleware releases when the call has completed. Every gRPC
/// call's body is read through <see cref="ClientAbortPipeReader"/>, so a client's reset is a status, never an error.
/// </summary>
/// <remarks>Runs after routing (it reads the gRPC endpoint's method); thread-safe.</remarks>
internal sealed class SignedRequestMiddleware(RequestDelegate next, SignedRequestAuthenticator authenticator, CoordinatorMetrics metrics, UploadAdmission uploads, int maxSubmitBytes)
{
    private const int PrefixLength = 5;

    private static readonly HashSet<string> s_signedServices = new(StringComparer.Ordinal)
    {
        V1Services.Enrolment,
        V1Services.Rounds,
    };

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await InvokeCoreAsync(context).ConfigureAwait(false);
        }
        finally
        {
            // A large response's lease (ResponseAdmission) ends once its bytes have left Kestrel's stream buffer.
            await ResponseAdmission.ReleaseAsync(context).ConfigureAwait(false);
        }
    }

    private async Task InvokeCoreAsync(HttpContext context)
    {
        GrpcMethodMetadata? grpc = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>();
        if (grpc is null || context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) != true)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        ClientAbortPipeReader.Install(context);
        if (!string.Equals(context.Request.Path.Value, grpc.Method.FullName, StringComparison.Ordinal))
        {
            TrailersOnly(context, StatusCode.Unimplemented, "Method is unimplemented.");
            return;
        }

        // No compression is offered (masked vectors do not compress): a request that names an encoding is refused as
        // the gRPC spec says for an encoding the server does not support, before anything is decompressed.
        if (context.Request.Headers.TryGetValue("grpc-encoding", out var encoding) && !string.Equals(encoding.ToString(), "identity", StringComparison.Ordinal))
        {
            context.Response.Headers["grpc-accept-encoding"] = "identity";
            TrailersOnly(context, StatusCode.Unimplemented, "Unsupported grpc-encoding value. Supported encodings: identity");
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

        if (s_signedServices.Contains(grpc.Method.ServiceName) || grpc.Method.ServiceName == V1Services.Status || grpc.Method.ServiceName == V1Services.Membership)
        {
            long limit = grpc.Method.ServiceName == V1Services.Rounds && grpc.Method.Name == "SubmitPhase"
                ? maxSubmitBytes
                : grpc.Method.ServiceName == V1Services.Rounds && grpc.Method.Name == "UploadChunk"
                    ? Wire.TransferFraming.MaxChunkRequestBytes
                    : Wire.CoordinatorProtocol.SmallMessageBytes;
            PipeReader body = context.Request.BodyReader;
            ReadResult read;
            try
            {
                read = await body.ReadAtLeastAsync(PrefixLength, context.RequestAborted).ConfigureAwait(false);
            }
            catch (RpcException broken)
            {
                // The stream broke before its prefix arrived (ClientAbortPipeReader): answer its status, read nothing.
                metrics.Rpc(grpc.Method.Name, broken.StatusCode.ToString());
                TrailersOnly(context, broken.StatusCode, broken.Status.Detail);
                return;
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                return; // the client went away before its prefix arrived: nothing was read, nothing to answer
            }

            long? declared = DeclaredLength(read.Buffer);
            body.AdvanceTo(read.Buffer.Start, read.Buffer.Start);
            if (declared > limit)
            {
                metrics.Rpc(grpc.Method.Name, nameof(StatusCode.ResourceExhausted));
                TrailersOnly(context, StatusCode.ResourceExhausted, "Received message exceeds the maximum size of this method.");
                return;
            }

            if (declared > Wire.CoordinatorProtocol.SmallMessageBytes && context.Items[SignedMessages.ClientIdItem] is string caller)
            {
                // A large body (a masked input, a chunk): read it only once the upload budget admits it, so that n
                // clients uploading at once do not make the coordinator buffer n bodies (UploadAdmission).
                UploadAdmission.Lease lease;
                try
                {
                    lease = await uploads.AcquireAsync(caller, declared.Value, context.RequestAborted).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
                {
                    return; // the client went away while waiting: nothing was read, nothing to answer
                }

                using (lease)
                {
                    await next(context).ConfigureAwait(false);
                }

                return;
            }
        }

        await next(context).ConfigureAwait(false);
    }

    /// <summary>The message length a gRPC prefix declares, or null when fewer than 5 bytes arrived (grpc-dotnet answers that).</summary>
    private static long? DeclaredLength(ReadOnlySequence<byte> buffer)
    {
        if (buffer.Length < PrefixLength)
        {
            return null;
        }

        Span<byte> prefix = stackalloc byte[PrefixLength];
        buffer.Slice(0, PrefixLength).CopyTo(prefix);
        return BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
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
    public static readonly string Membership = Wire.V1.Membership.Descriptor.FullName;
    public static readonly string Enrolment = Wire.V1.Enrolment.Descriptor.FullName;
    public static readonly string Rounds = Wire.V1.Rounds.Descriptor.FullName;
}
