using Grpc.Core;
using SecureFedRec.Wire;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Coordinator.Grpc;

/// <summary>The chunked-transfer methods of <c>Rounds</c> (coordinator.md §7), bound with the signed-request marshallers.</summary>
internal abstract partial class SignedRoundsBase
{
    // A chunk request carries at most one 1 MiB chunk and its header: its own limit, whatever MaxMessageBytes is.
    private static readonly Method<UploadChunkRequest, UploadChunkResponse> s_uploadChunk =
        SignedMessages.Unary<UploadChunkRequest, UploadChunkResponse>(Wire.V1.Rounds.Descriptor, "UploadChunk", UploadChunkRequest.Parser, TransferFraming.MaxChunkRequestBytes);

    private static readonly Method<GetUploadStatusRequest, GetUploadStatusResponse> s_uploadStatus =
        SignedMessages.Unary<GetUploadStatusRequest, GetUploadStatusResponse>(Wire.V1.Rounds.Descriptor, "GetUploadStatus", GetUploadStatusRequest.Parser, CoordinatorProtocol.SmallMessageBytes);

    private static readonly Method<GetModelRangeRequest, GetModelRangeResponse> s_modelRange =
        SignedMessages.Unary<GetModelRangeRequest, GetModelRangeResponse>(Wire.V1.Rounds.Descriptor, "GetModelRange", GetModelRangeRequest.Parser, CoordinatorProtocol.SmallMessageBytes);

    /// <summary><c>UploadChunk</c>.</summary>
    public abstract Task<UploadChunkResponse> UploadChunk(UploadChunkRequest request, ServerCallContext context);

    /// <summary><c>GetUploadStatus</c>.</summary>
    public abstract Task<GetUploadStatusResponse> GetUploadStatus(GetUploadStatusRequest request, ServerCallContext context);

    /// <summary><c>GetModelRange</c>.</summary>
    public abstract Task<GetModelRangeResponse> GetModelRange(GetModelRangeRequest request, ServerCallContext context);

    private static void BindTransfer(ServiceBinderBase binder, SignedRoundsBase? service)
    {
        binder.AddMethod(s_uploadChunk, service is null ? null : service.UploadChunk);
        binder.AddMethod(s_uploadStatus, service is null ? null : service.GetUploadStatus);
        binder.AddMethod(s_modelRange, service is null ? null : service.GetModelRange);
    }
}
