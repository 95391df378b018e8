namespace SecureFedRec.Wire;

/// <summary>
/// A gRPC call that ended with a non-OK status. Thrown by <see cref="Client.WireChannel"/> on the client side, and
/// thrown by server handlers to end a call with a given status and message.
/// </summary>
/// <remarks>
/// <see cref="Detail"/> travels as the percent-encoded <c>grpc-message</c> trailer (gRPC over HTTP/2 spec), so it
/// must never contain secrets; server code sends fixed, generic texts.
/// </remarks>
public sealed class WireException : Exception
{
    /// <summary>Creates an exception for <paramref name="statusCode"/> with a human-readable detail.</summary>
    public WireException(GrpcStatusCode statusCode, string detail)
        : base(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{statusCode}: {detail}"))
    {
        StatusCode = statusCode;
        Detail = detail;
    }

    /// <summary>Creates an exception for <paramref name="statusCode"/> with a detail and an inner cause.</summary>
    public WireException(GrpcStatusCode statusCode, string detail, Exception innerException)
        : base(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{statusCode}: {detail}"), innerException)
    {
        StatusCode = statusCode;
        Detail = detail;
    }

    /// <summary>The gRPC status of the call.</summary>
    public GrpcStatusCode StatusCode { get; }

    /// <summary>The status message (the decoded <c>grpc-message</c>).</summary>
    public string Detail { get; }

    /// <summary>Whether a retry with backoff may succeed (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED is not).</summary>
    public bool IsTransient => StatusCode is GrpcStatusCode.Unavailable or GrpcStatusCode.DeadlineExceeded;
}
