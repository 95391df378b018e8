using System.Diagnostics;
using SecureFedRec.Client;
using SecureFedRec.Coordinator;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Transport;

namespace SecureFedRec.Integration.Tests;

/// <summary>
/// What lets a large cohort wait and relay cheaply over TLS on loopback (protocol-spec/coordinator.md, "Waiting and
/// relaying at scale"): a JoinRound that would answer WAIT is held until the round opens, and a phase with no more
/// than the planned dropout missing closes after a quiet period instead of at its deadline.
/// </summary>
public sealed class WaitingAtScaleTests
{
    private static double[] LocalUpdate(int index, RoundContext context) =>
        Enumerable.Range(0, context.Model.Values.Length).Select(j => (0.05 * ((index % 3) + 1)) - context.Model.Values[j]).ToArray();

    [Fact]
    public async Task A_join_that_would_wait_is_held_until_the_round_opens_and_answers_selected()
    {
        await using var federation = new Federation(clients: 3);
        CoordinatorOptions options = federation.Options(r =>
        {
            r.CohortSize = 3;
            r.MinClients = 3;
        });
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(options);
        var clients = Enumerable.Range(0, 3).Select(i => federation.Client(i, host.Address)).ToList();
        try
        {
            await Task.WhenAll(clients.Select(c => c.EnrolAsync()));

            // Two callers ask while the cohort is short: each single call is held (not answered WAIT at once) ...
            Task<JoinReply>[] early = [clients[0].RoundTransport.JoinAsync(CancellationToken.None), clients[1].RoundTransport.JoinAsync(CancellationToken.None)];
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            Assert.All(early, t => Assert.False(t.IsCompleted, "a join with nothing new to say is held"));

            // ... and the third caller completes the cohort: the round opens and the held calls answer SELECTED.
            JoinReply last = await clients[2].RoundTransport.JoinAsync(CancellationToken.None);
            for (int attempt = 0; last.Outcome != JoinOutcome.Selected && attempt < 5; attempt++)
            {
                last = await clients[2].RoundTransport.JoinAsync(CancellationToken.None);
            }

            JoinReply[] replies = await Task.WhenAll(early);
            Assert.All(replies.Append(last), r => Assert.Equal(JoinOutcome.Selected, r.Outcome));
            Assert.Equal(3, replies.Append(last).Select(r => r.Invitation!.ClientNumber).Distinct().Count());
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_phase_missing_no_more_than_the_planned_dropout_closes_after_quiet_not_at_its_deadline()
    {
        // n = 10, δ = 0.1: one member silent from MaskedInput on may be left out early; the deadlines (60 s) are far beyond the
        // test's bound.
        await using var federation = new Federation(clients: 10);
        CoordinatorOptions options = federation.Options(r =>
        {
            r.CohortSize = 10;
            r.MinClients = 10;
            r.PhaseSeconds = 60;
            r.PhaseSecondsPerClient = 0;
            r.DropoutFraction = 0.1;
            r.EarlyCloseIdleSeconds = 1;
        });
        await using CoordinatorHost host = await CoordinatorHost.StartAsync(options);
        var clients = Enumerable.Range(0, 10).Select(i => federation.Client(i, host.Address)).ToList();
        try
        {
            await Task.WhenAll(clients.Select(c => c.EnrolAsync()));
            var clock = Stopwatch.StartNew();

            // Client 9 takes part until MaskedInput opens, then goes silent (its process "dies").
            using var kill = new CancellationTokenSource();
            Task<ClientRoundResult?> silent = Task.Run(async () =>
            {
                try
                {
                    return await clients[9].RunRoundAsync(ctx => LocalUpdate(9, ctx), kill.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Cancelled })
                {
                    return null;
                }
            });
            _ = Task.Run(async () =>
            {
                while (host.Engine.Current.Phase is not (Phase.MaskedInput or Phase.ConsistencyCheck or Phase.Unmasking or Phase.Completed))
                {
                    await Task.Delay(10);
                }

                kill.Cancel();
            });
            ClientRoundResult[] results = await Task.WhenAll(clients.Take(9).Select((c, i) => c.RunRoundAsync(ctx => LocalUpdate(i, ctx))));
            TimeSpan elapsed = clock.Elapsed;

            Assert.All(results, r => Assert.Equal(RoundOutcomeKind.Completed, r.Kind));
            Assert.True(elapsed < TimeSpan.FromSeconds(50), $"the round took {elapsed}: MaskedInput waited for its 60 s deadline");
            Assert.Null(await silent);
            FetchReply late = await clients[9].RoundTransport.FetchAsync(results[0].RoundId, Phase.ConsistencyCheck, CancellationToken.None);
            Assert.Equal((FetchOutcome.Dropped, DropReason.TimedOut), (late.Outcome, late.DropReason));
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_client_fetches_a_model_version_it_holds_once_and_the_latest_every_time()
    {
        var inner = new CountingModels();
        var transport = new ModelCachingTransport(inner);
        Assert.Equal(1UL, (await transport.GetModelAsync(0, CancellationToken.None)).Version); // the latest: asked
        Assert.Equal(1UL, (await transport.GetModelAsync(1, CancellationToken.None)).Version); // held: not asked
        Assert.Equal(1UL, (await transport.GetModelAsync(1, CancellationToken.None)).Version);
        Assert.Equal(1UL, (await transport.GetModelAsync(0, CancellationToken.None)).Version); // the latest again: asked
        inner.Latest = 2;
        Assert.Equal(2UL, (await transport.GetModelAsync(2, CancellationToken.None)).Version); // a version not held: asked
        Assert.Equal(1UL, (await transport.GetModelAsync(1, CancellationToken.None)).Version); // no longer held: asked
        Assert.Equal([0UL, 0UL, 2UL, 1UL], inner.Asked);
    }

    private sealed class CountingModels : IRoundTransport
    {
        public ulong Latest { get; set; } = 1;

        public List<ulong> Asked { get; } = [];

        public Task<JoinReply> JoinAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<SubmitReply> SubmitAsync(ulong roundId, Phase phase, ClientToServer message, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<FetchReply> FetchAsync(ulong roundId, Phase phase, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<ModelRelease> GetModelAsync(ulong version, CancellationToken cancellationToken)
        {
            Asked.Add(version);
            ulong v = version == 0 ? Latest : version;
            return Task.FromResult(new ModelRelease(v, v - 1, [v], 0, 0));
        }
    }
}
