using SecureFedRec.Crypto;
using SecureFedRec.Rounds.Client;
using SecureFedRec.Rounds.Server;
using SecureFedRec.Rounds.Transport;

namespace SecureFedRec.Rounds.Tests;

/// <summary>
/// A client's CPU-heavy steps (the DP encoding, each phase's protocol step) run on the process's dedicated compute threads,
/// never on a thread-pool thread, so many clients in one process do not queue their network continuations behind each
/// other's computation; observed through the random sources the steps draw from.
/// </summary>
public sealed class ComputeThreadTests
{
    [Fact]
    public async Task Noise_and_protocol_draws_happen_on_compute_threads_and_the_round_still_completes()
    {
        var ledger = new CountingLedger();
        var events = new RecordingEvents();
        RoundHost host = Harness.Host(Harness.Settings(epsilon: 50), 4, ledger, events);
        var noise = new RecordingSource[4];
        var protocol = new RecordingSource[4];
        ClientRound[] clients = Enumerable.Range(0, 4).Select(i =>
        {
            noise[i] = new RecordingSource(Harness.Seed("noise-" + i, 1));
            protocol[i] = new RecordingSource(Harness.Seed("protocol-" + i, 1));
            var ledgerOfClient = new MemoryPrivacyLedger(new Privacy.Ledger.PrivacyBudget(1e6, 1e-3));
            return new ClientRound(new ClientRoundOptions
            {
                Guard = new Privacy.Policy.ClientPrivacyGuard(Harness.PermissivePolicy(), ledgerOfClient),
                UpdateSource = (_, _) => Task.FromResult(LocalUpdate.FromTotal([.. Enumerable.Range(0, Harness.Dimension).Select(j => 0.01 * (i + j))])),
                ProtocolRandom = protocol[i],
                NoiseRandom = noise[i],
                JoinTimeout = TimeSpan.FromSeconds(30),
            });
        }).ToArray();

        InProcessRoundResult result = await Harness.Run(host, clients);

        Assert.All(result.Clients, r => Assert.Equal(ClientRoundOutcome.Completed, r.Outcome));
        Assert.Equal(ServerRoundOutcome.Released, Assert.Single(events.Finished).Outcome);
        foreach (RecordingSource source in noise.Concat(protocol))
        {
            Assert.NotEmpty(source.Threads);
            Assert.All(source.Threads, t => Assert.StartsWith("sfr-compute-", t, StringComparison.Ordinal));
        }

        Assert.All(noise.Concat(protocol), s => Assert.False(s.OnPoolThread, "a heavy step ran on a thread-pool thread"));
        foreach (RecordingSource source in noise.Concat(protocol))
        {
            source.Dispose();
        }
    }

    /// <summary>A deterministic source that records the name of every thread it is drawn on.</summary>
    private sealed class RecordingSource(byte[] seed) : RandomSource, IDisposable
    {
        private readonly DeterministicRandomSource _inner = new(seed);

        public HashSet<string> Threads { get; } = [];

        public bool OnPoolThread { get; private set; }

        public override void Fill(Span<byte> destination)
        {
            lock (Threads)
            {
                Threads.Add(Thread.CurrentThread.Name ?? "(unnamed)");
                OnPoolThread |= Thread.CurrentThread.IsThreadPoolThread;
            }

            _inner.Fill(destination);
        }

        public void Dispose() => _inner.Dispose();
    }
}
