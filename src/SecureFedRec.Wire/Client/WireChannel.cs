using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using SecureFedRec.Wire.Internal;
using SecureFedRec.Wire.Server;

namespace SecureFedRec.Wire.Client;

/// <summary>
/// The client half of the gRPC wire protocol for unary calls, on <see cref="HttpClient"/> over HTTP/2
/// (<c>HttpVersion 2.0</c>, <see cref="HttpVersionPolicy.RequestVersionExact"/>: h2 over TLS with ALPN for
/// <c>https://</c>, prior-knowledge h2c for <c>http://</c>).
/// </summary>
/// <remarks>
/// Thread-safe; one channel per coordinator, shared by all calls. Every failure surfaces as a
/// <see cref="WireException"/> with a gRPC status: the server's <c>grpc-status</c>, DEADLINE_EXCEEDED at the local
/// deadline, UNAVAILABLE when the connection fails, INTERNAL for a malformed response, RESOURCE_EXHAUSTED for a
/// response above the limit, and the HTTP→gRPC mapping of the spec for non-200 responses.
/// </remarks>
public sealed class WireChannel : IDisposable
{
    private readonly HttpClient _http;
    private readonly WireChannelOptions _options;

    /// <summary>Creates a channel to <paramref name="address"/> (scheme https, or http for h2c in development).</summary>
    public WireChannel(Uri address, WireChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.Scheme != Uri.UriSchemeHttps && address.Scheme != Uri.UriSchemeHttp)
        {
            throw new ArgumentException("The address must be https:// (or http:// for insecure development).", nameof(address));
        }

        _options = options ?? new WireChannelOptions();
        HttpMessageHandler handler = _options.Handler ?? CreateHandler(_options.TrustedServerCertificate);
        _http = new HttpClient(handler, disposeHandler: _options.Handler is null)
        {
            BaseAddress = address,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        Address = address;
    }

    /// <summary>The coordinator's address.</summary>
    public Uri Address { get; }

    /// <summary>Calls a unary method and returns its response, or throws <see cref="WireException"/>.</summary>
    public async Task<TResponse> CallAsync<TRequest, TResponse>(
        MethodDescriptor method, TRequest request, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(request);
        string path = WireEndpoints.PathOf(method);
        byte[] payload = request.ToByteArray();
        if (payload.Length > _options.MaxSendMessageSize)
        {
            throw new WireException(GrpcStatusCode.ResourceExhausted, "Request message larger than the maximum message size.");
        }

        TimeSpan effectiveTimeout = timeout ?? _options.DefaultTimeout;
        using var deadline = new CancellationTokenSource(effectiveTimeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(path.TrimStart('/'), UriKind.Relative))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(GrpcFraming.Frame(payload)),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue(GrpcFraming.ContentType);
        message.Headers.TryAddWithoutValidation("te", "trailers");
        message.Headers.TryAddWithoutValidation(GrpcFraming.TimeoutHeader, GrpcFraming.FormatTimeout(effectiveTimeout));
        if (_options.Authenticator is { } authenticator)
        {
            foreach ((string name, string value) in authenticator.CreateHeaders(path, payload))
            {
                message.Headers.TryAddWithoutValidation(name, value);
            }
        }

        try
        {
            using HttpResponseMessage response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, linked.Token)
                .ConfigureAwait(false);
            byte[] body = await ReadResponseAsync(response, linked.Token).ConfigureAwait(false);
            var result = new TResponse();
            try
            {
                result.MergeFrom(body);
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw new WireException(GrpcStatusCode.Internal, "Failed to deserialize response message.", ex);
            }

            return result;
        }
        catch (OperationCanceledException ex) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new WireException(GrpcStatusCode.DeadlineExceeded, "Deadline exceeded.", ex);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new WireException(GrpcStatusCode.Cancelled, "Call cancelled.", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new WireException(GrpcStatusCode.Unavailable, "Connection to the coordinator failed.", ex);
        }
        catch (IOException ex)
        {
            throw new WireException(GrpcStatusCode.Unavailable, "Connection to the coordinator was lost.", ex);
        }
    }

    private async Task<byte[]> ReadResponseAsync(HttpResponseMessage response, CancellationToken token)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new WireException(GrpcFraming.FromHttpStatus((int)response.StatusCode),
                "HTTP status " + ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (!GrpcFraming.IsGrpcContentType(response.Content.Headers.ContentType?.MediaType))
        {
            throw new WireException(GrpcStatusCode.Unknown, "Response Content-Type is not application/grpc.");
        }

        // Trailers-only response: the status is in the headers and there is no message.
        if (TryGetStatus(response.Headers, out GrpcStatusCode headerStatus, out string headerMessage))
        {
            throw headerStatus == GrpcStatusCode.OK
                ? new WireException(GrpcStatusCode.Internal, "OK status without a response message.")
                : new WireException(headerStatus, headerMessage);
        }

        Stream stream = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            byte[] header = new byte[GrpcFraming.HeaderSize];
            int length = await ReadAtMostAsync(stream, header, token).ConfigureAwait(false);
            byte[] body = header;
            bool atEnd = length < GrpcFraming.HeaderSize;
            if (!atEnd)
            {
                uint declared = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1));
                if (declared > (uint)_options.MaxReceiveMessageSize)
                {
                    throw new WireException(GrpcStatusCode.ResourceExhausted, "Response message larger than the maximum message size.");
                }

                // +1: one byte past the declared end detects trailing data; a shorter read means the stream ended.
                body = new byte[GrpcFraming.HeaderSize + (int)declared + 1];
                header.CopyTo(body, 0);
                length += await ReadAtMostAsync(stream, body.AsMemory(GrpcFraming.HeaderSize), token).ConfigureAwait(false);
                atEnd = length < body.Length;
            }

            // At the end of the stream the trailers are known, and a non-OK status wins over any framing problem.
            if (atEnd)
            {
                ThrowUnlessOk(response);
            }

            FrameResult frame = GrpcFraming.ParseSingle(body.AsSpan(0, length), _options.MaxReceiveMessageSize,
                response.Headers.TryGetValues(GrpcFraming.EncodingHeader, out var enc) ? enc.FirstOrDefault() : null, out Range payload);
            if (!frame.IsOk)
            {
                throw new WireException(frame.Status, frame.Message);
            }

            return body[payload];
        }
    }

    /// <summary>Throws for a non-OK or missing status in the trailers.</summary>
    private static void ThrowUnlessOk(HttpResponseMessage response)
    {
        if (!TryGetStatus(response.TrailingHeaders, out GrpcStatusCode status, out string text))
        {
            throw new WireException(GrpcStatusCode.Internal, "Response ended without grpc-status.");
        }

        if (status != GrpcStatusCode.OK)
        {
            throw new WireException(status, text);
        }
    }

    private static bool TryGetStatus(HttpHeaders headers, out GrpcStatusCode status, out string message)
    {
        status = GrpcStatusCode.Unknown;
        message = string.Empty;
        if (!headers.TryGetValues(GrpcFraming.StatusHeader, out IEnumerable<string>? values))
        {
            return false;
        }

        status = GrpcFraming.ParseStatus(values.FirstOrDefault());
        if (headers.TryGetValues(GrpcFraming.MessageHeader, out IEnumerable<string>? messages))
        {
            message = GrpcFraming.DecodeMessage(messages.FirstOrDefault());
        }

        return true;
    }

    private static async Task<int> ReadAtMostAsync(Stream stream, Memory<byte> buffer, CancellationToken token)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer[total..], token).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    private static SocketsHttpHandler CreateHandler(X509Certificate2? trusted)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
        };
        if (trusted is not null)
        {
            byte[] pinned = SHA256.HashData(trusted.RawData);
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (errors == SslPolicyErrors.None)
                    {
                        return true;
                    }

                    // Pinned self-signed certificate: accept exactly that certificate, with a matching host name.
                    return certificate is not null
                        && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0
                        && CryptographicOperations.FixedTimeEquals(SHA256.HashData(certificate.GetRawCertData()), pinned);
                },
            };
        }

        return handler;
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
