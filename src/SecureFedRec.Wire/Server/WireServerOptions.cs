using SecureFedRec.Wire.Internal;

namespace SecureFedRec.Wire.Server;

/// <summary>Limits and clock of the server side of the wire protocol.</summary>
/// <remarks>Immutable after construction of the endpoints; shared by every call.</remarks>
public sealed class WireServerOptions
{
    /// <summary>Largest accepted request message, in bytes (default 4 MiB); larger → RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; init; } = GrpcFraming.DefaultMaxMessageSize;

    /// <summary>Largest response message, in bytes (default 4 MiB); larger → RESOURCE_EXHAUSTED.</summary>
    public int MaxSendMessageSize { get; init; } = GrpcFraming.DefaultMaxMessageSize;

    /// <summary>Clock used for deadlines.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>
/// Checks a call before its request is parsed (signature, allow-list, replay). Throws <see cref="WireException"/> to
/// refuse the call; the exception's status and detail are all the client learns.
/// </summary>
public delegate ValueTask WireAuthenticator(WireCallContext context);
