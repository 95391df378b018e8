using SecureFedRec.Client;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds;
using SecureFedRec.Rounds.Transport;

namespace SecureFedRec.Attack.Tests;

/// <summary>
/// Attacks on the secure-aggregation session itself (issue 10: split view; replayed rounds and messages), over the
/// network against real SDK clients. The coordinator's collection is handed to <see cref="SpecUnmasker"/>, which unmasks
/// an input whenever the coordinator holds what secagg.md says suffices.
/// </summary>
public sealed class SessionAttackTests
{
    /// <summary>
    /// Split view: holders of the victim's shares are told different stories at unmasking. Group A (the victim and the
    /// next t − 1 smallest ids) hears "the victim survived" and reveals shares of its self-mask seed; everyone else
    /// hears "the victim dropped" and reveals shares of its mask key. The victim is the smallest survivor.
    /// </summary>
    internal sealed class SplitView : AttackScript
    {
        public override string Name => "split-view";

        public int Threshold { get; private set; }

        public int Victim { get; private set; }

        public override RoundInvitation Invite(string caller, RoundInvitation honest)
        {
            Threshold = (int)honest.Opening.BeginRound.Parameters.Threshold;
            return honest;
        }

        public override ServerToClient Fetched(string caller, int clientNumber, Phase phase, ServerToClient honest)
        {
            if (honest.MessageCase != ServerToClient.MessageOneofCase.UnmaskingRequest)
            {
                return honest;
            }

            var survivors = honest.UnmaskingRequest.Survivors.Order().ToList();
            Victim = (int)survivors[0];
            if (survivors.Take(Threshold).Contains((uint)clientNumber))
            {
                return honest;
            }

            ServerToClient lie = honest.Clone();
            lie.UnmaskingRequest.Survivors.Remove((uint)Victim);
            var dropped = lie.UnmaskingRequest.Dropped.Append((uint)Victim).Order().ToList();
            lie.UnmaskingRequest.Dropped.Clear();
            lie.UnmaskingRequest.Dropped.AddRange(dropped);
            return lie;
        }
    }

    /// <summary>
    /// Defence off: in an honest-but-curious round (no signed survivor list) the split view works over the network
    /// exactly as the issue reports: the coordinator unmasks the victim's input, bit for bit. This is why
    /// honest-but-curious rounds need an explicit opt-in; the malicious-mode row below is the defence.
    /// </summary>
    [Fact]
    public async Task Split_view_unmasks_an_honest_but_curious_client_so_that_mode_is_no_defence()
    {
        var script = new SplitView();
        await using Deployment deployment = await Deployment.StartAsync(script, malicious: false);
        for (int i = 0; i < Deployment.Clients; i++)
        {
            deployment.SeedNoise(i, 100 + i);
        }

        ClientRoundResult[] results = await deployment.RunRoundAsync();
        ulong round = results[0].RoundId;
        int victimIndex = Enumerable.Range(0, Deployment.Clients).Single(i => deployment.NumberOf(i) == script.Victim);
        RoundContract contract = deployment.Coordinator.Invitations[(deployment.Sdk[victimIndex].ClientId, round)].Contract;
        uint[] expected = SpecUnmasker.EncodedInput(contract, Deployment.UpdateOf(victimIndex), 100 + victimIndex);

        uint[]? unmasked = SpecUnmasker.TryUnmask(deployment.Coordinator.Transcript, round, script.Victim);

        Assert.NotNull(unmasked);
        Assert.Equal(expected, unmasked);
        // Nobody else is exposed: the attack needs both stories about one victim.
        foreach (int other in Enumerable.Range(0, Deployment.Clients).Where(i => i != victimIndex))
        {
            Assert.Null(SpecUnmasker.TryUnmask(deployment.Coordinator.Transcript, round, deployment.NumberOf(other)));
        }
    }

    /// <summary>A replayed invitation for a round the client already contributed to is declined; one charge stays.</summary>
    [Fact]
    public async Task A_replayed_round_is_declined_and_charged_only_once()
    {
        var script = new ReplayRound();
        await using Deployment deployment = await Deployment.StartAsync(script);
        ClientRoundResult[] first = await deployment.RunRoundAsync();
        Assert.All(first, r => Assert.Equal(RoundOutcomeKind.Completed, r.Kind));
        script.Replaying = true;
        ClientRoundResult[] second = await deployment.RunRoundAsync();
        for (int i = 0; i < second.Length; i++)
        {
            Assert.Equal(first[0].RoundId, second[i].RoundId);
            Assert.Equal(RoundOutcomeKind.Declined, second[i].Kind);
            Assert.Contains("Declined by rule 'round-once'", second[i].Detail, StringComparison.Ordinal);
            Assert.Single(deployment.Sdk[i].Ledger.Entries);
        }
    }

    /// <summary>
    /// A message replayed from the previous round (its ShareKeysRequest, whose keys the coordinator knows how every
    /// client answered) makes every client abort WRONG_SESSION before it sends a share or its input.
    /// </summary>
    [Fact]
    public async Task A_message_replayed_from_another_round_makes_every_client_abort_before_its_input()
    {
        var script = new ReplayMessage();
        await using Deployment deployment = await Deployment.StartAsync(script);
        ClientRoundResult[] first = await deployment.RunRoundAsync();
        Assert.All(first, r => Assert.Equal(RoundOutcomeKind.Completed, r.Kind));
        script.Replaying = true;
        ClientRoundResult[] second = await deployment.RunRoundAsync();
        ulong round = second[0].RoundId;
        Assert.NotEqual(first[0].RoundId, round);
        for (int i = 0; i < second.Length; i++)
        {
            Assert.Equal(RoundOutcomeKind.Aborted, second[i].Kind);
            Assert.Equal("ProtocolAborted: WrongSession", second[i].Detail);
            var sent = deployment.Coordinator.Transcript.SentBy(deployment.NumberOf(i), round).Select(m => m.MessageCase).ToList();
            Assert.Equal([ClientToServer.MessageOneofCase.AdvertiseKeys, ClientToServer.MessageOneofCase.Abort], sent);
            Assert.Null(SpecUnmasker.TryUnmask(deployment.Coordinator.Transcript, round, deployment.NumberOf(i)));
        }
    }

    /// <summary>Once <see cref="Replaying"/>, every client is invited to the round it was invited to first.</summary>
    private sealed class ReplayRound : AttackScript
    {
        private readonly Dictionary<string, RoundInvitation> _first = [];

        public override string Name => "replayed-round";

        public volatile bool Replaying;

        public override RoundInvitation Invite(string caller, RoundInvitation honest)
        {
            lock (_first)
            {
                _first.TryAdd(caller, honest);
                return Replaying ? _first[caller] : honest;
            }
        }
    }

    /// <summary>Once <see cref="Replaying"/>, the ShareKeysRequest of a client's first round replaces the current one.</summary>
    private sealed class ReplayMessage : AttackScript
    {
        private readonly Dictionary<int, ServerToClient> _first = [];

        public override string Name => "replayed-message";

        public volatile bool Replaying;

        public override ServerToClient Fetched(string caller, int clientNumber, Phase phase, ServerToClient honest)
        {
            if (honest.MessageCase != ServerToClient.MessageOneofCase.ShareKeysRequest)
            {
                return honest;
            }

            lock (_first)
            {
                _first.TryAdd(clientNumber, honest);
                return Replaying ? _first[clientNumber] : honest;
            }
        }
    }
}
