using Google.Protobuf;
using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Server;

/// <summary>
/// Round 1: collects each client's encrypted shares, one per neighbour in U1, exactly; a response with a missing,
/// extra, repeated or wrongly sized ciphertext drops its sender. Closing forwards to each client in U2 the shares
/// addressed to it from its neighbours in U2, and frees the ciphertexts.
/// </summary>
public sealed class ServerShareKeysState : ServerState
{
    internal ServerShareKeysState(ServerContext context)
        : base(context)
    {
    }

    /// <inheritdoc />
    public override Phase Phase => Phase.ShareKeys;

    /// <inheritdoc />
    public override ServerTransition Close()
    {
        SecAggParameters p = Context.Parameters;
        int[] u2 = Live(Context.Shares.Keys);
        if (u2.Length < p.Threshold)
        {
            return AbortRound(RoundOutcome.AbortedTooFewClients, Context.Keys.Keys);
        }

        Context.ShareSenders = u2;
        var u2Set = new HashSet<int>(u2);
        var messages = new List<OutgoingMessage>(u2.Length);
        foreach (int u in u2)
        {
            var request = new MaskedInputRequest { RoundNumber = p.RoundNumber };
            foreach (int v in Context.NeighbourIds(u).Order())
            {
                if (u2Set.Contains(v))
                {
                    request.Shares.Add(new EncryptedShare { PeerId = (uint)v, Ciphertext = Context.Shares[v][u] });
                }
            }

            messages.Add(new OutgoingMessage(u, new ServerToClient { MaskedInputRequest = request }));
        }

        long held = Context.Shares.Values.Sum(m => (long)m.Count * Derivations.ShareCiphertextLength);
        Context.Shares.Clear();
        Context.Free(held);
        Context.Sum = new uint[p.Dimension];
        Context.Hold(4L * p.Dimension);
        return new ServerTransition(new ServerMaskedInputState(Context), messages);
    }

    private protected override ServerStep OnShareKeys(int sender, ShareKeysResponse message)
    {
        SecAggParameters p = Context.Parameters;
        if (message.RoundNumber != p.RoundNumber)
        {
            return Reject(ProtocolRejection.WrongRound, "Shares for another round.");
        }

        if (!Context.Keys.ContainsKey(sender))
        {
            return Reject(ProtocolRejection.SenderNotExpectedInPhase, "The sender is not in the key list.");
        }

        if (Context.Shares.ContainsKey(sender))
        {
            return Reject(ProtocolRejection.Duplicate, "Duplicate share response.");
        }

        int[] expected = Context.NeighbourIds(sender).Where(Context.Keys.ContainsKey).Order().ToArray();
        if (message.ClientId != (uint)sender || message.Shares.Count != expected.Length)
        {
            return Drop(sender, DropReason.Malformed);
        }

        var byRecipient = new Dictionary<int, ByteString>(expected.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            EncryptedShare share = message.Shares[i];
            if (share.PeerId != (uint)expected[i] || share.Ciphertext.Length != Derivations.ShareCiphertextLength)
            {
                return Drop(sender, DropReason.Malformed);
            }

            byRecipient[expected[i]] = share.Ciphertext;
        }

        Context.Shares[sender] = byRecipient;
        Context.Hold((long)expected.Length * Derivations.ShareCiphertextLength);
        return Accept();
    }
}
