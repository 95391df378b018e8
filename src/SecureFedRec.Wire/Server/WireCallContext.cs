using Microsoft.AspNetCore.Http;

namespace SecureFedRec.Wire.Server;

/// <summary>
/// What a unary handler knows about its call: the method path, the raw request bytes (for request signatures),
/// request metadata, the deadline and a token that fires at the deadline or when the client goes away.
/// </summary>
/// <remarks>One instance per call; not thread-safe. Header values are client-controlled input.</remarks>
public sealed class WireCallContext
{
    internal WireCallContext(string method, HttpContext httpContext, ReadOnlyMemory<byte> requestBytes, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        Method = method;
        HttpContext = httpContext;
        RequestBytes = requestBytes;
        Deadline = deadline;
        CancellationToken = cancellationToken;
    }

    /// <summary>The gRPC method path, e.g. <c>/securefedrec.coordinator.v1.Enrolment/Enrol</c>.</summary>
    public string Method { get; }

    /// <summary>The underlying ASP.NET Core context (connection info, TLS state).</summary>
    public HttpContext HttpContext { get; }

    /// <summary>The serialized request message exactly as received (without the 5-byte prefix).</summary>
    public ReadOnlyMemory<byte> RequestBytes { get; }

    /// <summary>The call's deadline from <c>grpc-timeout</c>, or null when the client set none.</summary>
    public DateTimeOffset? Deadline { get; }

    /// <summary>Cancelled at the deadline or when the client aborts the call.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>An ASCII metadata value, or null when absent or repeated.</summary>
    public string? GetHeader(string name)
    {
        var values = HttpContext.Request.Headers[name];
        return values.Count == 1 ? values[0] : null;
    }

    /// <summary>
    /// A binary (<c>-bin</c>) metadata value: base64, padded or not (gRPC allows both). Null when absent, repeated or
    /// not valid base64.
    /// </summary>
    public byte[]? GetBinaryHeader(string name)
    {
        if (!name.EndsWith("-bin", StringComparison.Ordinal))
        {
            throw new ArgumentException("Binary metadata names end in -bin.", nameof(name));
        }

        string? value = GetHeader(name);
        if (value is null)
        {
            return null;
        }

        string padded = (value.Length % 4) switch
        {
            2 => value + "==",
            3 => value + "=",
            _ => value,
        };
        try
        {
            return Convert.FromBase64String(padded);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
