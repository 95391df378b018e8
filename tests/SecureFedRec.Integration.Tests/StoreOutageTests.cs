using Grpc.Core;
using SecureFedRec.Client;
using SecureFedRec.Coordinator;
using SecureFedRec.Coordinator.Storage;
using SecureFedRec.Privacy.Ledger;

namespace SecureFedRec.Integration.Tests;

/// <summary>A store whose writes (and enrolments) fail with I/O errors for a while once a trigger write is attempted.</summary>
internal sealed class FlakyStore(ICoordinatorStore inner, string trigger, TimeSpan outage) : ICoordinatorStore
{
    private readonly object _gate = new();
    private DateTimeOffset? _outageEnds;
    private int _failures;

    public int Failures => Volatile.Read(ref _failures);

    /// <summary>The trigger counts only once armed (after start-up wrote the initial model).</summary>
    public bool Armed { get; set; }

    /// <summary>Every ledger verification fails (a store that cannot be read at start-up).</summary>
    public bool FailReads { get; init; }

    public bool Started
    {
        get
        {
            lock (_gate)
            {
                return _outageEnds is not null;
            }
        }
    }

    private Task Check(string operation)
    {
        lock (_gate)
        {
            if (_outageEnds is null && Armed && operation == trigger)
            {
                _outageEnds = DateTimeOffset.UtcNow + outage;
            }

            if (_outageEnds is { } end && DateTimeOffset.UtcNow < end)
            {
                Interlocked.Increment(ref _failures);
                throw new IOException("disk I/O error (injected)");
            }
        }

        return Task.CompletedTask;
    }

    public Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);

    public async Task<EnrolmentRecord> EnrolAsync(string clientId, byte[] publicKey, string displayName, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await Check("Enrol");
        return await inner.EnrolAsync(clientId, publicKey, displayName, now, cancellationToken);
    }

    public Task<EnrolmentRecord?> GetEnrolmentAsync(string clientId, CancellationToken cancellationToken = default) => inner.GetEnrolmentAsync(clientId, cancellationToken);

    public Task<IReadOnlyList<EnrolmentRecord>> ListEnrolmentsAsync(CancellationToken cancellationToken = default) => inner.ListEnrolmentsAsync(cancellationToken);

    public async Task<RoundRecord> CreateRoundAsync(long modelVersion, string parametersJson, string phase, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await Check("CreateRound");
        return await inner.CreateRoundAsync(modelVersion, parametersJson, phase, now, cancellationToken);
    }

    public async Task UpdateRoundAsync(long roundId, string phase, string? outcome, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await Check("UpdateRound:" + phase);
        await inner.UpdateRoundAsync(roundId, phase, outcome, now, cancellationToken);
    }

    public Task<RoundRecord?> GetRoundAsync(long roundId, CancellationToken cancellationToken = default) => inner.GetRoundAsync(roundId, cancellationToken);

    public Task<IReadOnlyList<RoundRecord>> ListOpenRoundsAsync(CancellationToken cancellationToken = default) => inner.ListOpenRoundsAsync(cancellationToken);

    public Task<IReadOnlyList<RoundRecord>> ListRoundsAsync(CancellationToken cancellationToken = default) => inner.ListRoundsAsync(cancellationToken);

    public async Task<ModelVersionRecord> AppendModelAsync(long roundId, byte[] model, string epsilon, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await Check("AppendModel");
        return await inner.AppendModelAsync(roundId, model, epsilon, now, cancellationToken);
    }

    public Task<ModelVersionRecord?> GetModelAsync(long version, CancellationToken cancellationToken = default) => inner.GetModelAsync(version, cancellationToken);

    public Task<IReadOnlyList<ModelVersionRecord>> ListModelsAsync(CancellationToken cancellationToken = default) => inner.ListModelsAsync(cancellationToken);

    public async Task<(LedgerRecord Entry, bool Added)> AppendLedgerAsync(LedgerRecord entry, CancellationToken cancellationToken = default)
    {
        await Check("AppendLedger");
        return await inner.AppendLedgerAsync(entry, cancellationToken);
    }

    public Task<IReadOnlyList<LedgerRecord>> ListLedgerAsync(CancellationToken cancellationToken = default) => inner.ListLedgerAsync(cancellationToken);

    public Task<LedgerHead> GetLedgerHeadAsync(CancellationToken cancellationToken = default) => inner.GetLedgerHeadAsync(cancellationToken);

    public Task<LedgerVerification> VerifyLedgerAsync(LedgerHead? expected = null, bool allModelBytes = false, CancellationToken cancellationToken = default) =>
        FailReads ? Task.FromException<LedgerVerification>(new IOException("disk I/O error (injected)")) : inner.VerifyLedgerAsync(expected, allModelBytes, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}

/// <summary>A store outage mid-round, over TLS on loopback: the round completes after it, ε charged exactly once.</summary>
public sealed class StoreOutageTests
{
    private static double[] LocalUpdate(int index, RoundContext context) =>
        Enumerable.Range(0, context.Model.Values.Length).Select(j => (0.05 * ((index % 3) + 1)) - context.Model.Values[j]).ToArray();

    [Theory]
    [InlineData("UpdateRound:ShareKeys")]
    [InlineData("UpdateRound:MaskedInput")]
    [InlineData("AppendLedger")]
    [InlineData("AppendModel")]
    [InlineData("UpdateRound:Completed")]
    public async Task A_store_outage_mid_round_delays_the_round_which_then_completes_charged_once(string trigger)
    {
        await using var federation = new Federation(clients: 4);
        CoordinatorOptions options = federation.Options(r =>
        {
            r.CohortSize = 4;
            r.MinClients = 4;
            r.PhaseSeconds = 8;
        });
        FlakyStore? flaky = null;
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(options,
            s => flaky = new FlakyStore(s, trigger, TimeSpan.FromSeconds(2.5)));
        var clients = Enumerable.Range(0, 4).Select(i => federation.Client(i, host.Address)).ToList();
        try
        {
            await Task.WhenAll(clients.Select(c => c.EnrolAsync()));
            flaky!.Armed = true;
            Task<ClientRoundResult[]> round = Task.WhenAll(clients.Select((c, i) => c.RunRoundAsync(ctx => LocalUpdate(i, ctx))));

            // While the store is down, a call that needs it ends UNAVAILABLE (retryable), not UNKNOWN.
            DateTime giveUp = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!flaky.Started)
            {
                Assert.True(DateTime.UtcNow < giveUp, "The trigger write never happened.");
                await Task.Delay(10);
            }

            using (FederationClient impatient = new(federation.ClientOptions(0, host.Address, ledger: Path.Combine(federation.Directory, "impatient.ledger"), maxAttempts: 1)))
            {
                RpcException down = await Assert.ThrowsAsync<RpcException>(() => impatient.EnrolAsync());
                Assert.Equal(StatusCode.Unavailable, down.StatusCode);
            }

            ClientRoundResult[] results = await round.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.All(results, r => Assert.Equal(RoundOutcomeKind.Completed, r.Kind));
            Assert.True(flaky.Failures > 1, $"{flaky.Failures} injected failures");

            // Exactly one ledger entry for the one released round, one model version, the round recorded Completed.
            await using var store = new SqliteCoordinatorStore(options.Store);
            IReadOnlyList<LedgerRecord> ledger = await store.ListLedgerAsync();
            Assert.Equal(["round-" + results[0].RoundId], ledger.Select(e => e.RoundId));
            Assert.Equal(2, (await store.ListModelsAsync()).Count);
            Assert.Equal("Completed", (await store.GetRoundAsync((long)results[0].RoundId))!.Outcome);
            Assert.Equal(ledger[0].TotalEpsilon, host.Engine.Host.Latest.TotalEpsilon, 9);
            Assert.All(clients, c => Assert.Single(c.Ledger.Entries));

            // The coordinator stayed up and serves the released model.
            Assert.Equal(2UL, (await clients[1].GetModelAsync()).Version);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }
}

/// <summary>Start-up on a store that cannot be used fails with the store's own error, before any round is touched.</summary>
public sealed class StoreStartupTests
{
    [Fact]
    public async Task Start_up_on_a_store_that_fails_every_read_reports_the_store_error_not_unavailable()
    {
        await using var federation = new Federation(clients: 1);
        CoordinatorOptions options = federation.Options();
        var ex = await Assert.ThrowsAsync<IOException>(() => CoordinatorHost.StartAsync(options, s => new FlakyStore(s, "never", TimeSpan.Zero)
        {
            FailReads = true,
        }));
        Assert.Equal("disk I/O error (injected)", ex.Message);
    }
}
