using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using SecureFedRec.Wire.Client;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Wire.Tests;

/// <summary>The channel's patience: how long and how often a call waits for a coordinator that does not answer.</summary>
public sealed class ChannelPatienceTests
{
    /// <summary>A loopback port nobody listens on (bound once, then released).</summary>
    internal static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static Task<GetStatusResponse> StatusAsync(CoordinatorChannel channel, CancellationToken cancellationToken = default) =>
        channel.InvokeAsync("GetStatus", o => channel.Status.GetStatusAsync(new GetStatusRequest(), o), cancellationToken);

    [Fact]
    public async Task A_call_keeps_trying_for_its_patience_then_says_how_long_and_how_often()
    {
        var reports = new List<CoordinatorWait>();
        int retries = 0;
        using var channel = new CoordinatorChannel(new Uri($"http://127.0.0.1:{ClosedPort()}/"), new CoordinatorChannelOptions
        {
            Patience = TimeSpan.FromSeconds(3),
            InitialBackoff = TimeSpan.FromMilliseconds(20),
            MaxBackoff = TimeSpan.FromMilliseconds(200),
            ProgressInterval = TimeSpan.FromMilliseconds(500),
            OnRetry = (_, _, _, _) => retries++,
            OnWaiting = reports.Add,
        });
        long start = Stopwatch.GetTimestamp();
        RpcException ex = await Assert.ThrowsAsync<RpcException>(() => StatusAsync(channel));
        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.InRange(elapsed.TotalSeconds, 2.9, 20);
        // At most 200 ms between attempts over 3 s: at least a handful of retries even on a loaded 2-core machine.
        Assert.True(retries >= 4, $"{retries} retries");
        Assert.Matches(@"^GetStatus to http://127\.0\.0\.1:\d+/ failed \d+ times over \d+(\.\d)? s \(patience 3(\.0)? s\); last: ", ex.Status.Detail);
        // Progress: the first retry, then at most one report per interval (not one per attempt).
        Assert.Equal(1, reports[0].Attempt);
        Assert.InRange(reports.Count, 2, 8);
        Assert.True(reports.Count <= retries);
        Assert.All(reports, r => Assert.False(r.Answered));
        Assert.All(reports, r => Assert.Equal(StatusCode.Unavailable, r.Status));
        Assert.All(reports.Zip(reports.Skip(1)), p => Assert.True(p.Second.Waited - p.First.Waited >= TimeSpan.FromMilliseconds(500)));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 3)]
    public async Task Max_attempts_bounds_the_tries(int maxAttempts, int expectedAttempts)
    {
        int attempts = 0;
        using var channel = new CoordinatorChannel(new Uri($"http://127.0.0.1:{ClosedPort()}/"), new CoordinatorChannelOptions
        {
            MaxAttempts = maxAttempts,
            InitialBackoff = TimeSpan.FromMilliseconds(10),
        });
        RpcException ex = await Assert.ThrowsAsync<RpcException>(() => channel.InvokeAsync("GetStatus", o =>
        {
            attempts++;
            return channel.Status.GetStatusAsync(new GetStatusRequest(), o);
        }));
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Equal(expectedAttempts, attempts);
    }

    [Fact]
    public async Task By_default_a_call_waits_until_cancelled()
    {
        var options = new CoordinatorChannelOptions();
        Assert.Equal(Timeout.InfiniteTimeSpan, options.Patience);
        Assert.Equal(0, options.MaxAttempts);
        int attempts = 0;
        using var channel = new CoordinatorChannel(new Uri($"http://127.0.0.1:{ClosedPort()}/"), new CoordinatorChannelOptions
        {
            InitialBackoff = TimeSpan.FromMilliseconds(10),
            MaxBackoff = TimeSpan.FromMilliseconds(50),
            OnRetry = (_, _, _, _) => attempts++,
        });
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(1.5));
        await Assert.ThrowsAnyAsync<Exception>(() => StatusAsync(channel, cancel.Token));
        Assert.True(cancel.IsCancellationRequested);
        Assert.True(attempts > 6, $"{attempts} retries: more than the old fixed limit of 6");
    }

    public static TheoryData<Func<CoordinatorChannelOptions>> BadOptions => new()
    {
        () => new CoordinatorChannelOptions { MaxAttempts = -1 },
        () => new CoordinatorChannelOptions { Patience = TimeSpan.Zero },
        () => new CoordinatorChannelOptions { Patience = TimeSpan.FromSeconds(-3) },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Nonsense_patience_is_refused(Func<CoordinatorChannelOptions> build) =>
        Assert.Throws<ArgumentOutOfRangeException>(build);
}
