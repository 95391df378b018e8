using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Server;

/// <summary>
/// Round 2: adds each masked input into the running sum as it arrives (O(d) memory, never O(n·d)); a vector of the
/// wrong length or with a word ≥ 2^b drops its sender and leaves the sum unchanged. Closing fixes the survivors U3
/// and asks them for the consistency signature (malicious mode) or for the unmasking shares.
/// </summary>
public sealed class ServerMaskedInputState : ServerState
{
    internal ServerMaskedInputState(ServerContext context)
        : base(context)
    {
    }

    /// <inheritdoc />
    public override Phase Phase => Phase.MaskedInput;

    /// <inheritdoc />
    public override ServerTransition Close()
    {
        SecAggParameters p = Context.Parameters;
        // A client whose masked input is in the sum stays a survivor even if it aborts later: its self mask must go.
        int[] u3 = [.. Context.MaskedInputSenders.Order()];

        if (u3.Length < p.Threshold)
        {
            return AbortRound(RoundOutcome.AbortedTooFewClients, Context.ShareSenders);
        }

        Context.Survivors = u3;
        if (p.IsMalicious)
        {
            var request = new ConsistencyCheckRequest { RoundNumber = p.RoundNumber };
            request.Survivors.AddRange(u3.Select(id => (uint)id));
            var message = new ServerToClient { ConsistencyCheckRequest = request };
            return new ServerTransition(new ServerConsistencyCheckState(Context), u3.Select(id => new OutgoingMessage(id, message)).ToList());
        }

        return ServerUnmaskingState.Open(Context, u3);
    }

    private protected override ServerStep OnMaskedInput(int sender, MaskedInput message)
    {
        SecAggParameters p = Context.Parameters;
        if (message.RoundNumber != p.RoundNumber)
        {
            return Reject(ProtocolRejection.WrongRound, "A masked input for another round.");
        }

        if (Array.BinarySearch(Context.ShareSenders, sender) < 0)
        {
            return Reject(ProtocolRejection.SenderNotExpectedInPhase, "The sender did not share keys.");
        }

        if (Context.MaskedInputSenders.Contains(sender))
        {
            return Reject(ProtocolRejection.Duplicate, "Duplicate masked input.");
        }

        if (message.ClientId != (uint)sender || !VectorCodec.TryAccumulate(message.MaskedVector.Span, p.ValueMask, Context.Sum))
        {
            return Drop(sender, DropReason.Malformed);
        }

        Context.MaskedInputSenders.Add(sender);
        return Accept();
    }
}
