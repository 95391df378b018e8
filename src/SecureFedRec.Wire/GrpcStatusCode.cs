namespace SecureFedRec.Wire;

/// <summary>
/// The standard gRPC status codes (grpc/grpc doc/statuscodes.md), sent as the decimal <c>grpc-status</c> trailer.
/// </summary>
/// <remarks>Values are fixed by the gRPC specification; never renumber.</remarks>
public enum GrpcStatusCode
{
    /// <summary>Not an error.</summary>
    OK = 0,
    /// <summary>The operation was cancelled, typically by the caller.</summary>
    Cancelled = 1,
    /// <summary>Unknown error, e.g. an unexpected exception in a handler.</summary>
    Unknown = 2,
    /// <summary>The client specified an invalid argument.</summary>
    InvalidArgument = 3,
    /// <summary>The deadline expired before the operation could complete.</summary>
    DeadlineExceeded = 4,
    /// <summary>Some requested entity (round, model version) was not found.</summary>
    NotFound = 5,
    /// <summary>The entity a client attempted to create already exists.</summary>
    AlreadyExists = 6,
    /// <summary>The caller does not have permission (unknown client, bad signature).</summary>
    PermissionDenied = 7,
    /// <summary>A resource has been exhausted (message size limit, quota).</summary>
    ResourceExhausted = 8,
    /// <summary>The system is not in a state required for the operation (wrong phase).</summary>
    FailedPrecondition = 9,
    /// <summary>The operation was aborted (round aborted).</summary>
    Aborted = 10,
    /// <summary>The operation was attempted past the valid range.</summary>
    OutOfRange = 11,
    /// <summary>The operation is not implemented or supported (unknown method, compression).</summary>
    Unimplemented = 12,
    /// <summary>Internal error: a broken invariant of the wire protocol (malformed frame).</summary>
    Internal = 13,
    /// <summary>The service is currently unavailable; a transient condition, retry with backoff.</summary>
    Unavailable = 14,
    /// <summary>Unrecoverable data loss or corruption.</summary>
    DataLoss = 15,
    /// <summary>The request does not have valid authentication credentials.</summary>
    Unauthenticated = 16,
}
