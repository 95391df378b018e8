using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Server;

/// <summary>
/// Round 0: collects advertised keys. Drops a client whose key lengths are wrong, whose keys repeat another client's,
/// or (malicious mode) whose signature does not verify under its enrolled identity. Closing sends every client in U1
/// the full key list (so every client can compute the same session id) and fixes the session id and neighbour graph.
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
        if (u1.Length < p.Threshold)
        {
            return AbortRound(RoundOutcome.AbortedTooFewClients, p.ClientIds);
        }

        foreach (int id in Context.Keys.Keys.Except(u1).ToList())
        {
            Context.Keys.Remove(id);
        }

        Context.SessionId = Derivations.SessionId(p.Digest, Context.Keys.Values.Select(k =>
            new Derivations.KeyEntry((int)k.ClientId, k.CipherPublicKey.ToByteArray(), k.MaskPublicKey.ToByteArray())));
        Context.Graph = p.BuildGraph(Context.SessionId);
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
            || keys.Signature.Length != (p.IsMalicious ? Primitives.SignatureLength : 0))
        {
            return Drop(sender, DropReason.Malformed);
        }

        if (p.IsMalicious)
        {
            byte[] signed = Derivations.AdvertiseMessage(p.Digest, sender, keys.CipherPublicKey.Span, keys.MaskPublicKey.Span);
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
