using System.Buffers;
using System.IO.Pipelines;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using SecureFedRec.Coordinator.Grpc;

namespace SecureFedRec.Wire.Tests;

/// <summary>
/// A broken request body reaches grpc-dotnet as a gRPC status, never as an IOException it would log at Error: the
/// reader the coordinator installs on every gRPC call, on a real pipe whose writer fails the way Kestrel fails a reset
/// stream's body.
/// </summary>
public sealed class ClientAbortPipeReaderTests
{
    [Fact]
    public async Task A_reset_stream_is_cancelled_whether_it_fails_before_or_during_the_read()
    {
        // Failed before the read: the prefix arrived, then the pipe was completed with the error.
        var before = new Pipe();
        await before.Writer.WriteAsync(new byte[] { 0, 0, 0, 0, 4 });
        var reader = new ClientAbortPipeReader(before.Reader);
        ReadResult first = await reader.ReadAsync();
        Assert.Equal(5, first.Buffer.Length);
        reader.AdvanceTo(first.Buffer.End);
        before.Writer.Complete(new IOException("The client reset the request stream."));
        RpcException early = await Assert.ThrowsAsync<RpcException>(async () => await reader.ReadAsync());
        Assert.Equal(StatusCode.Cancelled, early.StatusCode);
        Assert.IsType<IOException>(early.Status.DebugException);

        // Failed while the read waits.
        var during = new Pipe();
        var waiting = new ClientAbortPipeReader(during.Reader);
        ValueTask<ReadResult> pending = waiting.ReadAtLeastAsync(5);
        Assert.False(pending.IsCompleted);
        during.Writer.Complete(new IOException("The client reset the request stream."));
        RpcException late = await Assert.ThrowsAsync<RpcException>(async () => await pending);
        Assert.Equal(StatusCode.Cancelled, late.StatusCode);

        var tried = new Pipe();
        tried.Writer.Complete(new IOException("aborted"));
        var probe = new ClientAbortPipeReader(tried.Reader);
        Assert.Equal(StatusCode.Cancelled, Assert.Throws<RpcException>(() => probe.TryRead(out _)).StatusCode);
    }

    [Theory]
    [InlineData(StatusCodes.Status408RequestTimeout, StatusCode.DeadlineExceeded)]
    [InlineData(StatusCodes.Status413PayloadTooLarge, StatusCode.ResourceExhausted)]
    [InlineData(StatusCodes.Status400BadRequest, StatusCode.InvalidArgument)]
    public void Kestrels_own_refusals_of_a_body_keep_their_meaning(int http, StatusCode expected)
    {
        RpcException translated = ClientAbortPipeReader.Translate(new BadHttpRequestException("refused", http));
        Assert.Equal(expected, translated.StatusCode);
        Assert.DoesNotContain("refused", translated.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_healthy_body_reads_through_unchanged_and_other_errors_pass_as_they_are()
    {
        var pipe = new Pipe();
        var reader = new ClientAbortPipeReader(pipe.Reader);
        await pipe.Writer.WriteAsync(new byte[] { 1, 2, 3 });
        await pipe.Writer.CompleteAsync();
        ReadResult all = await reader.ReadAtLeastAsync(3);
        Assert.Equal(new byte[] { 1, 2, 3 }, all.Buffer.ToArray());
        Assert.True(all.IsCompleted);
        reader.AdvanceTo(all.Buffer.End);
        await reader.CompleteAsync();

        var cancelled = new Pipe();
        var waiting = new ClientAbortPipeReader(cancelled.Reader);
        using var cts = new CancellationTokenSource();
        ValueTask<ReadResult> pending = waiting.ReadAsync(cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pending);

        var other = new Pipe();
        other.Writer.Complete(new InvalidOperationException("not a stream failure"));
        var passing = new ClientAbortPipeReader(other.Reader);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await passing.ReadAsync());
    }
}
