using System.Security.Cryptography.X509Certificates;
using SecureFedRec.Wire.Internal;

namespace SecureFedRec.Wire.Client;

/// <summary>Connection settings of a <see cref="WireChannel"/>.</summary>
/// <remarks>Immutable once the channel is built.</remarks>
public sealed class WireChannelOptions
{
    /// <summary>
    /// A server certificate to trust in addition to the system roots (a coordinator's self-signed certificate, pinned by
    /// its SHA-256 hash). Null: system trust only.
    /// </summary>
    public X509Certificate2? TrustedServerCertificate { get; init; }

    /// <summary>Largest accepted response message, in bytes (default 4 MiB).</summary>
    public int MaxReceiveMessageSize { get; init; } = GrpcFraming.DefaultMaxMessageSize;

    /// <summary>Largest request message, in bytes (default 4 MiB).</summary>
    public int MaxSendMessageSize { get; init; } = GrpcFraming.DefaultMaxMessageSize;

    /// <summary>Deadline applied to calls that do not set their own (default 30 s).</summary>
    public TimeSpan DefaultTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Adds authentication metadata to each request (null: no authentication).</summary>
    public IRequestAuthenticator? Authenticator { get; init; }

    /// <summary>A handler to use instead of the default <see cref="SocketsHttpHandler"/> (tests, proxies).</summary>
    public HttpMessageHandler? Handler { get; init; }
}

/// <summary>Produces the authentication metadata of one request.</summary>
/// <remarks>Implementations must be thread-safe: a channel calls them concurrently.</remarks>
public interface IRequestAuthenticator
{
    /// <summary>Headers to add to the call of <paramref name="method"/> carrying <paramref name="requestBytes"/>.</summary>
    IReadOnlyList<KeyValuePair<string, string>> CreateHeaders(string method, ReadOnlySpan<byte> requestBytes);
}
