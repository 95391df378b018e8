using Google.Protobuf;
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
            if (!Context.Options.EnrolledIdentities!.TryGetValue(sender, out byte[]? identity)
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

/// <summary>
/// Round 3 (malicious mode): collects each survivor's signature over session id ‖ round ‖ U3; a signature that does
/// not verify under the enrolled identity drops its sender. Closing sends each signer the survivor list, the dropped
/// list and the signatures of its surviving neighbours.
/// </summary>
public sealed class ServerConsistencyCheckState : ServerState
{
    private readonly byte[] _signedMessage;

    internal ServerConsistencyCheckState(ServerContext context)
        : base(context) =>
        _signedMessage = Derivations.ConsistencyMessage(context.SessionId, context.Parameters.RoundNumber, context.Survivors);

    /// <inheritdoc />
    public override Phase Phase => Phase.ConsistencyCheck;

    /// <inheritdoc />
    public override ServerTransition Close()
    {
        int[] u4 = Live(Context.Signatures.Keys);
        return u4.Length < Context.Parameters.Threshold
            ? AbortRound(RoundOutcome.AbortedTooFewClients, Context.Survivors)
            : ServerUnmaskingState.Open(Context, u4);
    }

    private protected override ServerStep OnConsistencySignature(int sender, ConsistencySignature message)
    {
        if (message.RoundNumber != Context.Parameters.RoundNumber)
        {
            return Reject(ProtocolRejection.WrongRound, "A signature for another round.");
        }

        if (Array.BinarySearch(Context.Survivors, sender) < 0)
        {
            return Reject(ProtocolRejection.SenderNotExpectedInPhase, "The sender is not a survivor.");
        }

        if (Context.Signatures.ContainsKey(sender))
        {
            return Reject(ProtocolRejection.Duplicate, "Duplicate signature.");
        }

        if (message.ClientId != (uint)sender || message.Signature.Length != Primitives.SignatureLength)
        {
            return Drop(sender, DropReason.Malformed);
        }

        if (!Context.Options.EnrolledIdentities!.TryGetValue(sender, out byte[]? identity)
            || !Primitives.Verify(identity, _signedMessage, message.Signature.Span))
        {
            return Drop(sender, DropReason.BadSignature);
        }

        Context.Signatures[sender] = message.Signature;
        Context.Hold(Primitives.SignatureLength);
        return Accept();
    }
}
