using SecureFedRec.Privacy.Ledger;
using SecureFedRec.Privacy.Policy;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Client;
using SecureFedRec.Rounds.Server;
using SecureFedRec.Rounds.Transport;

namespace SecureFedRec.Rounds.Tests;

public sealed class RoundTests
{
    private static double[] Update(int index) => Enumerable.Range(0, Harness.Dimension).Select(j => 0.05 * (((index + j) % 5) - 2)).ToArray();

    private static double[] ExactSum(int clients, IEnumerable<int>? skip = null)
    {
        var skipped = new HashSet<int>(skip ?? []);
        var sum = new double[Harness.Dimension];
        for (int i = 0; i < clients; i++)
        {
            if (skipped.Contains(i))
            {
                continue;
            }

            double[] u = Update(i);
            for (int j = 0; j < sum.Length; j++)
            {
                sum[j] += u[j];
            }
        }

        return sum;
    }

    [Fact]
    public async Task A_private_round_is_charged_once_before_release_and_applies_FedAvg()
    {
        var ledger = new CountingLedger();
        var events = new RecordingEvents();
        RoundHost host = Harness.Host(Harness.Settings(epsilon: 50), 5, ledger, events);
        ClientRound[] clients = Enumerable.Range(0, 5).Select(i => Harness.Client(i, _ => Update(i))).ToArray();

        InProcessRoundResult result = await Harness.Run(host, clients);

        Assert.All(result.Clients, r => Assert.Equal(ClientRoundOutcome.Completed, r.Outcome));
        RoundFinished finished = Assert.Single(events.Finished);
        Assert.Equal(ServerRoundOutcome.Released, finished.Outcome);
        Assert.Equal(5, finished.Contributors);
        RoundCharge charge = Assert.Single(ledger.Charges);
        Assert.Equal("round-1", charge.RoundId);
        Assert.Equal(5, charge.ContributingClients);
        ModelRelease release = Assert.Single(events.Released);
        Assert.Equal(2ul, release.Version);
        Assert.Equal(release, host.Latest);
        Assert.True(release.Epsilon > 0);
        double[] exact = ExactSum(5);
        Privacy.MechanismParameters p = finished.Contract.Dp;
        double tolerance = 6 * Math.Sqrt(5) * p.Sigma * p.Gamma; // 6 standard deviations of the summed noise (plus rounding)
        for (int j = 0; j < exact.Length; j++)
        {
            // FedAvg, η = 1: the model moves by the noisy mean.
            Assert.Equal(finished.Sum![j] / 5, release.Values[j], 12);
            Assert.InRange(finished.Sum[j], exact[j] - tolerance, exact[j] + tolerance);
        }

        Assert.All(result.BytesSent, b => Assert.True(b > 0));
    }

    [Fact]
    public async Task The_not_private_comparison_round_is_exact_and_charges_nothing()
    {
        var ledger = new CountingLedger();
        var events = new RecordingEvents();
        RoundHost host = Harness.Host(Harness.Settings(epsilon: null), 4, ledger, events);
        ClientRound[] clients = Enumerable.Range(0, 4).Select(i => Harness.Client(i, _ => Update(i), allowNotPrivate: true)).ToArray();

        await Harness.Run(host, clients);

        RoundFinished finished = Assert.Single(events.Finished);
        Assert.False(finished.Contract.IsPrivate);
        Assert.Equal(UpdateEncoding.FixedPointNoDp, finished.Contract.Encoding);
        Assert.Empty(ledger.Charges);
        Assert.Equal(0, events.Released[0].Epsilon);
        double[] exact = ExactSum(4);
        for (int j = 0; j < exact.Length; j++)
        {
            Assert.Equal(exact[j], finished.Sum![j], 6);
        }
    }

    [Fact]
    public async Task A_client_declines_a_not_private_contract_before_computing_its_update()
    {
        var ledger = new CountingLedger();
        var events = new RecordingEvents();
        RoundHost host = Harness.Host(Harness.Settings(epsilon: null), 4, ledger, events);
        int updates = 0;
        ClientRound[] clients = Enumerable.Range(0, 4)
            .Select(i => Harness.Client(i, _ => Update(i), allowNotPrivate: i != 0, onUpdate: i == 0 ? () => Interlocked.Increment(ref updates) : null))
            .ToArray();

        InProcessRoundResult result = await Harness.Run(host, clients);

        Assert.Equal(ClientRoundOutcome.Declined, result.Clients[0].Outcome);
        Assert.Equal(ClientRoundReason.NotPrivate, result.Clients[0].Reason);
        Assert.Equal(0, updates);
    }

    [Fact]
    public async Task A_silent_client_is_dropped_at_the_phase_close_and_the_round_completes_without_it()
    {
        var ledger = new CountingLedger();
        var events = new RecordingEvents();
        RoundHost host = Harness.Host(Harness.Settings(epsilon: null), 5, ledger, events);
        ClientRound[] clients = Enumerable.Range(0, 5)
            .Select(i => Harness.Client(i, _ => Update(i), silentAfter: i == 2 ? Phase.AdvertiseKeys : null, allowNotPrivate: true)).ToArray();

        InProcessRoundResult result = await Harness.Run(host, clients);

        RoundFinished finished = Assert.Single(events.Finished);
        Assert.Equal(ServerRoundOutcome.Released, finished.Outcome);
        Assert.Equal(4, finished.Contributors);
        Assert.Equal(DropReason.TimedOut, finished.Dropped[Harness.Caller(2)]);
        Assert.Equal(ClientRoundOutcome.Dropped, result.Clients[2].Outcome);
        double[] exact = ExactSum(5, skip: [2]);
        for (int j = 0; j < exact.Length; j++)
        {
            Assert.Equal(exact[j], finished.Sum![j], 6);
        }
    }

    [Fact]
    public async Task Too_many_dropouts_abort_the_round_with_nothing_charged_or_released()
    {
        var ledger = new CountingLedger();
        var events = new RecordingEvents();
        RoundHost host = Harness.Host(Harness.Settings(), 5, ledger, events);
        ClientRound[] clients = Enumerable.Range(0, 5)
            .Select(i => Harness.Client(i, _ => Update(i), silentAfter: i < 3 ? Phase.ShareKeys : null)).ToArray();

        InProcessRoundResult result = await Harness.Run(host, clients);

        RoundFinished finished = Assert.Single(events.Finished);
        Assert.Equal(ServerRoundOutcome.AbortedTooFewClients, finished.Outcome);
        Assert.Empty(ledger.Charges);
        Assert.Empty(events.Released);
        Assert.Equal(1ul, host.Latest.Version);
        Assert.All(result.Clients.Skip(3), r => Assert.Equal(ClientRoundOutcome.Aborted, r.Outcome));
    }

    [Fact]
    public async Task A_sum_that_cannot_be_decoded_is_withheld_and_not_charged()
    {
        var ledger = new CountingLedger();
        var events = new RecordingEvents();
        RoundHost host = Harness.Host(Harness.Settings(epsilon: 50), 4, ledger, events);
        ClientRound[] clients = Enumerable.Range(0, 4).Select(i => Harness.Client(i, _ => Update(i))).ToArray();

        await Harness.Run(host, clients, wrap: (i, t) => i == 0 ? new TamperingTransport(t, TamperingTransport.WrapMaskedInput) : t);

        RoundFinished finished = Assert.Single(events.Finished);
        Assert.Equal(ServerRoundOutcome.WithheldDecodeFailed, finished.Outcome);
        Assert.Null(finished.Sum);
        Assert.Empty(ledger.Charges);
        Assert.Empty(events.Released);
        Assert.Equal(1ul, host.Latest.Version);
    }

    public static TheoryData<string, DeclineReason> Declines() => new()
    {
        { "clip", DeclineReason.ClipAbovePolicy },
        { "threat", DeclineReason.ThreatModeNotAccepted },
        { "budget", DeclineReason.BudgetExceeded },
        { "noise", DeclineReason.NoiseBelowPolicy },
    };

    [Theory]
    [MemberData(nameof(Declines))]
    public async Task A_policy_decline_is_typed_and_happens_before_any_update_or_key(string rule, DeclineReason expected)
    {
        ClientPrivacyPolicy policy = Harness.PermissivePolicy();
        policy = rule switch
        {
            "clip" => policy with { MaxClip = 0.5 },
            "threat" => policy with { AcceptedThreatModes = new HashSet<Privacy.Policy.ThreatMode> { Privacy.Policy.ThreatMode.SemiMalicious } },
            "budget" => policy with { MaxTotalEpsilon = 0.01 },
            _ => policy with { MinNoiseMultiplier = 1e6 },
        };
        var events = new RecordingEvents();
        RoundHost host = Harness.Host(Harness.Settings(epsilon: 50), 4, new CountingLedger(), events);
        int updates = 0;
        ClientRound[] clients = Enumerable.Range(0, 4)
            .Select(i => Harness.Client(i, _ => Update(i), policy: i == 0 ? policy : null, onUpdate: i == 0 ? () => Interlocked.Increment(ref updates) : null))
            .ToArray();
        int sentByDecliner = 0;

        InProcessRoundResult result = await Harness.Run(host, clients, wrap: (i, t) => i == 0
            ? new TamperingTransport(t, m =>
            {
                Assert.Equal(ClientToServer.MessageOneofCase.Abort, m.MessageCase); // no keys are ever advertised
                Interlocked.Increment(ref sentByDecliner);
                return m;
            })
            : t);

        ClientRoundResult declined = result.Clients[0];
        Assert.Equal(ClientRoundOutcome.Declined, declined.Outcome);
        Assert.Equal(ClientRoundReason.PolicyDeclined, declined.Reason);
        Assert.Equal(expected, declined.Decline);
        Assert.Equal(0, updates);
        Assert.Equal(1, sentByDecliner);
        RoundFinished finished = Assert.Single(events.Finished);
        Assert.Equal(DropReason.ClientAborted, finished.Dropped[Harness.Caller(0)]);
        Assert.Equal(3, finished.Contributors);
    }

    [Fact]
    public async Task A_contract_that_the_opening_message_does_not_bind_is_declined()
    {
        var events = new RecordingEvents();
        RoundHost host = Harness.Host(Harness.Settings(epsilon: 50), 3, new CountingLedger(), events);
        ClientRound[] clients = Enumerable.Range(0, 3).Select(i => Harness.Client(i, _ => Update(i))).ToArray();

        InProcessRoundResult result = await Harness.Run(host, clients, wrap: (i, t) => i == 1
            ? new TamperingTransport(t, join: reply => reply.Invitation is { } inv
                ? reply with { Invitation = inv with { Contract = inv.Contract with { ClaimedEpsilon = inv.Contract.ClaimedEpsilon / 2 } } }
                : reply)
            : t);

        Assert.Equal(ClientRoundOutcome.Declined, result.Clients[1].Outcome);
        Assert.Equal(ClientRoundReason.ContractMismatch, result.Clients[1].Reason);
        Assert.Equal(ServerRoundOutcome.Released, Assert.Single(events.Finished).Outcome);
    }

    [Fact]
    public async Task A_threshold_lower_than_the_plans_minimum_clients_is_declined_before_any_key()
    {
        // Issue 10 "threshold not bound": the coordinator rewrites BeginRound with t below the DP plan's MinClients (and
        // re-binds nothing else); closing at fewer contributors than the noise was calibrated for would overspend ε.
        var events = new RecordingEvents();
        RoundHost host = Harness.Host(Harness.Settings(epsilon: 50), 4, new CountingLedger(), events);
        ClientRound[] clients = Enumerable.Range(0, 4).Select(i => Harness.Client(i, _ => Update(i))).ToArray();
        int keysSent = 0;

        InProcessRoundResult result = await Harness.Run(host, clients, wrap: (i, t) => i == 1
            ? new TamperingTransport(t, m =>
            {
                if (m.MessageCase == ClientToServer.MessageOneofCase.AdvertiseKeys)
                {
                    Interlocked.Increment(ref keysSent);
                }

                return m;
            }, join: reply => reply.Invitation is { } inv && inv.Opening.BeginRound?.Parameters is { } p
                ? reply with { Invitation = inv with { Opening = new ServerToClient { BeginRound = new BeginRound { Parameters = Lowered(p) } } } }
                : reply)
            : t);

        Assert.Equal(ClientRoundOutcome.Declined, result.Clients[1].Outcome);
        Assert.Equal(ClientRoundReason.ContractMismatch, result.Clients[1].Reason);
        Assert.Equal(0, keysSent);

        static RoundParameters Lowered(RoundParameters p)
        {
            RoundParameters lowered = p.Clone();
            lowered.Threshold = 2;
            return lowered;
        }
    }

    [Fact]
    public async Task Round_service_refusals_are_typed()
    {
        var events = new RecordingEvents();
        RoundHost host = Harness.Host(Harness.Settings(), 2, new CountingLedger(), events);
        Assert.Equal(JoinOutcome.Wait, host.Join("a").Outcome);
        Assert.Equal(JoinOutcome.Wait, host.Join("b").Outcome);
        Assert.Equal(RoundHostTick.Opened, await host.TickAsync());
        JoinReply joined = host.Join("a");
        Assert.Equal(JoinOutcome.Selected, joined.Outcome);
        ulong round = joined.Invitation!.Contract.RoundId;
        var any = new ClientToServer { MaskedInput = new MaskedInput { RoundNumber = round } };

        Assert.Equal(RoundRefusal.UnknownRound, host.Submit("a", round + 7, Phase.AdvertiseKeys, any).Refusal);
        Assert.Equal(RoundRefusal.NotInCohort, host.Submit("z", round, Phase.AdvertiseKeys, any).Refusal);
        Assert.Equal(RoundRefusal.PhaseClosed, host.Submit("a", round, Phase.MaskedInput, any).Refusal);
        Assert.Equal(RoundRefusal.ProtocolRefused, host.Submit("a", round, Phase.AdvertiseKeys, any).Refusal);
        Assert.Equal(JoinOutcome.NotSelected, host.Join("c").Outcome);
        Assert.Equal(FetchOutcome.Refused, host.Fetch("z", round, Phase.ShareKeys).Outcome);
        Assert.Equal(FetchOutcome.Pending, host.Fetch("a", round, Phase.ShareKeys).Outcome);
    }
}
