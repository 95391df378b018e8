using Microsoft.Extensions.Logging.Abstractions;
using SecureFedRec.Coordinator;
using SecureFedRec.Coordinator.Storage;
using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Transport;

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
        options.Rounds.ThreatMode = "HonestButCurious"; // the enrolled keys below are placeholders, not roster identities
        options.Rounds.AllowHonestButCurious = true;
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
            Assert.Equal(JoinOutcome.Wait, _engine.Service.Join(c.ClientId).Outcome);
        }

        await _engine.TickAsync(CancellationToken.None);
        JoinReply selected = _engine.Service.Join(_clients[0].ClientId);
        Assert.Equal(JoinOutcome.Selected, selected.Outcome);
        Assert.Equal(ServerToClient.MessageOneofCase.BeginRound, selected.Invitation!.Opening.MessageCase);
        return selected.Invitation.Contract.RoundId;
    }

    private RoundRefusal Refusal(int client, ulong round, Phase phase, ClientToServer message)
    {
        SubmitReply reply = _engine.Service.Submit(_clients[client].ClientId, round, phase, message);
        Assert.Equal(SubmitOutcome.Refused, reply.Outcome);
        return reply.Refusal;
    }

    [Fact]
    public async Task A_client_outside_the_cohort_is_not_selected_and_cannot_submit()
    {
        ulong round = await OpenRoundAsync();
        Assert.Equal(JoinOutcome.NotSelected, _engine.Service.Join(_clients[3].ClientId).Outcome);
        Assert.Equal(RoundRefusal.NotInCohort, Refusal(3, round, Phase.AdvertiseKeys, new ClientToServer()));
        Assert.Equal(RoundRefusal.NotInCohort, _engine.Service.Fetch(_clients[3].ClientId, round, Phase.AdvertiseKeys).Refusal);
    }

    [Fact]
    public async Task A_submission_for_another_phase_or_round_is_refused()
    {
        ulong round = await OpenRoundAsync();
        Assert.Equal(RoundRefusal.PhaseClosed, Refusal(0, round, Phase.MaskedInput, new ClientToServer()));
        Assert.Equal(RoundRefusal.UnknownRound, Refusal(0, round + 1, Phase.AdvertiseKeys, new ClientToServer()));
        Assert.Equal(FetchOutcome.Refused, _engine.Service.Fetch(_clients[0].ClientId, round + 1, Phase.AdvertiseKeys).Outcome);
    }

    [Fact]
    public async Task A_message_the_protocol_refuses_is_invalid_and_not_recorded_as_the_submission()
    {
        ulong round = await OpenRoundAsync();
        var wrongKind = new ClientToServer { MaskedInput = new MaskedInput { RoundNumber = round, ClientId = (uint)_clients[0].Number } };
        SubmitReply refused = _engine.Service.Submit(_clients[0].ClientId, round, Phase.AdvertiseKeys, wrongKind);
        Assert.Equal((SubmitOutcome.Refused, RoundRefusal.ProtocolRefused), (refused.Outcome, refused.Refusal));
        Assert.False(string.IsNullOrEmpty(refused.Detail));
        Assert.Equal(FetchOutcome.Pending, _engine.Service.Fetch(_clients[0].ClientId, round, Phase.ShareKeys).Outcome);
        // The refused bytes were not recorded: another (here equally wrong) message is judged by the protocol again,
        // not answered as a conflicting resubmission.
        Assert.Equal(RoundRefusal.ProtocolRefused, Refusal(0, round, Phase.AdvertiseKeys, new ClientToServer()));
    }

    [Fact]
    public async Task Fetching_a_phase_that_has_not_opened_is_pending()
    {
        ulong round = await OpenRoundAsync();
        FetchReply fetched = _engine.Service.Fetch(_clients[1].ClientId, round, Phase.ShareKeys);
        Assert.Equal(FetchOutcome.Pending, fetched.Outcome);
        Assert.True(fetched.RetryAfter > TimeSpan.Zero);
        FetchReply first = _engine.Service.Fetch(_clients[1].ClientId, round, Phase.AdvertiseKeys);
        Assert.Equal(FetchOutcome.Ready, first.Outcome);
        Assert.Equal(ServerToClient.MessageOneofCase.BeginRound, first.Message!.MessageCase);
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
