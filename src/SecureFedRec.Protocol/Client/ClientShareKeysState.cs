using Google.Protobuf;
using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Client;

/// <summary>
/// Round 1 (Bonawitz Fig. 4 "ShareKeys"): accepts the key list U1 (full graph) or every member's relabelling reveal (Harary
/// graphs, whose key list came in <see cref="ClientRelabelRevealState"/>), checks it (own keys unchanged, ids known and
/// unique, key lengths, reveals opening their commitments, distinct keys, signatures in malicious mode, at least t keys in
/// the neighbourhood), fixes the session id and the graph, splits b_u and the private key of s_u t-out-of-|N[u] ∩ U1| and sends each neighbour its two shares, encrypted.
/// </summary>
public sealed class ClientShareKeysState : ClientState
{
    internal ClientShareKeysState(ClientContext context)
        : base(context)
    {
    }

    /// <inheritdoc />
    public override Phase Phase => Phase.ShareKeys;

    private protected override ClientStep OnShareKeysRequest(ShareKeysRequest message)
    {
        SecAggParameters p = Context.P;
        if (message.RoundNumber != p.RoundNumber)
        {
            return Abort(ClientAbortReason.WrongSession);
        }

        IReadOnlyDictionary<int, AdvertisedKey> byId;
        byte[] sessionId;
        byte[]? relabelSeed = null;
        if (p.UsesRelabelling)
        {
            // The key list came (and was checked) in the reveal phase; this message carries every member's reveal.
            if (message.Keys.Count != 0)
            {
                return Abort(ClientAbortReason.MalformedMessage);
            }

            if (ClientKeyList.ReadReveals(Context, message.Reveals, out relabelSeed) is { } revealProblem)
            {
                return Abort(revealProblem);
            }

            byId = Context.KeyList!;
            sessionId = Context.SessionId;
        }
        else
        {
            if (message.Reveals.Count != 0)
            {
                return Abort(ClientAbortReason.MalformedMessage);
            }

            if (ClientKeyList.Read(Context, message.Keys, out Dictionary<int, AdvertisedKey>? list, out byte[]? session) is { } problem)
            {
                return Abort(problem);
            }

            byId = list!;
            sessionId = session!;
        }

        Graph.NeighbourGraph graph = p.BuildGraph(relabelSeed);
        var neighbours = new List<int>();
        foreach (int node in graph.NeighboursOf(p.IndexOf(ClientId)))
        {
            int id = p.IdAt(node);
            if (byId.ContainsKey(id))
            {
                neighbours.Add(id);
            }
        }

        neighbours.Sort();
        if (neighbours.Count + 1 < p.Threshold)
        {
            return Abort(ClientAbortReason.TooFewSurvivors);
        }

        var seen = new HashSet<string>(StringComparer.Ordinal)
        {
            Convert.ToHexString(Context.CipherPublicKey),
            Convert.ToHexString(Context.MaskPublicKey),
        };
        foreach (int v in neighbours)
        {
            AdvertisedKey key = byId[v];
            if (!seen.Add(Convert.ToHexString(key.CipherPublicKey.Span)) || !seen.Add(Convert.ToHexString(key.MaskPublicKey.Span)))
            {
                return Abort(ClientAbortReason.MalformedMessage);
            }

            if (p.IsMalicious)
            {
                if (!Context.Options.EnrolledIdentities!.TryGetValue(v, out Crypto.IdentityPublicKey identity))
                {
                    return Abort(ClientAbortReason.UnknownOrDuplicateClient);
                }

                byte[] signed = Derivations.AdvertiseMessage(p.Digest, v, key.CipherPublicKey.Span, key.MaskPublicKey.Span,
                    p.UsesRelabelling ? key.RelabelCommitment.ToByteArray() : null);
                if (!Primitives.Verify(identity, signed, key.Signature.Span))
                {
                    return Abort(ClientAbortReason.BadSignature);
                }
            }
        }

        var encryptionKeys = new Dictionary<int, byte[]>(neighbours.Count);
        foreach (int v in neighbours)
        {
            var k = new byte[Primitives.SeedLength];
            if (!Derivations.TryPairKey(p.Suite, Context.CipherKey!, byId[v].CipherPublicKey.Span, sessionId,
                    Derivations.ShareEncryptionLabel, ClientId, v, k))
            {
                foreach (byte[] derived in encryptionKeys.Values)
                {
                    Primitives.Wipe(derived);
                }

                return Abort(ClientAbortReason.MalformedMessage);
            }

            encryptionKeys[v] = k;
        }

        // Holders: the neighbours in U1 and this client itself; the x-coordinate of a share is its holder's id.
        int[] holders = [.. neighbours, ClientId];
        Array.Sort(holders);
        byte[] maskPrivate = new byte[Primitives.SeedLength];
        byte[][] seedShares;
        byte[][] keyShares;
        try
        {
            Context.MaskKey!.ExportPrivateKey(maskPrivate);
            seedShares = Primitives.Split(Context.SelfSeed, p.Threshold, holders, Context.Rng);
            keyShares = Primitives.Split(maskPrivate, p.Threshold, holders, Context.Rng);
        }
        finally
        {
            Primitives.Wipe(maskPrivate);
        }

        var response = new ShareKeysResponse { RoundNumber = p.RoundNumber, ClientId = (uint)ClientId };
        byte[] plaintext = new byte[Derivations.SharePlaintextLength];
        try
        {
            for (int i = 0; i < holders.Length; i++)
            {
                int v = holders[i];
                if (v == ClientId)
                {
                    Context.HeldShares[ClientId] = (seedShares[i], keyShares[i]);
                    continue;
                }

                Primitives.WriteU32(plaintext, (uint)ClientId);
                Primitives.WriteU32(plaintext.AsSpan(4), (uint)v);
                seedShares[i].CopyTo(plaintext.AsSpan(8));
                keyShares[i].CopyTo(plaintext.AsSpan(8 + Primitives.ShareValueLength));
                var sealedShare = new byte[Derivations.ShareCiphertextLength];
                Primitives.Seal(encryptionKeys[v], Derivations.ShareAssociatedData(sessionId, ClientId, v), plaintext,
                    sealedShare, Context.Rng);
                response.Shares.Add(new EncryptedShare { PeerId = (uint)v, Ciphertext = UnsafeByteOperations.UnsafeWrap(sealedShare) });
                Primitives.Wipe(seedShares[i]);
                Primitives.Wipe(keyShares[i]);
            }
        }
        finally
        {
            Primitives.Wipe(plaintext);
        }

        Context.SessionId = sessionId;
        Context.Graph = graph;
        Context.KeyNeighbours = [.. neighbours];
        foreach (int v in neighbours)
        {
            Context.PeerMaskKeys[v] = byId[v].MaskPublicKey.ToByteArray();
            Context.ShareEncryptionKeys[v] = encryptionKeys[v];
        }

        return Next(new ClientMaskedInputState(Context), new ClientToServer { ShareKeys = response });
    }
}
