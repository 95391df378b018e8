using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using SecureFedRec.Coordinator;
using SecureFedRec.Coordinator.Storage;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Wire;
using SecureFedRec.Wire.V1;
using WirePhase = SecureFedRec.Wire.V1.Phase;

namespace SecureFedRec.Integration.Tests.Units;

/// <summary>The round engine's refusals, driven directly (no network) on a SQLite store.</summary>
#pragma warning disable CA1001 // Disposed in IAsyncLifetime.DisposeAsync, which xunit always calls.
public sealed class RoundEngineTests : IAsyncLifetime
#pragma warning restore CA1001
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sfr-engine-").FullName;
    private SqliteCoordinatorStore _store = null!;
    private RoundEngine _engine = null!;
    private readonly List<EnrolmentRecord> _clients = [];

    public async Task InitializeAsync()
    {
        var options = new CoordinatorOptions { InsecureDev = true };
        options.Rounds.CohortSize = 3;
        options.Rounds.MinClients = 3;
        options.Rounds.Dimension = 4;
        options.Rounds.RecruitSeconds = 0;
        options.Rounds.PhaseSeconds = 60;
        _store = new SqliteCoordinatorStore(Path.Combine(_dir, "c.db"));
        await _store.InitializeAsync();
        StorePrivacyLedger ledger = await StorePrivacyLedger.OpenAsync(_store, new PrivacyBudget(10, 1e-5));
        _engine = new RoundEngine(options, _store, ledger, new CoordinatorMetrics(), NullLogger.Instance, TimeProvider.System);
        await _engine.RecoverAsync(CancellationToken.None);
        for (byte i = 1; i <= 4; i++)
        {
            byte[] key = new byte[65];
            key[0] = 4;
            key[1] = i;
            _clients.Add(await _store.EnrolAsync(new string((char)('a' + i), 64), key, "c" + i, DateTimeOffset.UtcNow));
        }
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<ulong> OpenRoundAsync()
    {
        foreach (EnrolmentRecord c in _clients.Take(3))
        {
            Assert.Equal(JoinRoundResponse.Types.Outcome.Wait, _engine.Join(c).Outcome);
        }

        await _engine.TickAsync(CancellationToken.None);
        JoinRoundResponse selected = _engine.Join(_clients[0]);
        Assert.Equal(JoinRoundResponse.Types.Outcome.Selected, selected.Outcome);
        Assert.Equal(ServerToClient.MessageOneofCase.BeginRound, ServerToClient.Parser.ParseFrom(selected.Payload).MessageCase);
        return selected.Round.RoundId;
    }

    private static SubmitPhaseRequest Submit(ulong round, WirePhase phase, byte[] payload) =>
        new() { RoundId = round, Phase = phase, Payload = ByteString.CopyFrom(payload) };

    [Fact]
    public async Task A_client_outside_the_cohort_is_not_selected_and_cannot_submit()
    {
        ulong round = await OpenRoundAsync();
        Assert.Equal(JoinRoundResponse.Types.Outcome.NotSelected, _engine.Join(_clients[3]).Outcome);
        var ex = Assert.Throws<WireException>(() => _engine.Submit(_clients[3], Submit(round, WirePhase.AdvertiseKeys, [])));
        Assert.Equal(GrpcStatusCode.FailedPrecondition, ex.StatusCode);
    }

    [Fact]
    public async Task A_submission_for_another_phase_or_round_is_refused()
    {
        ulong round = await OpenRoundAsync();
        Assert.Equal(GrpcStatusCode.FailedPrecondition,
            Assert.Throws<WireException>(() => _engine.Submit(_clients[0], Submit(round, WirePhase.MaskedInput, []))).StatusCode);
        Assert.Equal(GrpcStatusCode.NotFound,
            Assert.Throws<WireException>(() => _engine.Submit(_clients[0], Submit(round + 1, WirePhase.AdvertiseKeys, []))).StatusCode);
    }

    [Fact]
    public async Task A_payload_that_is_not_a_protocol_message_is_invalid()
    {
        ulong round = await OpenRoundAsync();
        var ex = Assert.Throws<WireException>(() => _engine.Submit(_clients[0], Submit(round, WirePhase.AdvertiseKeys, [0x0f, 0xff])));
        Assert.Equal(GrpcStatusCode.InvalidArgument, ex.StatusCode);
    }

    [Fact]
    public async Task A_message_the_protocol_refuses_is_invalid_and_not_recorded_as_the_submission()
    {
        ulong round = await OpenRoundAsync();
        var wrongKind = new ClientToServer { MaskedInput = new MaskedInput { RoundNumber = round, ClientId = (uint)_clients[0].Number } };
        Assert.Equal(GrpcStatusCode.InvalidArgument,
            Assert.Throws<WireException>(() => _engine.Submit(_clients[0], Submit(round, WirePhase.AdvertiseKeys, wrongKind.ToByteArray()))).StatusCode);
        FetchPhaseResponse fetched = _engine.Fetch(_clients[0], new FetchPhaseRequest { RoundId = round, Phase = WirePhase.ShareKeys });
        Assert.Equal(FetchPhaseResponse.Types.Outcome.Pending, fetched.Outcome);
        // The refused bytes were not recorded: another (here equally wrong) message is judged by the protocol again,
        // not answered ALREADY_EXISTS.
        var empty = new ClientToServer();
        Assert.Equal(GrpcStatusCode.InvalidArgument,
            Assert.Throws<WireException>(() => _engine.Submit(_clients[0], Submit(round, WirePhase.AdvertiseKeys, empty.ToByteArray()))).StatusCode);
    }

    [Fact]
    public async Task Fetching_a_phase_that_has_not_opened_is_pending()
    {
        ulong round = await OpenRoundAsync();
        FetchPhaseResponse fetched = _engine.Fetch(_clients[1], new FetchPhaseRequest { RoundId = round, Phase = WirePhase.ShareKeys });
        Assert.Equal(FetchPhaseResponse.Types.Outcome.Pending, fetched.Outcome);
        Assert.True(fetched.RetryAfterMs > 0);
        FetchPhaseResponse first = _engine.Fetch(_clients[1], new FetchPhaseRequest { RoundId = round, Phase = WirePhase.AdvertiseKeys });
        Assert.Equal(FetchPhaseResponse.Types.Outcome.Ready, first.Outcome);
    }

    [Fact]
    public async Task A_round_left_open_by_a_crash_is_aborted_at_start_up()
    {
        ulong round = await OpenRoundAsync();
        var options = new CoordinatorOptions { InsecureDev = true };
        StorePrivacyLedger ledger = await StorePrivacyLedger.OpenAsync(_store, new PrivacyBudget(10, 1e-5));
        var restarted = new RoundEngine(options, _store, ledger, new CoordinatorMetrics(), NullLogger.Instance, TimeProvider.System);
        await restarted.RecoverAsync(CancellationToken.None);
        RoundRecord stored = (await _store.GetRoundAsync((long)round))!;
        Assert.Equal("AbortedByRestart", stored.Outcome);
        Assert.Empty(ledger.Entries);
        Assert.Equal(1L, restarted.ModelVersion);
    }
}
