using Google.Protobuf;
using SecureFedRec.Protocol.Client;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Tests;

/// <summary>Every client state fed every message kind it does not expect: rejected, state untouched, and the right message still works.</summary>
public class ClientStateTests
{
    private static readonly ServerToClient.MessageOneofCase[] Kinds =
    [
        ServerToClient.MessageOneofCase.None,
        ServerToClient.MessageOneofCase.BeginRound,
        ServerToClient.MessageOneofCase.RelabelRevealRequest,
        ServerToClient.MessageOneofCase.ShareKeysRequest,
        ServerToClient.MessageOneofCase.MaskedInputRequest,
        ServerToClient.MessageOneofCase.ConsistencyCheckRequest,
        ServerToClient.MessageOneofCase.UnmaskingRequest,
        ServerToClient.MessageOneofCase.Result,
        ServerToClient.MessageOneofCase.Abort,
    ];

    private static readonly Dictionary<Phase, ServerToClient.MessageOneofCase> Expected = new()
    {
        [Phase.AdvertiseKeys] = ServerToClient.MessageOneofCase.BeginRound,
        [Phase.RelabelReveal] = ServerToClient.MessageOneofCase.RelabelRevealRequest,
        [Phase.ShareKeys] = ServerToClient.MessageOneofCase.ShareKeysRequest,
        [Phase.MaskedInput] = ServerToClient.MessageOneofCase.MaskedInputRequest,
        [Phase.ConsistencyCheck] = ServerToClient.MessageOneofCase.ConsistencyCheckRequest,
        [Phase.Unmasking] = ServerToClient.MessageOneofCase.UnmaskingRequest,
    };

    public static TheoryData<Phase, ServerToClient.MessageOneofCase> WrongInputs()
    {
        var data = new TheoryData<Phase, ServerToClient.MessageOneofCase>();
        foreach (Phase phase in Enum.GetValues<Phase>().Where(p => p != Phase.Unspecified))
        {
            foreach (ServerToClient.MessageOneofCase kind in Kinds)
            {
                bool expected = Expected.TryGetValue(phase, out var e) && e == kind;
                // An abort is an input of every non-terminal state once the round is known.
                bool abortAccepted = kind == ServerToClient.MessageOneofCase.Abort
                    && phase is not (Phase.AdvertiseKeys or Phase.Completed or Phase.Aborted);
                if (!expected && !abortAccepted)
                {
                    data.Add(phase, kind);
                }
            }
        }

        return data;
    }

    internal static ServerToClient Make(ServerToClient.MessageOneofCase kind, SecAggParameters p) => kind switch
    {
        ServerToClient.MessageOneofCase.BeginRound => new ServerToClient { BeginRound = new BeginRound { Parameters = p.ToWire() } },
        ServerToClient.MessageOneofCase.RelabelRevealRequest => new ServerToClient { RelabelRevealRequest = new RelabelRevealRequest { RoundNumber = p.RoundNumber } },
        ServerToClient.MessageOneofCase.ShareKeysRequest => new ServerToClient { ShareKeysRequest = new ShareKeysRequest { RoundNumber = p.RoundNumber } },
        ServerToClient.MessageOneofCase.MaskedInputRequest => new ServerToClient { MaskedInputRequest = new MaskedInputRequest { RoundNumber = p.RoundNumber } },
        ServerToClient.MessageOneofCase.ConsistencyCheckRequest => new ServerToClient { ConsistencyCheckRequest = new ConsistencyCheckRequest { RoundNumber = p.RoundNumber } },
        ServerToClient.MessageOneofCase.UnmaskingRequest => new ServerToClient { UnmaskingRequest = new UnmaskingRequest { RoundNumber = p.RoundNumber } },
        ServerToClient.MessageOneofCase.Result => new ServerToClient { Result = new RoundResult { RoundNumber = p.RoundNumber, Outcome = RoundOutcome.Completed } },
        ServerToClient.MessageOneofCase.Abort => new ServerToClient { Abort = new AbortRound { RoundNumber = p.RoundNumber, Outcome = RoundOutcome.AbortedByOperator } },
        _ => new ServerToClient(),
    };

    private static (ClientState State, ServerToClient? Correct) Reach(ManualRound round, Phase phase)
    {
        switch (phase)
        {
            case Phase.Completed:
                round.ClientAt(Phase.Unmasking);
                round.DeliverPending();
                return (round.Clients[1], null);
            case Phase.Aborted:
                ClientState start = round.Clients[1];
                ServerToClient bad = Make(ServerToClient.MessageOneofCase.BeginRound, round.P);
                bad.BeginRound.Parameters.Threshold = 99;
                return (start.Handle(bad).State, null);
            default:
                ClientState state = round.ClientAt(phase);
                return (state, round.PendingFor(1));
        }
    }

    [Theory]
    [MemberData(nameof(WrongInputs))]
    public void Wrong_input_is_rejected_and_leaves_the_state_untouched(Phase phase, ServerToClient.MessageOneofCase kind)
    {
        using ManualRound round = phase == Phase.RelabelReveal ? ManualRound.Harary(ThreatMode.Malicious) : new ManualRound(ThreatMode.Malicious);
        (ClientState state, ServerToClient? correct) = Reach(round, phase);
        Assert.Equal(phase, state.Phase);

        ClientStep step = state.Handle(Make(kind, round.P));

        Assert.False(step.Accepted);
        Assert.Same(state, step.State);
        Assert.Null(step.Message);
        Assert.NotNull(step.Rejection);
        Assert.Equal(phase, state.Phase);
        if (correct is not null)
        {
            ClientStep next = state.Handle(correct);
            Assert.True(next.Accepted);
            Assert.NotEqual(Phase.Aborted, next.State.Phase);
        }
    }

    public enum Mutation
    {
        BeginRoundInvalidThreshold,
        BeginRoundNotInCohort,
        KeyListWrongRound,
        KeyListUnknownId,
        KeyListDuplicateId,
        KeyListKeyTooShort,
        KeyListTooFewKeys,
        KeyListOwnKeyMissing,
        SharesUnknownSender,
        SharesFlippedCiphertextByte,
        SharesTooFew,
        SharesFromTheWrongSender,
        ConsistencyListWithoutMe,
        ConsistencyListUnknownId,
        UnmaskingNeighbourInNeitherList,
        UnmaskingSignatureForged,
        UnmaskingDuplicateSignature,
    }

    [Theory]
    [InlineData(Mutation.BeginRoundInvalidThreshold, Phase.AdvertiseKeys, ClientAbortReason.InvalidParameters)]
    [InlineData(Mutation.BeginRoundNotInCohort, Phase.AdvertiseKeys, ClientAbortReason.InvalidParameters)]
    [InlineData(Mutation.KeyListWrongRound, Phase.ShareKeys, ClientAbortReason.WrongSession)]
    [InlineData(Mutation.KeyListUnknownId, Phase.ShareKeys, ClientAbortReason.UnknownOrDuplicateClient)]
    [InlineData(Mutation.KeyListDuplicateId, Phase.ShareKeys, ClientAbortReason.UnknownOrDuplicateClient)]
    [InlineData(Mutation.KeyListKeyTooShort, Phase.ShareKeys, ClientAbortReason.MalformedMessage)]
    [InlineData(Mutation.KeyListTooFewKeys, Phase.ShareKeys, ClientAbortReason.TooFewSurvivors)]
    [InlineData(Mutation.KeyListOwnKeyMissing, Phase.ShareKeys, ClientAbortReason.OwnKeySubstituted)]
    [InlineData(Mutation.SharesUnknownSender, Phase.MaskedInput, ClientAbortReason.UnknownOrDuplicateClient)]
    [InlineData(Mutation.SharesFlippedCiphertextByte, Phase.MaskedInput, ClientAbortReason.BadCiphertext)]
    [InlineData(Mutation.SharesTooFew, Phase.MaskedInput, ClientAbortReason.TooFewSurvivors)]
    [InlineData(Mutation.SharesFromTheWrongSender, Phase.MaskedInput, ClientAbortReason.BadCiphertext)]
    [InlineData(Mutation.ConsistencyListWithoutMe, Phase.ConsistencyCheck, ClientAbortReason.InconsistentSurvivors)]
    [InlineData(Mutation.ConsistencyListUnknownId, Phase.ConsistencyCheck, ClientAbortReason.UnknownOrDuplicateClient)]
    [InlineData(Mutation.UnmaskingNeighbourInNeitherList, Phase.Unmasking, ClientAbortReason.InconsistentSurvivors)]
    [InlineData(Mutation.UnmaskingSignatureForged, Phase.Unmasking, ClientAbortReason.BadSignature)]
    [InlineData(Mutation.UnmaskingDuplicateSignature, Phase.Unmasking, ClientAbortReason.UnknownOrDuplicateClient)]
    public void Invalid_content_aborts_with_the_typed_reason_and_reveals_only_the_reason(Mutation mutation, Phase phase,
        ClientAbortReason expected)
    {
        using var round = new ManualRound(ThreatMode.Malicious);
        ClientState state = round.ClientAt(phase);
        ServerToClient m = round.PendingFor(1).Clone();
        switch (mutation)
        {
            case Mutation.BeginRoundInvalidThreshold: m.BeginRound.Parameters.Threshold = 1; break;
            case Mutation.BeginRoundNotInCohort: m.BeginRound.Parameters.ClientIds.Remove(1); m.BeginRound.Parameters.GraphDegree = 2; break;
            case Mutation.KeyListWrongRound: m.ShareKeysRequest.RoundNumber = 2; break;
            case Mutation.KeyListUnknownId: m.ShareKeysRequest.Keys[3].ClientId = 9; break;
            case Mutation.KeyListDuplicateId: m.ShareKeysRequest.Keys[2].ClientId = 2; break;
            case Mutation.KeyListKeyTooShort: m.ShareKeysRequest.Keys[1].MaskPublicKey = ByteString.CopyFrom(new byte[31]); break;
            case Mutation.KeyListTooFewKeys: m.ShareKeysRequest.Keys.RemoveAt(3); m.ShareKeysRequest.Keys.RemoveAt(2); break;
            case Mutation.KeyListOwnKeyMissing: m.ShareKeysRequest.Keys.RemoveAt(0); break;
            case Mutation.SharesUnknownSender: m.MaskedInputRequest.Shares[2].PeerId = 9; break;
            case Mutation.SharesFlippedCiphertextByte:
                byte[] c = m.MaskedInputRequest.Shares[0].Ciphertext.ToByteArray();
                c[20] ^= 1;
                m.MaskedInputRequest.Shares[0].Ciphertext = ByteString.CopyFrom(c);
                break;
            case Mutation.SharesTooFew: m.MaskedInputRequest.Shares.RemoveAt(2); m.MaskedInputRequest.Shares.RemoveAt(1); break;
            case Mutation.SharesFromTheWrongSender:
                (m.MaskedInputRequest.Shares[0].Ciphertext, m.MaskedInputRequest.Shares[1].Ciphertext) =
                    (m.MaskedInputRequest.Shares[1].Ciphertext, m.MaskedInputRequest.Shares[0].Ciphertext);
                break;
            case Mutation.ConsistencyListWithoutMe: m.ConsistencyCheckRequest.Survivors.Remove(1); break;
            case Mutation.ConsistencyListUnknownId: m.ConsistencyCheckRequest.Survivors.Add(9); break;
            case Mutation.UnmaskingNeighbourInNeitherList:
                // A survivor named in neither list: the list no longer matches the signed one.
                m.UnmaskingRequest.Survivors.Remove(4);
                break;
            case Mutation.UnmaskingSignatureForged:
                byte[] s = m.UnmaskingRequest.Signatures[0].Signature.ToByteArray();
                s[5] ^= 1;
                m.UnmaskingRequest.Signatures[0].Signature = ByteString.CopyFrom(s);
                break;
            case Mutation.UnmaskingDuplicateSignature: m.UnmaskingRequest.Signatures.Add(m.UnmaskingRequest.Signatures[^1]); break;
        }

        ClientStep step = state.Handle(m);

        Assert.True(step.Accepted);
        ClientAbortedState aborted = Assert.IsType<ClientAbortedState>(step.State);
        Assert.Equal(expected, aborted.Reason);
        Assert.Equal(ClientToServer.MessageOneofCase.Abort, step.Message!.MessageCase);
        Assert.Equal(expected, step.Message.Abort.Reason);
        Assert.False(aborted.Handle(round.PendingFor(1)).Accepted);
    }
}
