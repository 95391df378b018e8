using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using SecureFedRec.Coordinator;
using SecureFedRec.Wire.Auth;

namespace SecureFedRec.Wire.Tests;

/// <summary>
/// A real coordinator (CoordinatorHost: Kestrel, grpc-dotnet, SQLite) on 127.0.0.1 with an OS-assigned port: h2c, or
/// TLS with the given PEM certificate. Its log is captured (<see cref="Logs"/>).
/// </summary>
internal sealed class TestCoordinator : IAsyncDisposable
{
    private readonly CoordinatorHost _host;

    private TestCoordinator(CoordinatorHost host, string directory, CaptureLogger logs)
    {
        _host = host;
        Directory = directory;
        Logs = logs;
    }

    public Uri Address => _host.Address;

    public string Directory { get; }

    public CaptureLogger Logs { get; }

    public static async Task<TestCoordinator> StartAsync(IEnumerable<ClientIdentity> allowed, (string Cert, string Key)? tls = null, int maxMessageBytes = 4 * 1024 * 1024,
        Action<CoordinatorOptions, string>? configure = null)
    {
        string dir = System.IO.Directory.CreateTempSubdirectory("sfr-wire-").FullName;
        var options = new CoordinatorOptions
        {
            ListenAddress = "127.0.0.1",
            Port = 0,
            InsecureDev = tls is null,
            CertificatePath = tls?.Cert,
            CertificateKeyPath = tls?.Key,
            Store = Path.Combine(dir, "coordinator.db"),
            MaxMessageBytes = maxMessageBytes,
        };
        foreach (ClientIdentity id in allowed)
        {
            options.AllowList.Add(Convert.ToHexString(id.PublicKey));
        }

        options.Rounds.CohortSize = 3;
        options.Rounds.MinClients = 3;
        options.Rounds.Dimension = 4;
        options.Rounds.RecruitSeconds = 60;
        configure?.Invoke(options, dir);
        var logs = new CaptureLogger();
        CoordinatorHost host = await CoordinatorHost.StartAsync(options, b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        return new TestCoordinator(host, dir, logs);
    }

    /// <summary>One raw gRPC-over-HTTP/2 exchange, for inputs the generated clients never send.</summary>
    public async Task<(int Http, string? Status, string? Message)> RawAsync(
        string path, byte[] body, string contentType = "application/grpc", IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Address, path.TrimStart('/')))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("te", "trailers");
        foreach ((string name, string value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using HttpResponseMessage response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        static string? Get(HttpHeaders h, string name) => h.TryGetValues(name, out var v) ? v.First() : null;
        string? status = Get(response.Headers, "grpc-status") ?? Get(response.TrailingHeaders, "grpc-status");
        string? message = Get(response.Headers, "grpc-message") ?? Get(response.TrailingHeaders, "grpc-message");
        return ((int)response.StatusCode, status, message is null ? null : Uri.UnescapeDataString(message));
    }

    /// <summary>A gRPC frame: flag 0, u32be length, the bytes.</summary>
    public static byte[] Frame(byte[] payload, byte flag = 0)
    {
        byte[] frame = new byte[5 + payload.Length];
        frame[0] = flag;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}

/// <summary>Collects log entries of every category (level, category, whether an exception was attached).</summary>
internal sealed class CaptureLogger : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Category, string Message, Exception? Exception)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CaptureLogger owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((logLevel, category, formatter(state, exception), exception));
    }
}
