using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Server;

/// <summary>
/// Round 0: collects advertised keys. Drops a client whose key lengths are wrong, whose keys repeat another client's,
/// whose relabelling commitment is missing or of the wrong length (Harary graphs), or (malicious mode) whose signature does
/// not verify under its enrolled identity. Closing fixes the session id and sends every client in U1 the full key list (so
/// every client can compute the same session id): as the ShareKeysRequest with the full graph (whose graph is then
/// fixed), as the RelabelRevealRequest with a Harary graph, whose round aborts unless every cohort member is in U1.
/// </summary>
public sealed class ServerAdvertiseKeysState : ServerState
{
    private readonly HashSet<string> _seenKeys = new(StringComparer.Ordinal);

    internal ServerAdvertiseKeysState(ServerContext context)
        : base(context)
    {
    }

    /// <inheritdoc />
    public override Phase Phase => Phase.AdvertiseKeys;

    /// <inheritdoc />
    public override ServerTransition Close()
    {
        SecAggParameters p = Context.Parameters;
        int[] u1 = Live(Context.Keys.Keys);
        if (p.UsesRelabelling && u1.Length != p.Count)
        {
            // The relabelling needs every cohort member's committed seed (secagg.md §6.0a): no member may be left out.
            return AbortRound(RoundOutcome.AbortedIncompleteRelabelling, p.ClientIds);
        }

        if (u1.Length < p.Threshold)
        {
            return AbortRound(RoundOutcome.AbortedTooFewClients, p.ClientIds);
        }

        foreach (int id in Context.Keys.Keys.Except(u1).ToList())
        {
            Context.Keys.Remove(id);
        }

        Context.SessionId = Derivations.SessionId(p.Digest, Context.Keys.Values.Select(k =>
            new Derivations.KeyEntry((int)k.ClientId, k.CipherPublicKey.ToByteArray(), k.MaskPublicKey.ToByteArray(),
                p.UsesRelabelling ? k.RelabelCommitment.ToByteArray() : null)));
        if (p.UsesRelabelling)
        {
            var reveal = new RelabelRevealRequest { RoundNumber = p.RoundNumber };
            reveal.Keys.AddRange(Context.Keys.Values);
            var revealMessage = new ServerToClient { RelabelRevealRequest = reveal };
            return new ServerTransition(new ServerRelabelRevealState(Context), u1.Select(id => new OutgoingMessage(id, revealMessage)).ToList());
        }

        Context.Graph = p.BuildGraph(default);
        var request = new ShareKeysRequest { RoundNumber = p.RoundNumber };
        request.Keys.AddRange(Context.Keys.Values);
        var message = new ServerToClient { ShareKeysRequest = request };
        return new ServerTransition(new ServerShareKeysState(Context), u1.Select(id => new OutgoingMessage(id, message)).ToList());
    }

    private protected override ServerStep OnAdvertiseKeys(int sender, AdvertiseKeys message)
    {
        SecAggParameters p = Context.Parameters;
        if (message.RoundNumber != p.RoundNumber)
        {
            return Reject(ProtocolRejection.WrongRound, "Advertised keys for another round.");
        }

        if (Context.Keys.ContainsKey(sender))
        {
            return Reject(ProtocolRejection.Duplicate, "Duplicate advertised keys.");
        }

        AdvertisedKey? keys = message.Keys;
        int keyLength = Primitives.PublicKeyLength(p.Suite);
        if (keys is null || keys.ClientId != (uint)sender || keys.CipherPublicKey.Length != keyLength
            || keys.MaskPublicKey.Length != keyLength
            || keys.Signature.Length != (p.IsMalicious ? Primitives.SignatureLength : 0)
            || keys.RelabelCommitment.Length != (p.UsesRelabelling ? Primitives.DigestLength : 0))
        {
            return Drop(sender, DropReason.Malformed);
        }

        if (p.IsMalicious)
        {
            byte[] signed = Derivations.AdvertiseMessage(p.Digest, sender, keys.CipherPublicKey.Span, keys.MaskPublicKey.Span,
                p.UsesRelabelling ? keys.RelabelCommitment.ToByteArray() : null);
            if (!Context.Options.EnrolledIdentities!.TryGetValue(sender, out Crypto.IdentityPublicKey identity)
                || !Primitives.Verify(identity, signed, keys.Signature.Span))
            {
                return Drop(sender, DropReason.BadSignature);
            }
        }

        string c = Convert.ToHexString(keys.CipherPublicKey.Span);
        string s = Convert.ToHexString(keys.MaskPublicKey.Span);
        if (c == s || _seenKeys.Contains(c) || _seenKeys.Contains(s))
        {
            return Drop(sender, DropReason.BadKey);
        }

        _seenKeys.Add(c);
        _seenKeys.Add(s);
        Context.Keys[sender] = keys;
        Context.Hold(keys.CalculateSize());
        return Accept();
    }
}
