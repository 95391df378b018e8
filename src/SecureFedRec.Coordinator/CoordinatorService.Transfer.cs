using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using SecureFedRec.Coordinator.Grpc;
using Microsoft.Extensions.DependencyInjection;
using SecureFedRec.Coordinator.Transfer;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Wire;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Coordinator;

/// <summary>
/// The chunked transfer of <c>Rounds</c> (<c>protocol-spec/coordinator.md</c> §7): <c>UploadChunk</c> assembles a client
/// message too large for one <c>SubmitPhase</c> in <see cref="ChunkedUploads"/> and, once every chunk is held and the whole
/// hashes to the upload's digest, submits it to the round exactly as <c>SubmitPhase</c> does (the round journals the
/// assembled message once, before the acknowledgement); <c>GetModelRange</c> serves a model encoding by byte range,
/// encoded straight from the released values (never the whole encoding at once), with a digest computed once per version.
/// </summary>
internal sealed partial class RoundsService
{
    /// <inheritdoc />
    public override async Task<UploadChunkResponse> UploadChunk(UploadChunkRequest request, ServerCallContext context)
    {
        string caller = await EnrolledCallerAsync(request, context).ConfigureAwait(false);
        ChunkedUploads uploads = Uploads(context);
        ChunkOutcome outcome = uploads.Put(caller, request, () => Admit(caller, request.RoundId, request.Phase));
        uint window = (uint)uploads.Options.Window;
        switch (outcome.Kind)
        {
            case ChunkOutcomeKind.Progress:
                return new UploadChunkResponse { ReceivedChunks = (uint)outcome.Received, Window = window };
            case ChunkOutcomeKind.Complete:
                return new UploadChunkResponse { ReceivedChunks = (uint)outcome.Received, Complete = true, Window = window, PhaseDeadlineUnixMs = DeadlineOf(caller, request.RoundId, request.Phase) };
            case ChunkOutcomeKind.Refused:
                throw outcome.Transfer != TransferRefusal.None
                    ? TransferStatus.ToException(outcome.Transfer, outcome.Detail)
                    : RoundStatus.ToException(outcome.Round, outcome.Detail);
        }

        // Every chunk is held: verify the whole, then submit it as one message (outside the uploads' lock).
        PendingUpload upload = outcome.Upload!;
        byte[] buffer = upload.Buffer ?? throw new InvalidOperationException("An assembled upload without its buffer.");
        ReadOnlyMemory<byte> payload = buffer.AsMemory(SubmitPayloads.HeaderBytes);
        byte[] digest = TransferFraming.UploadDigest(upload.RoundId, upload.Phase, upload.ChunkSize, payload.Span);
        if (!CryptographicOperations.FixedTimeEquals(digest, upload.Digest))
        {
            uploads.Discard(caller, upload);
            throw TransferStatus.ToException(TransferRefusal.DigestMismatch, "The assembled payload does not hash to the upload's digest; the upload is discarded.");
        }

        ClientToServer message;
        try
        {
            // A masked input is decoded in place (its vector aliases the buffer) and journaled as the buffer itself.
            message = SubmitPayloads.TryParseMaskedInput(payload) ?? ClientToServer.Parser.ParseFrom(payload.Span);
        }
        catch (InvalidProtocolBufferException)
        {
            uploads.Discard(caller, upload);
            throw new RpcException(new Status(StatusCode.InvalidArgument, "payload is not a securefedrec.secagg.v1.ClientToServer message."));
        }

        SecureFedRec.Rounds.Server.RoundJournalEntry.UseReceivedEncoding(message, buffer);

        // A store failure throws here: the upload stays assembled and the client's retry of its last chunk submits again.
        SubmitReply reply = await rounds.SubmitAsync(caller, request.RoundId, request.Phase, message, context.CancellationToken).ConfigureAwait(false);
        if (reply.Outcome != SubmitOutcome.Accepted)
        {
            uploads.Discard(caller, upload);
            throw RoundStatus.ToException(reply.Refusal, reply.Detail);
        }

        uploads.MarkComplete(upload);
        return new UploadChunkResponse { ReceivedChunks = (uint)outcome.Received, Complete = true, Window = window, PhaseDeadlineUnixMs = UnixMs(reply.Deadline) };
    }

    /// <inheritdoc />
    public override async Task<GetUploadStatusResponse> GetUploadStatus(GetUploadStatusRequest request, ServerCallContext context)
    {
        string caller = await EnrolledCallerAsync(request, context).ConfigureAwait(false);
        (GetUploadStatusResponse? status, ChunkOutcome refusal) = Uploads(context).Status(caller, request);
        if (status is null)
        {
            throw TransferStatus.ToException(refusal.Transfer, refusal.Detail);
        }

        if (status.State == GetUploadStatusResponse.Types.State.None && Admit(caller, request.RoundId, request.Phase) is { Refusal: not RoundRefusal.None } refused)
        {
            throw RoundStatus.ToException(refused.Refusal, refused.Detail);
        }

        return status;
    }

    /// <inheritdoc />
    public override async Task<GetModelRangeResponse> GetModelRange(GetModelRangeRequest request, ServerCallContext context)
    {
        string caller = SignedMessages.CallerOf(request, context);
        ModelRelease model = await rounds.GetModelAsync(request.Version, context.CancellationToken).ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.NotFound, "No such model version."));
        long total = TransferFraming.ModelEncodingLength(model.Values.Length);
        if (request.Offset >= (ulong)total)
        {
            throw TransferStatus.ToException(TransferRefusal.BeyondTotal, $"offset {request.Offset} is at or beyond the model encoding's {total} bytes.");
        }

        if (request.Length > TransferFraming.MaxChunkBytes)
        {
            throw TransferStatus.ToException(TransferRefusal.ChunkSize, $"length {request.Length} is above {TransferFraming.MaxChunkBytes}.");
        }

        // The response must fit the coordinator's MaxMessageBytes with its other fields: a smaller range is allowed.
        int cap = Math.Max(1, Math.Min(TransferFraming.MaxChunkBytes, Uploads(context).MaxResponseBytes - 256));
        int length = (int)Math.Min(Math.Min(request.Length == 0 ? TransferFraming.MaxChunkBytes : request.Length, cap), total - (long)request.Offset);
        await HoldResponseAsync(context, caller, length).ConfigureAwait(false);
        byte[] data = GC.AllocateUninitializedArray<byte>(length);
        TransferFraming.EncodeModelRange(model.Values, (long)request.Offset, data);
        byte[] digest = Uploads(context).ModelDigests.GetOrAdd(model.Version, _ => new Lazy<byte[]>(() => TransferFraming.ModelDigest(model.Version, (ulong)total, feed =>
        {
            byte[] block = new byte[64 * 1024];
            for (long at = 0; at < total; at += block.Length)
            {
                int n = (int)Math.Min(block.Length, total - at);
                TransferFraming.EncodeModelRange(model.Values, at, block.AsSpan(0, n));
                feed(block.AsSpan(0, n));
            }
        }))).Value;
        return new GetModelRangeResponse
        {
            Version = model.Version,
            RoundId = model.RoundId,
            TotalLength = (ulong)total,
            Digest = ByteString.CopyFrom(digest),
            Offset = request.Offset,
            Data = UnsafeByteOperations.UnsafeWrap(data),
            Epsilon = model.Epsilon,
            TotalEpsilon = model.TotalEpsilon,
        };
    }

    private static ChunkedUploads Uploads(ServerCallContext context) =>
        context.GetHttpContext().RequestServices.GetRequiredService<ChunkedUploads>();

    /// <summary>Whether a new upload may take buffer space: the round is recent, the caller in its cohort and not dropped.</summary>
    private (RoundRefusal Refusal, string? Detail) Admit(string caller, ulong roundId, Phase phase)
    {
        FetchReply reply = rounds.Fetch(caller, roundId, phase);
        return reply.Outcome switch
        {
            FetchOutcome.Refused => (reply.Refusal, null),
            FetchOutcome.Dropped => (RoundRefusal.Dropped, reply.DropReason.ToString()),
            _ => (RoundRefusal.None, null),
        };
    }

    private long DeadlineOf(string caller, ulong roundId, Phase phase) => UnixMs(rounds.Fetch(caller, roundId, phase).Deadline);
}
