using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using SecureFedRec.Crypto;
using SecureFedRec.Wire.Auth;
using SecureFedRec.Wire.V1;
using OperationsService = SecureFedRec.Wire.Operations.V1.Operations;
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
        Operations = new OperationsService.OperationsClient(invoker);
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

    /// <summary>Generated client of the operator API <c>Operations</c> (operations.proto; signed with an operator key).</summary>
    public OperationsService.OperationsClient Operations { get; }

    /// <summary>
    /// Runs one unary call with the retry policy: <paramref name="call"/> is invoked once per attempt with fresh call
    /// options (its own deadline, <paramref name="cancellationToken"/>), so each attempt is signed afresh. Transient
    /// failures (the coordinator down, restarting or unreachable) are retried with exponential backoff and CSPRNG jitter
    /// for as long as <see cref="CoordinatorChannelOptions.Patience"/> and <see cref="CoordinatorChannelOptions.MaxAttempts"/>
    /// allow (by default: until the coordinator answers or <paramref name="cancellationToken"/> is cancelled), reporting
    /// progress through <see cref="CoordinatorChannelOptions.OnWaiting"/>. When patience runs out the last failure
    /// surfaces, its detail saying how long and how often the call was tried.
    /// </summary>
    public async Task<TResponse> InvokeAsync<TResponse>(string method, Func<CallOptions, AsyncUnaryCall<TResponse>> call, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        TimeSpan lastReport = TimeSpan.MinValue;
        for (int attempt = 1; ; attempt++)
        {
            var options = new CallOptions(deadline: DateTime.UtcNow + _options.CallTimeout, cancellationToken: cancellationToken);
            try
            {
                using AsyncUnaryCall<TResponse> pending = call(options);
                TResponse response = await pending.ResponseAsync.ConfigureAwait(false);
                if (attempt > 1)
                {
                    _options.OnWaiting?.Invoke(new CoordinatorWait(method, StatusCode.OK, null, attempt, System.Diagnostics.Stopwatch.GetElapsedTime(started), TimeSpan.Zero, _options.Patience, Answered: true));
                }

                return response;
            }
            catch (RpcException ex) when (IsTlsFailure(ex))
            {
                throw new CoordinatorTlsException((TlsFailure)Math.Max(1, Volatile.Read(ref _lastTlsFailure)), Address, ex);
            }
            catch (RpcException ex) when ((IsTransient(ex.StatusCode) || IsClosedConnection(ex)) && !cancellationToken.IsCancellationRequested)
            {
                TimeSpan waited = System.Diagnostics.Stopwatch.GetElapsedTime(started);
                TimeSpan delay = Backoff.Delay(attempt, _options.InitialBackoff, _options.MaxBackoff, RandomSource.System);
                bool unlimited = _options.Patience == Timeout.InfiniteTimeSpan;
                bool attemptsLeft = _options.MaxAttempts == 0 || attempt < _options.MaxAttempts;
                if (!attemptsLeft || (!unlimited && waited >= _options.Patience))
                {
                    throw GaveUp(ex, method, attempt, waited);
                }

                if (!unlimited && waited + delay > _options.Patience)
                {
                    delay = _options.Patience - waited; // one last attempt exactly when patience ends
                }

                _options.OnRetry?.Invoke(method, ex.StatusCode, attempt, delay);
                if (_options.OnWaiting is { } onWaiting && (attempt == 1 || waited - lastReport >= _options.ProgressInterval))
                {
                    lastReport = waited;
                    onWaiting(new CoordinatorWait(method, ex.StatusCode, ex.Status.Detail, attempt, waited, delay, _options.Patience, Answered: false));
                }

                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The failure that ends a call whose patience or attempts ran out: the last status, saying so.</summary>
    private RpcException GaveUp(RpcException last, string method, int attempts, TimeSpan waited)
    {
        if (attempts == 1)
        {
            return last;
        }

        string detail = $"{method} to {Address} failed {attempts} times over {waited.TotalSeconds:F1} s (patience "
            + (_options.Patience == Timeout.InfiniteTimeSpan ? "unlimited" : _options.Patience.TotalSeconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + " s")
            + (_options.MaxAttempts > 0 ? $", at most {_options.MaxAttempts} attempts" : string.Empty) + "); last: " + last.Status.Detail;
        return new RpcException(new Status(last.StatusCode, detail, last.Status.DebugException), last.Trailers);
    }

    /// <summary>Whether a status may succeed when retried (UNAVAILABLE, DEADLINE_EXCEEDED; never a TLS refusal).</summary>
    public static bool IsTransient(StatusCode code) => code is StatusCode.Unavailable or StatusCode.DeadlineExceeded;

    /// <summary>
    /// A call that never started because the coordinator closed the HTTP/2 connection (a graceful GOAWAY, NO_ERROR, as
    /// Kestrel sends when it stops or restarts; or the connection reset under the request): grpc-dotnet reports it as
    /// INTERNAL "Error starting gRPC call". Safe to retry: every Rounds/Enrolment RPC is idempotent (a resubmission of the
    /// identical bytes is acknowledged again).
    /// </summary>
    internal static bool IsClosedConnection(RpcException ex)
    {
        if (ex.StatusCode != StatusCode.Internal)
        {
            return false;
        }

        for (Exception? e = ex.Status.DebugException; e is not null; e = e.InnerException)
        {
            if (e is System.Net.Http.HttpProtocolException { ErrorCode: 0 }
                || e is System.Net.Http.HttpRequestException { HttpRequestError: System.Net.Http.HttpRequestError.ConnectionError })
            {
                return true;
            }
        }

        return false;
    }

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

    /// <summary>
    /// Most attempts of one call on transient statuses (default 0: no limit, <see cref="Patience"/> decides; 1: no
    /// retry).
    /// </summary>
    public int MaxAttempts
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            field = value;
        }
    }

    /// <summary>
    /// How long one call keeps retrying transient failures, from its first attempt (default
    /// <see cref="Timeout.InfiniteTimeSpan"/>: until the coordinator answers or the call is cancelled — a client waits
    /// through a coordinator restart of any length).
    /// </summary>
    public TimeSpan Patience
    {
        get;
        init
        {
            if (value != Timeout.InfiniteTimeSpan)
            {
                ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            }

            field = value;
        }
    } = Timeout.InfiniteTimeSpan;

    /// <summary>Least time between two progress reports while a call waits (<see cref="OnWaiting"/>; default 30 s; the first retry is always reported).</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Told how a waiting call progresses: at its first retry, then every <see cref="ProgressInterval"/>, and when the coordinator answers again (logging).</summary>
    public Action<CoordinatorWait>? OnWaiting { get; init; }

    /// <summary>First backoff delay (default 200 ms); doubles per attempt up to <see cref="MaxBackoff"/>, with jitter.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Largest backoff delay (default 5 s).</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Told about each retry: method, status, attempt number, delay (logging).</summary>
    public Action<string, StatusCode, int, TimeSpan>? OnRetry { get; init; }
}

/// <summary>Progress of a call waiting for the coordinator (<see cref="CoordinatorChannelOptions.OnWaiting"/>).</summary>
/// <param name="Method">The RPC.</param>
/// <param name="Status">The last failure's status (OK once answered).</param>
/// <param name="Detail">The last failure's detail (e.g. the connection error), null once answered.</param>
/// <param name="Attempt">Attempts made so far.</param>
/// <param name="Waited">Time since the first attempt.</param>
/// <param name="NextDelay">Delay before the next attempt (zero once answered).</param>
/// <param name="Patience">The configured patience (<see cref="Timeout.InfiniteTimeSpan"/>: unlimited).</param>
/// <param name="Answered">True when this report says the coordinator answered after retries.</param>
public sealed record CoordinatorWait(string Method, StatusCode Status, string? Detail, int Attempt, TimeSpan Waited, TimeSpan NextDelay, TimeSpan Patience, bool Answered);

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
