using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Prometheus;
using SecureFedRec.Coordinator.Grpc;
using SecureFedRec.Coordinator.Storage;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Wire;
using SecureFedRec.Wire.Tls;

namespace SecureFedRec.Coordinator;

/// <summary>
/// A running coordinator: Kestrel (h2 over TLS with ALPN; h2c only with <see cref="CoordinatorOptions.InsecureDev"/>)
/// serving the coordinator.proto services through grpc-dotnet (<c>MapGrpcService</c>), grpc.health.v1 (a store query),
/// server reflection, <c>/healthz</c> (the same health check) and <c>/metrics</c>, the round driver, the store and the
/// ledger. The round RPCs call the <see cref="IRoundService"/> registered in the host's services (the
/// <see cref="RoundEngine"/> here).
/// </summary>
/// <remarks>
/// Start with <see cref="StartAsync(CoordinatorOptions, Action{ILoggingBuilder}?, TimeProvider?, CancellationToken)"/>, stop with <see cref="DisposeAsync"/>. Start-up refuses invalid configuration
/// (<see cref="ArgumentException"/>), an unreadable certificate, a corrupt ledger (<see cref="LedgerCorruptException"/>)
/// and a store with another schema (<see cref="StoreConflictException"/>).
/// </remarks>
public sealed class CoordinatorHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ICoordinatorStore _store;

    private CoordinatorHost(WebApplication app, ICoordinatorStore store, RoundEngine engine, Uri address)
    {
        _app = app;
        _store = store;
        Engine = engine;
        Address = address;
    }

    /// <summary>The address clients connect to (https://, or http:// in insecure development mode).</summary>
    public Uri Address { get; }

    /// <summary>The round engine (status, tests).</summary>
    public RoundEngine Engine { get; }

    /// <summary>The upload admission gate (tests).</summary>
    internal UploadAdmission Uploads => _app.Services.GetRequiredService<UploadAdmission>();

    /// <summary>The response admission gate (tests read its counters).</summary>
    internal ResponseAdmission Responses => _app.Services.GetRequiredService<ResponseAdmission>();

    /// <summary>Loads options from an appsettings-style JSON file (section <c>Coordinator</c>), then <c>SECUREFEDREC_</c> environment variables, then <paramref name="overrides"/>.</summary>
    public static CoordinatorOptions LoadOptions(string? configPath, IEnumerable<KeyValuePair<string, string?>>? overrides = null) =>
        CoordinatorConfiguration.Load(configPath, overrides);

    /// <summary>Validates <paramref name="options"/>, opens the store and ledger, and starts listening.</summary>
    public static Task<CoordinatorHost> StartAsync(CoordinatorOptions options, Action<ILoggingBuilder>? logging = null, TimeProvider? time = null, CancellationToken cancellationToken = default) =>
        StartAsync(options, storeDecorator: null, logging, time, cancellationToken);

    /// <summary>As <see cref="StartAsync(CoordinatorOptions, Action{ILoggingBuilder}?, TimeProvider?, CancellationToken)"/>, with the opened store wrapped by <paramref name="storeDecorator"/> beneath the retry layer (fault injection in tests).</summary>
    public static Task<CoordinatorHost> StartAsync(CoordinatorOptions options, Func<ICoordinatorStore, ICoordinatorStore>? storeDecorator,
        Action<ILoggingBuilder>? logging = null, TimeProvider? time = null, CancellationToken cancellationToken = default) =>
        StartAsync(options, storeDecorator, roundServiceDecorator: null, logging, time, cancellationToken);

    /// <summary>
    /// Tests only (the attack suite): as <see cref="StartAsync(CoordinatorOptions, Func{ICoordinatorStore, ICoordinatorStore}?, Action{ILoggingBuilder}?, TimeProvider?, CancellationToken)"/>,
    /// with the round service the RPCs call wrapped by <paramref name="roundServiceDecorator"/> (a lying coordinator
    /// rewrites what the real round host sends, over the real gRPC services, TLS and request signing).
    /// </summary>
    internal static async Task<CoordinatorHost> StartAsync(CoordinatorOptions options, Func<ICoordinatorStore, ICoordinatorStore>? storeDecorator,
        Func<IRoundService, IRoundService>? roundServiceDecorator, Action<ILoggingBuilder>? logging = null, TimeProvider? time = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        time ??= TimeProvider.System;
        AllowList allowList = AllowList.Load(options.AllowListPath, options.AllowList);
        // A roster that does not verify stops the start-up here, before the store is opened (RosterRefusedException).
        CoordinatorRoster? roster = options.Roster.IsConfigured ? CoordinatorRoster.Load(options.Roster, time.GetUtcNow()) : null;
        if (roster is not null && roster.FileBytes.Length > options.MaxMessageBytes - 64)
        {
            throw new ArgumentException($"Coordinator:Roster:Path: the roster is {roster.FileBytes.Length} bytes, more than MaxMessageBytes ({options.MaxMessageBytes}) allows Membership/GetRoster to send; raise MaxMessageBytes.");
        }

        var admission = new Admission(roster, allowList, time);
        X509Certificate2? certificate = options.InsecureDev ? null : DevCertificate.LoadPem(options.CertificatePath!, options.CertificateKeyPath!);

        ICoordinatorStore opened = options.StoreProvider == "postgres"
            ? new PostgresCoordinatorStore(options.Store)
            : new SqliteCoordinatorStore(options.Store, exclusive: true);
        // Transient store failures are retried (bounded, with backoff) and then surface as UNAVAILABLE, never UNKNOWN.
        var store = new RetryingCoordinatorStore(storeDecorator is null ? opened : storeDecorator(opened), time: time);
        try
        {
            await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
            var budget = new Privacy.Ledger.PrivacyBudget(options.Rounds.TargetEpsilon, options.Rounds.Delta);
            StorePrivacyLedger ledger = await StorePrivacyLedger.OpenAsync(store, budget, time, cancellationToken).ConfigureAwait(false);

            WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            if (logging is not null)
            {
                logging(builder.Logging);
            }

            // A client that resets its stream is not an error of the coordinator: keep grpc-dotnet's per-call events
            // (cancellations, aborted reads) out of the log above Information, so resets cannot flood it with traces.
            builder.Logging.AddFilter("Grpc.AspNetCore.Server.ServerCallHandler", LogLevel.Error);
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.AddServerHeader = false;
                kestrel.Limits.MaxRequestBodySize = options.MaxMessageBytes + 5L;
                kestrel.Limits.Http2.MaxStreamsPerConnection = options.Limits.MaxStreamsPerConnection;
                // Upload back-pressure (UploadAdmission): a body waiting for admission holds at most one window here.
                kestrel.Limits.Http2.InitialStreamWindowSize = options.Limits.StreamReceiveWindowBytes;
                kestrel.Limits.Http2.InitialConnectionWindowSize = 2 * options.Limits.StreamReceiveWindowBytes;
                kestrel.Limits.MaxConcurrentConnections = options.Limits.MaxConnections;
                kestrel.Limits.MaxConcurrentUpgradedConnections = options.Limits.MaxConnections;
                kestrel.Listen(IPAddress.Parse(options.ListenAddress), options.Port, listen =>
                {
                    if (certificate is null)
                    {
                        listen.Protocols = HttpProtocols.Http2;
                    }
                    else
                    {
                        // h2 negotiated by ALPN for gRPC; HTTP/1.1 stays available for /healthz and /metrics scrapers.
                        listen.Protocols = HttpProtocols.Http1AndHttp2;
                        listen.UseHttps(certificate);
                    }
                });
            });
            builder.Services.AddSystemd(); // READY=1/STOPPING=1 to systemd when run as a Type=notify unit; nothing otherwise
            if (!string.IsNullOrEmpty(options.Telemetry.OtlpEndpoint))
            {
                // Round and phase spans (CoordinatorTelemetry) to an OTLP collector; flushed when the host stops.
                TelemetryOptions telemetry = options.Telemetry;
                builder.Services.AddOpenTelemetry()
                    .ConfigureResource(r => r.AddService(telemetry.ServiceName))
                    .WithTracing(tracing => tracing.AddSource(CoordinatorTelemetry.SourceName).AddOtlpExporter(otlp =>
                    {
                        bool grpc = telemetry.OtlpProtocol == "grpc";
                        otlp.Protocol = grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
                        otlp.Endpoint = grpc ? new Uri(telemetry.OtlpEndpoint) : new Uri(new Uri(telemetry.OtlpEndpoint.TrimEnd('/') + "/"), "v1/traces");
                    }));
            }

            var metrics = new CoordinatorMetrics();
            builder.Services.AddSingleton(time);
            builder.Services.AddSingleton<ICoordinatorStore>(store);
            builder.Services.AddSingleton<IPrivacyLedger>(ledger);
            builder.Services.AddSingleton(allowList);
            builder.Services.AddSingleton(admission);
            builder.Services.AddSingleton(metrics);
            builder.Services.AddSingleton(new UploadAdmission(options.Limits.MaxBufferedUploadBytes));
            builder.Services.AddSingleton(new ResponseAdmission(options.Limits.MaxBufferedResponseBytes));
            builder.Services.AddSingleton(sp => new RoundEngine(options, store, ledger, metrics,
                sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureFedRec.Coordinator"), time)
            { Roster = roster });
            // The round RPCs talk only to IRoundService; the host decides which round host answers them.
            builder.Services.AddSingleton<IRoundService>(sp => roundServiceDecorator is null
                ? sp.GetRequiredService<RoundEngine>().Service
                : roundServiceDecorator(sp.GetRequiredService<RoundEngine>().Service));
            builder.Services.AddSingleton(new SignedRequestAuthenticator(
                (id, _) => ValueTask.FromResult(admission.KeyOf(id)),
                new ReplayGuard(time, TimeSpan.FromSeconds(options.AuthWindowSeconds), options.Limits.NonceCapacity, options.Limits.NoncesPerClient),
                roster?.PredominantSuite ?? Crypto.IdentitySuite.Ed25519));
            builder.Services.AddSingleton<StatusService>();
            builder.Services.AddSingleton<MembershipService>();
            builder.Services.AddSingleton<EnrolmentService>();
            builder.Services.AddSingleton<RoundsService>();
            builder.Services.AddSingleton(new Transfer.ChunkedUploads(options.Transfer, time) { MaxResponseBytes = options.MaxMessageBytes });
            builder.Services.AddGrpc(grpc =>
                {
                    // Statuses are the library's; details of handler exceptions never reach the client. No compression
                    // is offered: SignedRequestMiddleware refuses a grpc-encoding before grpc-dotnet would decompress.
                    grpc.CompressionProviders.Clear();
                    grpc.EnableDetailedErrors = false;
                    grpc.MaxReceiveMessageSize = CoordinatorProtocol.SmallMessageBytes;
                    grpc.MaxSendMessageSize = options.MaxMessageBytes;
                    grpc.Interceptors.Add<RpcMetricsInterceptor>();
                })
                .AddServiceOptions<RoundsService>(rounds => rounds.MaxReceiveMessageSize = Math.Max(options.MaxMessageBytes, TransferFraming.MaxChunkRequestBytes));
            Operations.OperationsHosting.Add(builder, options, allowList, certificate, time);
            builder.Services.AddGrpcHealthChecks().AddCheck<StoreHealthCheck>("store");
            builder.Services.AddGrpcReflection();
            WebApplication app = builder.Build();
            ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SecureFedRec.Coordinator");
            RoundEngine engine = app.Services.GetRequiredService<RoundEngine>();
            await engine.RecoverAsync(cancellationToken).ConfigureAwait(false);
            app.UseMiddleware<SignedRequestMiddleware>(options.MaxMessageBytes);
            Operations.OperationsHosting.Map(app, options);
            app.MapGrpcService<StatusService>();
            app.MapGrpcService<MembershipService>();
            app.MapGrpcService<EnrolmentService>();
            app.MapGrpcService<RoundsService>();
            app.MapGrpcHealthChecksService();
            app.MapGrpcReflectionService();
            app.MapHealthChecks("/healthz");
            // prometheus-net's exporter over this coordinator's own registry (text format 0.0.4; OpenMetrics on request).
            app.MapMetrics("/metrics", metrics.Registry);
            var driver = new RoundDriver(engine, roster, logger, time);
            app.Lifetime.ApplicationStarted.Register(driver.Start);
            app.Lifetime.ApplicationStopping.Register(() => ShutdownLog.Stopping(logger, engine));
            app.Lifetime.ApplicationStopping.Register(driver.Stop);
            app.Lifetime.ApplicationStopped.Register(driver.Dispose);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);

            string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            var uri = new UriBuilder(bound) { Host = options.ListenAddress is "0.0.0.0" or "::" ? "127.0.0.1" : options.ListenAddress };
            var address = new Uri(uri.Uri.GetLeftPart(UriPartial.Authority) + "/");
            if (certificate is null)
            {
                CoordinatorLog.InsecureDev(logger);
            }

            CoordinatorLog.Started(logger, address, certificate is not null, options.StoreProvider, allowList.Count);
            if (roster is not null)
            {
                roster.Log(logger);
            }
            else
            {
                CoordinatorLog.AllowListMode(logger, allowList.Count);
            }
            return new CoordinatorHost(app, store, engine, address);
        }
        catch (StoreUnavailableException unavailable)
        {
            // Start-up on an unusable store fails with the store's own error (one line, exit code 7 in the CLI).
            await store.DisposeAsync().ConfigureAwait(false);
            certificate?.Dispose();
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(unavailable.Cause).Throw();
            throw;
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            certificate?.Dispose();
            throw;
        }
    }

    /// <summary>Completes when the host stops (Ctrl+C, SIGTERM, or <see cref="DisposeAsync"/>).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _store.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Ticks the engine every 50 ms until stopped; re-reads a changed roster file every 5 s.</summary>
    private sealed class RoundDriver(RoundEngine engine, CoordinatorRoster? roster, ILogger logger, TimeProvider time) : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _loop = Task.CompletedTask;

        public void Start() => _loop = Task.Run(RunAsync);

        public void Stop()
        {
            _stop.Cancel();
            try
            {
                _loop.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
                // Stopping: failures were logged by the loop.
            }
        }

        public void Dispose() => _stop.Dispose();

        private async Task RunAsync()
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50), time);
            DateTimeOffset nextRosterCheck = time.GetUtcNow() + TimeSpan.FromSeconds(5);
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
                {
                    if (roster is not null && time.GetUtcNow() >= nextRosterCheck)
                    {
                        nextRosterCheck = time.GetUtcNow() + TimeSpan.FromSeconds(5);
                        roster.Refresh(time.GetUtcNow(), logger);
                    }

                    try
                    {
                        await engine.TickAsync(_stop.Token).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        CoordinatorLog.DriverFailed(logger, ex);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // stopped
            }
        }
    }
}
