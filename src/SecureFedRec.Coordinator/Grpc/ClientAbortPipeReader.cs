using System.IO.Pipelines;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace SecureFedRec.Coordinator.Grpc;

/// <summary>
/// A gRPC call's request body with a broken stream reported as a gRPC status instead of an <see cref="IOException"/>.
/// Kestrel fails the body of a stream the client reset at once, but signals <c>RequestAborted</c> later, from the thread
/// pool; grpc-dotnet logs an <see cref="IOException"/> out of a call at Error, with its stack trace, unless
/// <c>RequestAborted</c> is already signalled, so a client's reset raced into the log as a coordinator error. An
/// <see cref="RpcException"/> is logged at Information. A reset or abort becomes CANCELLED; Kestrel's own refusals of a
/// body keep their meaning (408 → DEADLINE_EXCEEDED, 413 → RESOURCE_EXHAUSTED, any other → INVALID_ARGUMENT).
/// </summary>
/// <remarks>One instance per call, installed by <see cref="SignedRequestMiddleware"/>; not thread-safe (nor is a PipeReader).</remarks>
internal sealed class ClientAbortPipeReader(PipeReader inner) : PipeReader, IRequestBodyPipeFeature
{
    /// <inheritdoc />
    PipeReader IRequestBodyPipeFeature.Reader => this;

    /// <summary>Makes this reader the body grpc-dotnet reads (<c>HttpRequest.BodyReader</c>).</summary>
    public static void Install(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Features.Set<IRequestBodyPipeFeature>(new ClientAbortPipeReader(context.Request.BodyReader));
    }

    /// <summary>The gRPC status for a body read that failed with <paramref name="ex"/>.</summary>
    public static RpcException Translate(IOException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        Status status = ex is BadHttpRequestException bad
            ? bad.StatusCode switch
            {
                StatusCodes.Status408RequestTimeout => new Status(StatusCode.DeadlineExceeded, "The request body arrived too slowly.", ex),
                StatusCodes.Status413PayloadTooLarge => new Status(StatusCode.ResourceExhausted, "The request body is too large.", ex),
                _ => new Status(StatusCode.InvalidArgument, "The request body is malformed.", ex),
            }
            : new Status(StatusCode.Cancelled, "The client reset or aborted the request stream.", ex);
        return new RpcException(status);
    }

    /// <inheritdoc />
    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        ValueTask<ReadResult> read;
        try
        {
            read = inner.ReadAsync(cancellationToken);
        }
        catch (IOException ex)
        {
            throw Translate(ex);
        }

        return read.IsCompletedSuccessfully ? read : Awaited(read);
    }

    /// <inheritdoc />
    protected override ValueTask<ReadResult> ReadAtLeastAsyncCore(int minimumSize, CancellationToken cancellationToken)
    {
        ValueTask<ReadResult> read;
        try
        {
            read = inner.ReadAtLeastAsync(minimumSize, cancellationToken);
        }
        catch (IOException ex)
        {
            throw Translate(ex);
        }

        return read.IsCompletedSuccessfully ? read : Awaited(read);
    }

    /// <inheritdoc />
    public override bool TryRead(out ReadResult result)
    {
        try
        {
            return inner.TryRead(out result);
        }
        catch (IOException ex)
        {
            throw Translate(ex);
        }
    }

    /// <inheritdoc />
    public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

    /// <inheritdoc />
    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

    /// <inheritdoc />
    public override void CancelPendingRead() => inner.CancelPendingRead();

    /// <inheritdoc />
    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    /// <inheritdoc />
    public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

    private static async ValueTask<ReadResult> Awaited(ValueTask<ReadResult> read)
    {
        try
        {
            return await read.ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw Translate(ex);
        }
    }
}
