using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using SecureFedRec.Crypto;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.V1;
using RoundsService = SecureFedRec.Wire.V1.Rounds;

namespace SecureFedRec.Wire.Client;

/// <summary>
/// A client's connection to one coordinator: a grpc-dotnet <see cref="GrpcChannel"/> (HTTP/2; h2 over TLS with ALPN for
/// <c>https://</c>, h2c for <c>http://</c> against an --insecure-dev coordinator) with the generated clients of
/// coordinator.proto, the request-signing interceptor, certificate pinning and one retry loop.
/// </summary>
/// <remarks>
/// Thread-safe; one instance per coordinator, shared by all calls. <see cref="InvokeAsync"/> gives each attempt its own
/// deadline (<see cref="CoordinatorChannelOptions.CallTimeout"/>) and retries transient statuses (UNAVAILABLE,
/// DEADLINE_EXCEEDED) with exponential backoff and full jitter from the OS CSPRNG; every other status surfaces as the
/// library's <see cref="RpcException"/>. A refused TLS identity surfaces as <see cref="CoordinatorTlsException"/> naming
/// the failure, and is never retried.
/// </remarks>
public sealed class CoordinatorChannel : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly CoordinatorChannelOptions _options;
    private int _lastTlsFailure;

    /// <summary>Connects (lazily) to <paramref name="address"/>.</summary>
    public CoordinatorChannel(Uri address, CoordinatorChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.Scheme != Uri.UriSchemeHttps && address.Scheme != Uri.UriSchemeHttp)
        {
            throw new ArgumentException("The address must be https:// (or http:// for insecure development).", nameof(address));
        }

        _options = options ?? new CoordinatorChannelOptions();
        Address = address;
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = ValidateServerCertificate },
        };
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = _options.MaxReceiveMessageSize,
            MaxSendMessageSize = _options.MaxSendMessageSize,
        });
        CallInvoker invoker = _options.Authenticator is { } auth
            ? _channel.Intercept(new SigningInterceptor(auth))
            : _channel.CreateCallInvoker();
        Status = new CoordinatorStatus.CoordinatorStatusClient(invoker);
        Membership = new Membership.MembershipClient(invoker);
        Enrolment = new Enrolment.EnrolmentClient(invoker);
        Rounds = new RoundsService.RoundsClient(invoker);
    }

    /// <summary>The coordinator's address.</summary>
    public Uri Address { get; }

    /// <summary>Generated client of <c>CoordinatorStatus</c> (unsigned).</summary>
    public CoordinatorStatus.CoordinatorStatusClient Status { get; }

    /// <summary>Generated client of <c>Membership</c> (unsigned: the signed roster).</summary>
    public Membership.MembershipClient Membership { get; }

    /// <summary>Generated client of <c>Enrolment</c> (signed).</summary>
    public Enrolment.EnrolmentClient Enrolment { get; }

    /// <summary>Generated client of <c>Rounds</c> (signed).</summary>
    public RoundsService.RoundsClient Rounds { get; }

    /// <summary>
    /// Runs one unary call with the retry policy: <paramref name="call"/> is invoked once per attempt with fresh call
    /// options (its own deadline, <paramref name="cancellationToken"/>), so each attempt is signed afresh.
    /// </summary>
    public async Task<TResponse> InvokeAsync<TResponse>(string method, Func<CallOptions, AsyncUnaryCall<TResponse>> call, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        for (int attempt = 1; ; attempt++)
        {
            var options = new CallOptions(deadline: DateTime.UtcNow + _options.CallTimeout, cancellationToken: cancellationToken);
            try
            {
                using AsyncUnaryCall<TResponse> pending = call(options);
                return await pending.ResponseAsync.ConfigureAwait(false);
            }
            catch (RpcException ex) when (IsTlsFailure(ex))
            {
                throw new CoordinatorTlsException((TlsFailure)Math.Max(1, Volatile.Read(ref _lastTlsFailure)), Address, ex);
            }
            catch (RpcException ex) when (IsTransient(ex.StatusCode) && attempt < _options.MaxAttempts && !cancellationToken.IsCancellationRequested)
            {
                TimeSpan delay = Backoff.Delay(attempt, _options.InitialBackoff, _options.MaxBackoff, RandomSource.System);
                _options.OnRetry?.Invoke(method, ex.StatusCode, attempt, delay);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Whether a status may succeed when retried (UNAVAILABLE, DEADLINE_EXCEEDED; never a TLS refusal).</summary>
    public static bool IsTransient(StatusCode code) => code is StatusCode.Unavailable or StatusCode.DeadlineExceeded;

    private static bool IsTlsFailure(RpcException ex)
    {
        for (Exception? e = ex.Status.DebugException; e is not null; e = e.InnerException)
        {
            if (e is AuthenticationException)
            {
                return true;
            }
        }

        return false;
    }

    private bool ValidateServerCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        TlsFailure? failure;
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            failure = TlsFailure.NoCertificate;
        }
        else if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            failure = TlsFailure.NameMismatch;
        }
        else if (_options.Pin is { } pin)
        {
            // The pin decides, whatever the chain says: a trusted but unpinned certificate is refused.
            failure = pin.Matches(certificate) ? null : TlsFailure.PinMismatch;
        }
        else
        {
            failure = errors == SslPolicyErrors.None ? null : TlsFailure.Untrusted;
        }

        if (failure is { } f)
        {
            Volatile.Write(ref _lastTlsFailure, (int)f);
            return false;
        }

        return true;
    }

    /// <inheritdoc />
    public void Dispose() => _channel.Dispose();
}

/// <summary>Settings of a <see cref="CoordinatorChannel"/>.</summary>
/// <remarks>Immutable once the channel is built.</remarks>
public sealed class CoordinatorChannelOptions
{
    /// <summary>
    /// The coordinator identity to pin (leaf certificate or SPKI SHA-256). Null: the machine's trust store alone decides.
    /// </summary>
    public CertificatePin? Pin { get; init; }

    /// <summary>Signs every Enrolment and Rounds call (null: unsigned, only CoordinatorStatus will answer).</summary>
    public IRequestAuthenticator? Authenticator { get; init; }

    /// <summary>Largest accepted response message, in bytes (default 4 MiB; larger → RESOURCE_EXHAUSTED).</summary>
    public int MaxReceiveMessageSize { get; init; } = CoordinatorProtocol.DefaultMaxMessageBytes;

    /// <summary>Largest request message, in bytes (default 4 MiB; larger → RESOURCE_EXHAUSTED before sending).</summary>
    public int MaxSendMessageSize { get; init; } = CoordinatorProtocol.DefaultMaxMessageBytes;

    /// <summary>Deadline of each attempt of a call (default 15 s).</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Attempts of one call on transient statuses (default 6).</summary>
    public int MaxAttempts { get; init; } = 6;

    /// <summary>First backoff delay (default 200 ms); doubles per attempt up to <see cref="MaxBackoff"/>, with jitter.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Largest backoff delay (default 5 s).</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Told about each retry: method, status, attempt number, delay (logging).</summary>
    public Action<string, StatusCode, int, TimeSpan>? OnRetry { get; init; }
}

/// <summary>Exponential backoff with jitter (delay uniform in [cap/2, cap], cap = min(max, initial·2^(attempt−1))).</summary>
internal static class Backoff
{
    /// <summary>The delay before retry number <paramref name="attempt"/> (1-based), drawn from <paramref name="rng"/>.</summary>
    public static TimeSpan Delay(int attempt, TimeSpan initial, TimeSpan max, RandomSource rng)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        ArgumentNullException.ThrowIfNull(rng);
        long capTicks = initial.Ticks;
        for (int i = 1; i < attempt && capTicks < max.Ticks; i++)
        {
            capTicks *= 2;
        }

        capTicks = Math.Min(capTicks, max.Ticks);
        long half = capTicks / 2;
        return TimeSpan.FromTicks(half + (long)rng.NextBelow((ulong)(capTicks - half) + 1));
    }
}
