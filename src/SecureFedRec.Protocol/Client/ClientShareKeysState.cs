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

        IReadOnlyList<AdvertisedKey> byId;
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

            if (ClientKeyList.Read(Context, message.Keys, out IReadOnlyList<AdvertisedKey>? list, out byte[]? session) is { } problem)
            {
                return Abort(problem);
            }

            byId = list!;
            sessionId = session!;
        }

        // Only this client's row of the graph (not the whole graph); rows are sorted by cohort index, so by id.
        int[] row = Graph.NeighbourRow.Of(p.GraphKind, p.Count, p.Degree, relabelSeed, p.IndexOf(ClientId));
        var neighbours = new List<int>(row.Length);
        var neighbourKeys = new List<AdvertisedKey>(row.Length);
        foreach (int node in row)
        {
            int id = p.IdAt(node);
            if (ClientKeyList.Find(byId, id) is { } key)
            {
                neighbours.Add(id);
                neighbourKeys.Add(key);
            }
        }

        if (neighbours.Count + 1 < p.Threshold)
        {
            return Abort(ClientAbortReason.TooFewSurvivors);
        }

        // Distinct keys: every neighbour key differs from this client's two keys and from every key before it (public
        // bytes, compared directly; k is small, so the pairwise comparison allocates nothing and costs microseconds).
        var seen = new ReadOnlyMemory<byte>[2 + (2 * neighbours.Count)];
        seen[0] = Context.CipherPublicKey;
        seen[1] = Context.MaskPublicKey;
        int seenCount = 2;
        for (int i = 0; i < neighbours.Count; i++)
        {
            int v = neighbours[i];
            AdvertisedKey key = neighbourKeys[i];
            if (!AddDistinct(seen, ref seenCount, key.CipherPublicKey.Memory) || !AddDistinct(seen, ref seenCount, key.MaskPublicKey.Memory))
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

        var encryptionKeys = new byte[neighbours.Count][];
        for (int i = 0; i < neighbours.Count; i++)
        {
            var k = new byte[Primitives.SeedLength];
            if (!Derivations.TryPairKey(p.Suite, Context.CipherKey!, neighbourKeys[i].CipherPublicKey.Span, sessionId,
                    Derivations.ShareEncryptionLabel, ClientId, neighbours[i], k))
            {
                for (int j = 0; j < i; j++)
                {
                    Primitives.Wipe(encryptionKeys[j]);
                }

                return Abort(ClientAbortReason.MalformedMessage);
            }

            encryptionKeys[i] = k;
        }

        // Holders: the neighbours in U1 and this client itself; the x-coordinate of a share is its holder's id.
        int[] holders = [.. neighbours, ClientId];
        Array.Sort(holders);

        // Both sharings are written into one rented buffer (share i of b_u at 33·i, share i of the mask key after all of
        // those), wiped before it goes back to the pool: no per-share objects.
        int shareBytes = Primitives.ShareValueLength * holders.Length;
        byte[] rented = System.Buffers.ArrayPool<byte>.Shared.Rent(2 * shareBytes);
        Span<byte> shares = rented.AsSpan(0, 2 * shareBytes);
        var response = new ShareKeysResponse { RoundNumber = p.RoundNumber, ClientId = (uint)ClientId };
        Span<byte> plaintext = stackalloc byte[Derivations.SharePlaintextLength];
        Span<byte> associatedData = stackalloc byte[Derivations.MaxShareAssociatedDataLength];
        Span<byte> maskPrivate = stackalloc byte[Primitives.SeedLength];
        try
        {
            Context.MaskKey!.ExportPrivateKey(maskPrivate);
            Primitives.SplitInto(Context.SelfSeed, p.Threshold, holders, shares[..shareBytes], Context.Rng);
            Primitives.SplitInto(maskPrivate, p.Threshold, holders, shares[shareBytes..], Context.Rng);

            int ciphertextLength = Derivations.ShareCiphertextLength;
            // One array holds every ciphertext of the response (each share wraps its slice): one allocation instead of k.
            byte[] sealedShares = new byte[neighbours.Count * ciphertextLength];
            associatedData = associatedData[..Derivations.ShareAssociatedDataLength(sessionId.Length)];
            int sent = 0;
            for (int i = 0; i < holders.Length; i++)
            {
                int v = holders[i];
                ReadOnlySpan<byte> seedShare = shares.Slice(Primitives.ShareValueLength * i, Primitives.ShareValueLength);
                ReadOnlySpan<byte> keyShare = shares.Slice(shareBytes + (Primitives.ShareValueLength * i), Primitives.ShareValueLength);
                if (v == ClientId)
                {
                    Context.HeldShares[ClientId] = (seedShare.ToArray(), keyShare.ToArray());
                    continue;
                }

                Primitives.WriteU32(plaintext, (uint)ClientId);
                Primitives.WriteU32(plaintext[4..], (uint)v);
                seedShare.CopyTo(plaintext[8..]);
                keyShare.CopyTo(plaintext[(8 + Primitives.ShareValueLength)..]);
                Derivations.WriteShareAssociatedData(sessionId, ClientId, v, associatedData);
                Memory<byte> sealedShare = sealedShares.AsMemory(sent * ciphertextLength, ciphertextLength);
                // holders is neighbours plus this client, both sorted: the sent-th neighbour is v.
                Primitives.Seal(encryptionKeys[sent], associatedData, plaintext, sealedShare.Span, Context.Rng);
                response.Shares.Add(new EncryptedShare { PeerId = (uint)v, Ciphertext = UnsafeByteOperations.UnsafeWrap(sealedShare) });
                sent++;
            }
        }
        finally
        {
            Primitives.Wipe(maskPrivate);
            Primitives.Wipe(plaintext);
            Primitives.Wipe(shares);
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }

        Context.SessionId = sessionId;
        Context.NeighbourRow = row;
        Context.KeyNeighbours = [.. neighbours];
        var maskKeys = new ReadOnlyMemory<byte>[neighbours.Count];
        for (int i = 0; i < neighbours.Count; i++)
        {
            maskKeys[i] = neighbourKeys[i].MaskPublicKey.Memory;
            Context.ShareEncryptionKeys[neighbours[i]] = encryptionKeys[i];
        }

        Context.NeighbourMaskKeys = maskKeys;

        return Next(new ClientMaskedInputState(Context), new ClientToServer { ShareKeys = response });
    }

    /// <summary>Adds <paramref name="key"/> to the first <paramref name="count"/> entries of <paramref name="seen"/> unless it
    /// equals one of them.</summary>
    private static bool AddDistinct(ReadOnlyMemory<byte>[] seen, ref int count, ReadOnlyMemory<byte> key)
    {
        ReadOnlySpan<byte> bytes = key.Span;
        for (int i = 0; i < count; i++)
        {
            if (bytes.SequenceEqual(seen[i].Span))
            {
                return false;
            }
        }

        seen[count++] = key;
        return true;
    }
}
