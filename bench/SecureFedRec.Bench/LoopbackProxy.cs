using System.Net;
using System.Net.Sockets;

namespace SecureFedRec.Bench;

/// <summary>
/// A TCP relay on 127.0.0.1 between the benchmark's clients and the coordinator that counts the bytes each accepted
/// connection carries in each direction: what travels on the wire (TLS records, HTTP/2 frames, gRPC messages), not the
/// serialized protocol messages. TLS passes through untouched (the clients still verify the coordinator's certificate).
/// </summary>
internal sealed class LoopbackProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Counter> _connections = [];
    private readonly List<Task> _pumps = [];
    private readonly Task _accept;

    public LoopbackProxy(int targetPort)
    {
        _target = new IPEndPoint(IPAddress.Loopback, targetPort);
        _listener.Start(backlog: 4096);
        _accept = AcceptAsync();
    }

    /// <summary>The port the clients connect to.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Bytes per connection (client → coordinator, coordinator → client) since the last reset.</summary>
    public IReadOnlyList<(long Up, long Down)> Snapshot()
    {
        lock (_connections)
        {
            return _connections.Select(c => (Interlocked.Read(ref c.Up), Interlocked.Read(ref c.Down))).ToList();
        }
    }

    /// <summary>Zeroes every counter (after enrolment, before the measured round).</summary>
    public void Reset()
    {
        lock (_connections)
        {
            foreach (Counter c in _connections)
            {
                Interlocked.Exchange(ref c.Up, 0);
                Interlocked.Exchange(ref c.Down, 0);
            }
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient inbound = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
                inbound.NoDelay = true;
                var counter = new Counter();
                lock (_connections)
                {
                    _connections.Add(counter);
                    _pumps.Add(RelayAsync(inbound, counter));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
        catch (SocketException)
        {
            // Listener closed.
        }
    }

    private async Task RelayAsync(TcpClient inbound, Counter counter)
    {
        using (inbound)
        using (var outbound = new TcpClient { NoDelay = true })
        {
            try
            {
                await outbound.ConnectAsync(_target, _stop.Token).ConfigureAwait(false);
                NetworkStream a = inbound.GetStream();
                NetworkStream b = outbound.GetStream();
                Task up = PumpAsync(a, b, bytes => Interlocked.Add(ref counter.Up, bytes));
                Task down = PumpAsync(b, a, bytes => Interlocked.Add(ref counter.Down, bytes));
                await Task.WhenAny(up, down).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A closed connection ends the relay.
            }
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, Action<int> count)
    {
        byte[] buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int read = await from.ReadAsync(buffer, _stop.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                count(read);
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The other side closed.
        }
        finally
        {
            try
            {
                to.Socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Already closed.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accept.ConfigureAwait(false);
        Task[] pumps;
        lock (_connections)
        {
            pumps = [.. _pumps];
        }

        await Task.WhenAll(pumps).ConfigureAwait(false);
        _stop.Dispose();
    }

    private sealed class Counter
    {
        public long Up;
        public long Down;
    }
}
