using SecureFedRec.Protocol.Server;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Tests;

/// <summary>Every coordinator state fed every client message kind it does not expect: rejected, nobody dropped, state untouched.</summary>
public class ServerStateTests
{
    private static readonly ClientToServer.MessageOneofCase[] Kinds =
    [
        ClientToServer.MessageOneofCase.None,
        ClientToServer.MessageOneofCase.AdvertiseKeys,
        ClientToServer.MessageOneofCase.RelabelReveal,
        ClientToServer.MessageOneofCase.ShareKeys,
        ClientToServer.MessageOneofCase.MaskedInput,
        ClientToServer.MessageOneofCase.ConsistencySignature,
        ClientToServer.MessageOneofCase.Unmasking,
    ];

    private static readonly Dictionary<Phase, ClientToServer.MessageOneofCase> Expected = new()
    {
        [Phase.AdvertiseKeys] = ClientToServer.MessageOneofCase.AdvertiseKeys,
        [Phase.RelabelReveal] = ClientToServer.MessageOneofCase.RelabelReveal,
        [Phase.ShareKeys] = ClientToServer.MessageOneofCase.ShareKeys,
        [Phase.MaskedInput] = ClientToServer.MessageOneofCase.MaskedInput,
        [Phase.ConsistencyCheck] = ClientToServer.MessageOneofCase.ConsistencySignature,
        [Phase.Unmasking] = ClientToServer.MessageOneofCase.Unmasking,
    };

    public static TheoryData<Phase, ClientToServer.MessageOneofCase> WrongInputs()
    {
        var data = new TheoryData<Phase, ClientToServer.MessageOneofCase>();
        foreach (Phase phase in Enum.GetValues<Phase>().Where(p => p != Phase.Unspecified))
        {
            foreach (ClientToServer.MessageOneofCase kind in Kinds)
            {
                if (!(Expected.TryGetValue(phase, out var e) && e == kind))
                {
                    data.Add(phase, kind);
                }
            }
        }

        return data;
    }

    private static ClientToServer Make(ClientToServer.MessageOneofCase kind) => kind switch
    {
        ClientToServer.MessageOneofCase.AdvertiseKeys => new ClientToServer { AdvertiseKeys = new AdvertiseKeys { RoundNumber = 1, Keys = new AdvertisedKey { ClientId = 1 } } },
        ClientToServer.MessageOneofCase.RelabelReveal => new ClientToServer { RelabelReveal = new RelabelReveal { RoundNumber = 1, ClientId = 1 } },
        ClientToServer.MessageOneofCase.ShareKeys => new ClientToServer { ShareKeys = new ShareKeysResponse { RoundNumber = 1, ClientId = 1 } },
        ClientToServer.MessageOneofCase.MaskedInput => new ClientToServer { MaskedInput = new MaskedInput { RoundNumber = 1, ClientId = 1 } },
        ClientToServer.MessageOneofCase.ConsistencySignature => new ClientToServer { ConsistencySignature = new ConsistencySignature { RoundNumber = 1, ClientId = 1 } },
        ClientToServer.MessageOneofCase.Unmasking => new ClientToServer { Unmasking = new UnmaskingResponse { RoundNumber = 1, ClientId = 1 } },
        _ => new ClientToServer(),
    };

    [Theory]
    [MemberData(nameof(WrongInputs))]
    public void Wrong_input_is_rejected_without_dropping_anyone(Phase phase, ClientToServer.MessageOneofCase kind)
    {
        using ManualRound round = phase == Phase.RelabelReveal ? ManualRound.Harary(ThreatMode.Malicious) : new ManualRound(ThreatMode.Malicious);
        ServerState state;
        if (phase == Phase.Completed)
        {
            round.ServerAt(Phase.Unmasking);
            round.FeedReplies();
            round.Close();
            state = round.Server;
        }
        else if (phase == Phase.Aborted)
        {
            state = round.Server.Close().State; // nobody advertised keys
        }
        else
        {
            state = round.ServerAt(phase);
        }

        Assert.Equal(phase, state.Phase);
        ServerStep step = state.Handle(1, Make(kind));

        Assert.False(step.Accepted);
        Assert.Null(step.Dropped);
        Assert.Same(state, step.State);
        Assert.Empty(state.DroppedClients);
        if (!state.IsTerminal)
        {
            Assert.True(state.Handle(1, round.Replies[1]).Accepted); // the right message is still taken
        }
    }

    [Theory]
    [InlineData(Phase.AdvertiseKeys)]
    [InlineData(Phase.ShareKeys)]
    [InlineData(Phase.MaskedInput)]
    [InlineData(Phase.ConsistencyCheck)]
    [InlineData(Phase.Unmasking)]
    [InlineData(Phase.RelabelReveal)]
    public void Duplicate_and_other_round_messages_are_rejected_not_counted(Phase phase)
    {
        using ManualRound round = phase == Phase.RelabelReveal ? ManualRound.Harary(ThreatMode.Malicious) : new ManualRound(ThreatMode.Malicious);
        ServerState state = round.ServerAt(phase);
        ClientToServer reply = round.Replies[1];
        ClientToServer otherRound = reply.Clone();
        switch (otherRound.MessageCase)
        {
            case ClientToServer.MessageOneofCase.AdvertiseKeys: otherRound.AdvertiseKeys.RoundNumber = 2; break;
            case ClientToServer.MessageOneofCase.RelabelReveal: otherRound.RelabelReveal.RoundNumber = 2; break;
            case ClientToServer.MessageOneofCase.ShareKeys: otherRound.ShareKeys.RoundNumber = 2; break;
            case ClientToServer.MessageOneofCase.MaskedInput: otherRound.MaskedInput.RoundNumber = 2; break;
            case ClientToServer.MessageOneofCase.ConsistencySignature: otherRound.ConsistencySignature.RoundNumber = 2; break;
            case ClientToServer.MessageOneofCase.Unmasking: otherRound.Unmasking.RoundNumber = 2; break;
        }

        Assert.False(state.Handle(1, otherRound).Accepted);
        Assert.True(state.Handle(1, reply).Accepted);
        ServerStep duplicate = state.Handle(1, reply);
        Assert.False(duplicate.Accepted);
        Assert.Null(duplicate.Dropped);
        Assert.False(state.Handle(9, reply).Accepted); // unknown sender
    }

    [Fact]
    public void Fewer_than_t_masked_inputs_abort_the_round_and_tell_the_clients()
    {
        using var round = new ManualRound(ThreatMode.HonestButCurious);
        round.ServerAt(Phase.MaskedInput);
        round.Server.Handle(1, round.Replies[1]);
        round.Server.Handle(2, round.Replies[2]);
        round.Replies.Clear();
        round.Close();
        ServerAbortedState aborted = Assert.IsType<ServerAbortedState>(round.Server);
        Assert.Equal(RoundOutcome.AbortedTooFewClients, aborted.Outcome);
        Assert.All(round.Pending, m => Assert.Equal(ServerToClient.MessageOneofCase.Abort, m.Message.MessageCase));
    }
}
