using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Wire;

/// <summary>
/// The client side of the chunked transfer (<c>protocol-spec/coordinator.md</c> §7): a message whose encoding is larger
/// than <see cref="ChunkBytes"/> is uploaded as numbered chunks (after asking what the coordinator already holds, so a
/// submission retried after a dropped connection resumes from the last acknowledged chunk), and a model is downloaded by
/// byte range, pinned to the version the first range names, and checked against the digest before it is decoded.
/// </summary>
public sealed partial class GrpcRoundTransport
{
    /// <summary>Largest model encoding this client downloads (2^31 − 1 bytes, the largest array).</summary>
    private const long MaxModelBytes = int.MaxValue;

    /// <summary>How often one upload re-reads the coordinator's status after a chunk outside its window.</summary>
    private const int MaxResyncs = 8;

    private readonly uint _chunkBytes = TransferFraming.DefaultChunkBytes;

    /// <summary>
    /// The chunk size of uploads and the size above which a message is chunked (default 1 MiB; a power of two from 64 KiB
    /// to 1 MiB). Smaller messages go as one <c>SubmitPhase</c>.
    /// </summary>
    public int ChunkBytes
    {
        get => (int)_chunkBytes;
        init
        {
            if (!TransferFraming.IsValidChunkSize((uint)value))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The chunk size is not a power of two from 64 KiB to 1 MiB.");
            }

            _chunkBytes = (uint)value;
        }
    }

    /// <summary>Model range requests made by this transport (tests and diagnostics).</summary>
    internal int RangeRequests => Volatile.Read(ref _rangeRequests);

    /// <summary>UploadChunk requests made by this transport (tests and diagnostics).</summary>
    internal int ChunkRequests => Volatile.Read(ref _chunkRequests);

    private int _rangeRequests;

    private int _chunkRequests;

    private bool ShouldChunk(ClientToServer message) => message.CalculateSize() > _chunkBytes;

    private async Task<SubmitReply> SubmitChunkedAsync(ulong roundId, Phase phase, ClientToServer message, CancellationToken cancellationToken)
    {
        byte[] payload = message.ToByteArray();
        ByteString digest = ByteString.CopyFrom(TransferFraming.UploadDigest(roundId, phase, _chunkBytes, payload));
        long count = TransferFraming.ChunkCount((ulong)payload.Length, _chunkBytes);
        try
        {
            uint next = await HeldChunksAsync(roundId, phase, payload.Length, digest, cancellationToken).ConfigureAwait(false);
            int resyncs = 0;

            // A complete upload is acknowledged again by re-sending its last chunk (which also returns the deadline).
            for (long index = Math.Min(next, count - 1); index < count; index++)
            {
                int length = TransferFraming.ChunkLength((ulong)payload.Length, _chunkBytes, index);
                var request = new UploadChunkRequest
                {
                    RoundId = roundId,
                    Phase = phase,
                    TotalLength = (ulong)payload.Length,
                    ChunkSize = _chunkBytes,
                    Digest = digest,
                    Index = (uint)index,
                    Data = UnsafeByteOperations.UnsafeWrap(payload.AsMemory(checked((int)(index * _chunkBytes)), length)),
                };
                UploadChunkResponse response;
                Interlocked.Increment(ref _chunkRequests);
                try
                {
                    response = await _channel.InvokeAsync("UploadChunk", o => _channel.Rounds.UploadChunkAsync(request, o), cancellationToken).ConfigureAwait(false);
                }
                catch (RpcException ex) when (TransferStatus.TryParse(ex, out TransferRefusal refusal) && refusal == TransferRefusal.OutOfWindow && resyncs++ < MaxResyncs)
                {
                    // The coordinator lost what this client sent (it restarted, or the upload expired): start where it is.
                    index = Math.Min(await HeldChunksAsync(roundId, phase, payload.Length, digest, cancellationToken).ConfigureAwait(false), count - 1) - 1;
                    continue;
                }

                if (response.Complete)
                {
                    return new SubmitReply(SubmitOutcome.Accepted, RoundRefusal.None, null, FromUnixMs(response.PhaseDeadlineUnixMs));
                }

                if (index == count - 1)
                {
                    // The last chunk went in but the coordinator is missing earlier ones: resend from its prefix.
                    if (resyncs++ >= MaxResyncs)
                    {
                        throw new RpcException(new Status(StatusCode.DataLoss, $"The coordinator holds {response.ReceivedChunks} of {count} chunks after the last one was sent."));
                    }

                    index = (long)response.ReceivedChunks - 1;
                }
            }

            throw new InvalidOperationException("Unreachable: the upload loop ends with the last chunk.");
        }
        catch (RpcException ex) when (RoundStatus.TryParse(ex, out RoundRefusal refusal))
        {
            return new SubmitReply(SubmitOutcome.Refused, refusal, ex.Status.Detail, DateTimeOffset.MinValue);
        }
    }

    /// <summary>The chunks the coordinator holds from 0 (its GetUploadStatus), or the chunk count when it is complete.</summary>
    private async Task<uint> HeldChunksAsync(ulong roundId, Phase phase, int total, ByteString digest, CancellationToken cancellationToken)
    {
        var request = new GetUploadStatusRequest { RoundId = roundId, Phase = phase, TotalLength = (ulong)total, ChunkSize = _chunkBytes, Digest = digest };
        GetUploadStatusResponse status = await _channel.InvokeAsync("GetUploadStatus",
            o => _channel.Rounds.GetUploadStatusAsync(request, o), cancellationToken).ConfigureAwait(false);
        return status.State switch
        {
            GetUploadStatusResponse.Types.State.Complete => (uint)TransferFraming.ChunkCount((ulong)total, _chunkBytes),
            GetUploadStatusResponse.Types.State.InProgress => status.ReceivedChunks,
            _ => 0,
        };
    }

    private async Task<ModelRelease> GetModelByRangesAsync(ulong version, CancellationToken cancellationToken)
    {
        GetModelRangeResponse first = await RangeAsync(version, 0, cancellationToken).ConfigureAwait(false);
        if (first.TotalLength is 0 or > MaxModelBytes || first.Digest.Length != TransferFraming.DigestBytes || first.Version == 0)
        {
            throw new FormatException($"GetModelRange: a model of {first.TotalLength} bytes, version {first.Version}, digest of {first.Digest.Length} bytes.");
        }

        byte[] encoding = GC.AllocateUninitializedArray<byte>((int)first.TotalLength);
        long at = Take(first, encoding, 0);
        while (at < encoding.Length)
        {
            // Pinned to the version the first range named: a release in between does not mix two models.
            GetModelRangeResponse next = await RangeAsync(first.Version, (ulong)at, cancellationToken).ConfigureAwait(false);
            if (next.Version != first.Version || next.TotalLength != first.TotalLength || !next.Digest.Span.SequenceEqual(first.Digest.Span))
            {
                throw new FormatException("GetModelRange: a range of another model than the first one.");
            }

            at = Take(next, encoding, at);
        }

        byte[] digest = TransferFraming.ModelDigest(first.Version, encoding);
        if (!CryptographicOperations.FixedTimeEquals(digest, first.Digest.Span))
        {
            throw new FormatException("GetModelRange: the model does not match its digest.");
        }

        return new ModelRelease(first.Version, first.RoundId, RoundCodec.DecodeModel(encoding), first.Epsilon, first.TotalEpsilon);
    }

    private Task<GetModelRangeResponse> RangeAsync(ulong version, ulong offset, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _rangeRequests);
        var request = new GetModelRangeRequest { Version = version, Offset = offset, Length = TransferFraming.MaxChunkBytes };
        return _channel.InvokeAsync("GetModelRange", o => _channel.Rounds.GetModelRangeAsync(request, o), cancellationToken);
    }

    private static long Take(GetModelRangeResponse range, byte[] encoding, long at)
    {
        if (range.Offset != (ulong)at || range.Data.IsEmpty || range.Data.Length > encoding.Length - at)
        {
            throw new FormatException($"GetModelRange: {range.Data.Length} bytes at {range.Offset}, asked at {at} of {encoding.Length}.");
        }

        range.Data.Span.CopyTo(encoding.AsSpan((int)at));
        return at + range.Data.Length;
    }
}
