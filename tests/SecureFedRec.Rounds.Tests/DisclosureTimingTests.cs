using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Client;
using SecureFedRec.Rounds.Server;
using SecureFedRec.Rounds.Transport;

namespace SecureFedRec.Rounds.Tests;

/// <summary>
/// When the client round charges its own ledger (issue 10, dp.md §7.3): a durable pending record before it sends
/// anything, a final charge right before the masked input is handed over (the first message after which its input can
/// be released without any further message of its own), a release when the round ends before that, an abort count
/// that stops a coordinator from aborting rounds forever; and a crash at any point never under-charges.
/// </summary>
public sealed class DisclosureTimingTests : IDisposable
{
    private const int N = 5;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sfr-disclosure-" + Guid.NewGuid().ToString("N"));

    public DisclosureTimingTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task The_reservation_is_pending_from_the_first_message_and_disclosed_before_the_masked_input_is_handed_over()
    {
        using var consortium = new Consortium(N);
        RoundHost host = MaliciousHarness.Host(consortium, N, new MemoryPrivacyLedger(new PrivacyBudget(1000, 1e-5)), new RoundHostEvents());
        var ledger = new MemoryPrivacyLedger(new PrivacyBudget(1e6, 1e-3));
        var seen = new List<(ClientToServer.MessageOneofCase Message, ReservationState? State, double Total)>();
        ClientRound[] clients = Enumerable.Range(0, N).Select(i => MaliciousHarness.Client(consortium, i, i == 0 ? ledger : null)).ToArray();

        InProcessRoundResult result = await Harness.Run(host, clients, (i, t) => i != 0 ? t : new ObservingTransport(t,
            beforeSubmit: m => seen.Add((m.MessageCase, ledger.Reservations.SingleOrDefault()?.State, ledger.TotalEpsilon))));

        Assert.Equal(ClientRoundOutcome.Completed, result.Clients[0].Outcome);
        Assert.Equal(LedgerOutcome.Disclosed, result.Clients[0].Ledger);
        Reservation r = Assert.Single(ledger.Reservations);
        Assert.Equal(ReservationState.Disclosed, r.State);
        Assert.Equal(
            [ClientToServer.MessageOneofCase.AdvertiseKeys, ClientToServer.MessageOneofCase.ShareKeys, ClientToServer.MessageOneofCase.MaskedInput,
                ClientToServer.MessageOneofCase.ConsistencySignature, ClientToServer.MessageOneofCase.Unmasking],
            seen.Select(s => s.Message));
        Assert.All(seen.Take(2), s => Assert.Equal(ReservationState.Pending, s.State));
        Assert.All(seen.Skip(2), s => Assert.Equal(ReservationState.Disclosed, s.State));
        Assert.All(seen, s => Assert.Equal(r.RoundEpsilon, s.Total, 9)); // pending counts in full from the first message
        Assert.Equal(r.RoundEpsilon, result.Clients[0].LocalTotalEpsilon, 9);
    }

    public static TheoryData<Phase, LedgerOutcome> Endings => new()
    {
        // Two of five go silent after advertising keys: fewer than t = 4 share keys, the round aborts before any masked
        // input: refunded (and counted as an abort: the keys were advertised).
        { Phase.AdvertiseKeys, LedgerOutcome.Released },
        // Two go silent after their masked input: the round aborts at the consistency check, after disclosure: the charge stays.
        { Phase.MaskedInput, LedgerOutcome.AbortRecorded },
    };

    [Theory]
    [MemberData(nameof(Endings))]
    public async Task An_aborted_round_is_released_before_disclosure_and_stays_charged_after(Phase silentAfter, LedgerOutcome expected)
    {
        using var consortium = new Consortium(N);
        RoundHost host = MaliciousHarness.Host(consortium, N, new MemoryPrivacyLedger(new PrivacyBudget(1000, 1e-5)), new RoundHostEvents());
        var ledger = new MemoryPrivacyLedger(new PrivacyBudget(1e6, 1e-3));
        var sent = new List<ClientToServer.MessageOneofCase>();
        ClientRound[] clients = Enumerable.Range(0, N).Select(i => MaliciousHarness.Client(consortium, i, i == 0 ? ledger : null,
            silentAfter: i >= N - 2 ? silentAfter : null)).ToArray();

        InProcessRoundResult result = await Harness.Run(host, clients, (i, t) => i != 0 ? t : new ObservingTransport(t, beforeSubmit: m => sent.Add(m.MessageCase)));

        ClientRoundResult victim = result.Clients[0];
        Assert.Equal(ClientRoundOutcome.Aborted, victim.Outcome);
        Assert.Equal(expected, victim.Ledger);
        Reservation r = Assert.Single(ledger.Reservations);
        Assert.Equal(1, ledger.CountAbortsSince(DateTimeOffset.MinValue));
        if (expected == LedgerOutcome.Released)
        {
            Assert.Equal(ReservationState.Released, r.State);
            Assert.DoesNotContain(ClientToServer.MessageOneofCase.MaskedInput, sent);
            Assert.Equal(0, ledger.TotalEpsilon);
        }
        else
        {
            Assert.Equal(ReservationState.AbortedAfterDisclosure, r.State);
            Assert.Contains(ClientToServer.MessageOneofCase.MaskedInput, sent);
            Assert.Equal(r.RoundEpsilon, ledger.TotalEpsilon, 9);
        }
    }

    [Fact]
    public async Task Too_many_aborted_rounds_make_the_client_decline_with_a_typed_reason_and_nothing_reserved()
    {
        using var consortium = new Consortium(N);
        ClientPrivacyPolicy policy = MaliciousHarness.Policy() with { MaxAbortedRounds = 2 };
        var ledger = new MemoryPrivacyLedger(new PrivacyBudget(policy.MaxTotalEpsilon, policy.Delta));
        var results = new List<ClientRoundResult>();
        for (ulong round = 1; round <= 3; round++)
        {
            var coordinator = new ScriptedCoordinator(MaliciousHarness.Invitation(consortium, N, 1, roundId: round));
            results.Add(await MaliciousHarness.Client(consortium, 0, ledger, policy).RunAsync(coordinator));
        }

        Assert.All(results.Take(2), r => Assert.Equal(LedgerOutcome.Released, r.Ledger));
        ClientRoundResult third = results[2];
        Assert.Equal(ClientRoundOutcome.Declined, third.Outcome);
        Assert.Equal(ClientRoundReason.PolicyDeclined, third.Reason);
        Assert.Equal(DeclineReason.TooManyAbortedRounds, third.Decline);
        Assert.Contains("abort-limit", third.Detail, StringComparison.Ordinal);
        Assert.Equal(2, ledger.Reservations.Count);
        Assert.Equal(0, ledger.TotalEpsilon);
    }

    public static TheoryData<ClientToServer.MessageOneofCase, ReservationState> CrashPoints => new()
    {
        { ClientToServer.MessageOneofCase.AdvertiseKeys, ReservationState.Recovered },
        { ClientToServer.MessageOneofCase.ShareKeys, ReservationState.Recovered },
        { ClientToServer.MessageOneofCase.MaskedInput, ReservationState.Disclosed },
        { ClientToServer.MessageOneofCase.Unmasking, ReservationState.Disclosed },
    };

    /// <summary>
    /// Copies a file the ledger holds open with FileShare.None (.NET locks it against other .NET opens; a crash image is
    /// what any other reader sees): by <c>cp</c>, which takes no lock.
    /// </summary>
    private static void CopyLockedFile(string from, string to)
    {
        using var cp = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("cp", [from, to]) { UseShellExecute = false })!;
        cp.WaitForExit();
        Assert.Equal(0, cp.ExitCode);
    }

    /// <summary>
    /// A crash is simulated by copying the ledger file at the moment a message is handed to the transport (what a kill at
    /// that instant leaves on disk) and opening the copy as the restarted client would.
    /// </summary>
    [Theory]
    [MemberData(nameof(CrashPoints))]
    public async Task A_crash_at_any_point_of_the_round_never_under_charges(ClientToServer.MessageOneofCase crashAt, ReservationState recovered)
    {
        using var consortium = new Consortium(N);
        RoundHost host = MaliciousHarness.Host(consortium, N, new MemoryPrivacyLedger(new PrivacyBudget(1000, 1e-5)), new RoundHostEvents());
        string path = Path.Combine(_dir, "client.ledger");
        string crashed = Path.Combine(_dir, "crashed.ledger");
        using FilePrivacyLedger ledger = FilePrivacyLedger.Open(path, new PrivacyBudget(1e6, 1e-3));
        ClientRound[] clients = Enumerable.Range(0, N).Select(i => MaliciousHarness.Client(consortium, i, i == 0 ? ledger : null)).ToArray();

        InProcessRoundResult result = await Harness.Run(host, clients, (i, t) => i != 0 ? t : new ObservingTransport(t, beforeSubmit: m =>
        {
            if (m.MessageCase == crashAt)
            {
                CopyLockedFile(path, crashed);
            }
        }));

        Assert.Equal(ClientRoundOutcome.Completed, result.Clients[0].Outcome);
        double charged = Assert.Single(ledger.Reservations).RoundEpsilon;
        using FilePrivacyLedger restarted = FilePrivacyLedger.Open(crashed, new PrivacyBudget(1e6, 1e-3));
        Reservation r = Assert.Single(restarted.Reservations);
        Assert.Equal(recovered, r.State);
        Assert.Equal(charged, restarted.TotalEpsilon, 9);
        if (recovered == ReservationState.Recovered)
        {
            Assert.Single(restarted.RecoveredReservations);
            Assert.Equal(LedgerOutcome.RecoveredReservation, restarted.Release(r.RoundId, keysAdvertised: true, "restart").Outcome);
            Assert.Equal(charged, restarted.TotalEpsilon, 9);
        }
    }

    [Fact]
    public async Task A_bad_local_update_is_found_before_anything_is_reserved_or_sent()
    {
        using var consortium = new Consortium(N);
        var ledger = new MemoryPrivacyLedger(new PrivacyBudget(1e6, 1e-3));
        var coordinator = new ScriptedCoordinator(MaliciousHarness.Invitation(consortium, N, 1));

        ClientRoundResult result = await MaliciousHarness.Client(consortium, 0, ledger, update: _ => new double[Harness.Dimension + 1]).RunAsync(coordinator);

        Assert.Equal(ClientRoundOutcome.Declined, result.Outcome);
        Assert.Equal(ClientRoundReason.UpdateFailed, result.Reason);
        Assert.True(coordinator.ModelFetched);
        Assert.True(coordinator.SentNothingButDecline);
        Assert.Empty(ledger.Reservations);
    }
}
