using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Server;

/// <summary>
/// Harary graphs only, between round 0 and round 1 (secagg.md §6.0a): collects every cohort member's relabelling reveal.
/// A reveal that is malformed drops its sender (MALFORMED), one that does not open the sender's commitment drops it
/// (BAD_REVEAL). Closing aborts the round (ABORTED_INCOMPLETE_RELABELLING) unless every cohort member revealed: the
/// permutation is derived from all reveals, so leaving one out is never an option the coordinator has. Otherwise it fixes
/// the graph and sends every member all reveals (the ShareKeysRequest).
/// </summary>
public sealed class ServerRelabelRevealState : ServerState
{
    internal ServerRelabelRevealState(ServerContext context)
        : base(context)
    {
    }

    /// <inheritdoc />
    public override Phase Phase => Phase.RelabelReveal;

    /// <inheritdoc />
    public override ServerTransition Close()
    {
        SecAggParameters p = Context.Parameters;
        int[] revealed = Live(Context.Reveals.Keys);
        if (revealed.Length != p.Count)
        {
            return AbortRound(RoundOutcome.AbortedIncompleteRelabelling, Context.Keys.Keys);
        }

        byte[] relabelSeed = Derivations.RelabelSeed(Context.SessionId, Context.Reveals.Values.Select(r => r.Seed.ToByteArray()));
        Context.Graph = p.BuildGraph(relabelSeed);
        var request = new ShareKeysRequest { RoundNumber = p.RoundNumber };
        request.Reveals.AddRange(Context.Reveals.Values);
        var message = new ServerToClient { ShareKeysRequest = request };
        return new ServerTransition(new ServerShareKeysState(Context), revealed.Select(id => new OutgoingMessage(id, message)).ToList());
    }

    private protected override ServerStep OnRelabelReveal(int sender, RelabelReveal message)
    {
        SecAggParameters p = Context.Parameters;
        if (message.RoundNumber != p.RoundNumber)
        {
            return Reject(ProtocolRejection.WrongRound, "A relabelling reveal for another round.");
        }

        if (!Context.Keys.TryGetValue(sender, out AdvertisedKey? keys))
        {
            return Reject(ProtocolRejection.SenderNotExpectedInPhase, "The sender is not in the key list.");
        }

        if (Context.Reveals.ContainsKey(sender))
        {
            return Reject(ProtocolRejection.Duplicate, "Duplicate relabelling reveal.");
        }

        if (message.ClientId != (uint)sender || message.Seed.Length != Primitives.SeedLength)
        {
            return Drop(sender, DropReason.Malformed);
        }

        if (!Primitives.FixedTimeEquals(Derivations.RelabelCommitment(p.Digest, sender, message.Seed.Span), keys.RelabelCommitment.Span))
        {
            return Drop(sender, DropReason.BadReveal);
        }

        Context.Reveals[sender] = message;
        Context.Hold(message.CalculateSize());
        return Accept();
    }
}
