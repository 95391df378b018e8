using Google.Protobuf;
using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Client;

/// <summary>
/// Harary graphs only, between round 0 and round 1 (secagg.md §6.0a): accepts the complete key list — every cohort
/// member's keys and relabelling commitment, which fixes the session id — and only then reveals this client's relabelling
/// seed r_u. The coordinator cannot choose the graph: by the time r_u leaves this client, every commitment is fixed, and
/// the permutation needs every member's reveal.
/// </summary>
public sealed class ClientRelabelRevealState : ClientState
{
    internal ClientRelabelRevealState(ClientContext context)
        : base(context)
    {
    }

    /// <inheritdoc />
    public override Phase Phase => Phase.RelabelReveal;

    private protected override ClientStep OnRelabelRevealRequest(RelabelRevealRequest message)
    {
        SecAggParameters p = Context.P;
        if (message.RoundNumber != p.RoundNumber)
        {
            return Abort(ClientAbortReason.WrongSession);
        }

        if (ClientKeyList.Read(Context, message.Keys, out IReadOnlyList<AdvertisedKey>? byId, out byte[]? sessionId) is { } problem)
        {
            return Abort(problem);
        }

        Context.KeyList = byId;
        Context.SessionId = sessionId!;
        var reply = new ClientToServer
        {
            RelabelReveal = new RelabelReveal
            {
                RoundNumber = p.RoundNumber,
                ClientId = (uint)ClientId,
                Seed = ByteString.CopyFrom(Context.RelabelSeed),
            },
        };
        return Next(new ClientShareKeysState(Context), reply);
    }
}

/// <summary>Reads and checks a key list (the ShareKeysRequest of a full-graph round, the RelabelRevealRequest of a Harary one).</summary>
internal static class ClientKeyList
{
    /// <summary>
    /// Checks, in order: ids strictly increasing and in the cohort (UNKNOWN_OR_DUPLICATE_CLIENT); key, signature and
    /// commitment lengths (MALFORMED_MESSAGE); the own entry byte-identical to what this client advertised
    /// (OWN_KEY_SUBSTITUTED); Harary: every cohort member present (MISSING_RELABEL_REVEAL). Then computes the session id.
    /// Returns null when the list is acceptable.
    /// </summary>
    /// <remarks>The accepted list is the message's own (read-only) list, ids strictly increasing: lookups are a binary
    /// search (<see cref="Find"/>), so no n-entry dictionary is built per client (≈ 30 KiB per client per round at n = 1,000).</remarks>
    public static ClientAbortReason? Read(ClientContext context, IReadOnlyList<AdvertisedKey> keys,
        out IReadOnlyList<AdvertisedKey>? byId, out byte[]? sessionId)
    {
        SecAggParameters p = context.P;
        byId = null;
        sessionId = null;
        bool relabel = p.UsesRelabelling;
        int keyLength = Primitives.PublicKeyLength(p.Suite);
        using var session = new Derivations.StreamedHash(Derivations.SessionPurpose, p.Digest);
        uint previous = 0;
        foreach (AdvertisedKey key in keys)
        {
            if (key.ClientId <= previous || key.ClientId > int.MaxValue || !p.Contains((int)key.ClientId))
            {
                return ClientAbortReason.UnknownOrDuplicateClient;
            }

            previous = key.ClientId;
            if (key.CipherPublicKey.Length != keyLength || key.MaskPublicKey.Length != keyLength
                || key.Signature.Length != (p.IsMalicious ? Primitives.SignatureLength : 0)
                || key.RelabelCommitment.Length != (relabel ? Primitives.DigestLength : 0))
            {
                return ClientAbortReason.MalformedMessage;
            }

            // Ids strictly increase, so the entries stream into the session id in its order (no copy of the list).
            session.AddKeyEntry((int)key.ClientId, key.CipherPublicKey.Span, key.MaskPublicKey.Span);
            if (relabel)
            {
                session.AddPart(key.RelabelCommitment.Span);
            }
        }

        if (Find(keys, context.Id) is not { } own
            || !own.CipherPublicKey.Span.SequenceEqual(context.CipherPublicKey)
            || !own.MaskPublicKey.Span.SequenceEqual(context.MaskPublicKey)
            || (relabel && !own.RelabelCommitment.Span.SequenceEqual(context.RelabelCommitment)))
        {
            return ClientAbortReason.OwnKeySubstituted;
        }

        if (relabel && keys.Count != p.Count)
        {
            return ClientAbortReason.MissingRelabelReveal;
        }

        byId = keys;
        sessionId = session.Finish();
        return null;
    }

    /// <summary>The entry of <paramref name="clientId"/> in a key list accepted by <see cref="Read"/> (ids strictly
    /// increasing), or null: a binary search, no allocation.</summary>
    public static AdvertisedKey? Find(IReadOnlyList<AdvertisedKey> keys, int clientId)
    {
        int lo = 0;
        int hi = keys.Count - 1;
        while (lo <= hi)
        {
            int mid = lo + ((hi - lo) >> 1);
            AdvertisedKey key = keys[mid];
            long id = key.ClientId;
            if (id == clientId)
            {
                return key;
            }

            if (id < clientId)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return null;
    }

    /// <summary>
    /// Checks the relabelling reveals of a Harary ShareKeysRequest against the stored key list and returns the relabelling
    /// seed: ids strictly increasing and in the cohort (UNKNOWN_OR_DUPLICATE_CLIENT), every member present
    /// (MISSING_RELABEL_REVEAL), round numbers (WRONG_SESSION), 32-byte seeds (MALFORMED_MESSAGE), this client's own
    /// reveal unchanged and every reveal opening its member's commitment (WRONG_RELABEL_REVEAL).
    /// </summary>
    public static ClientAbortReason? ReadReveals(ClientContext context, IReadOnlyList<RelabelReveal> reveals, out byte[]? relabelSeed)
    {
        SecAggParameters p = context.P;
        relabelSeed = null;
        uint previous = 0;
        foreach (RelabelReveal reveal in reveals)
        {
            if (reveal.ClientId <= previous || reveal.ClientId > int.MaxValue || !p.Contains((int)reveal.ClientId))
            {
                return ClientAbortReason.UnknownOrDuplicateClient;
            }

            previous = reveal.ClientId;
        }

        if (reveals.Count != p.Count)
        {
            return ClientAbortReason.MissingRelabelReveal;
        }

        // The reveals are in cohort order (checked above), so they stream into the relabelling seed as they are checked;
        // every commitment is recomputed on one reused hash into a stack buffer.
        using var seedHash = new Derivations.StreamedHash(Derivations.RelabelSeedPurpose, context.SessionId);
        using var commitments = new Derivations.StreamedHash();
        Span<byte> commitment = stackalloc byte[Primitives.DigestLength];
        foreach (RelabelReveal reveal in reveals)
        {
            int id = (int)reveal.ClientId;
            if (reveal.RoundNumber != p.RoundNumber)
            {
                return ClientAbortReason.WrongSession;
            }

            if (reveal.Seed.Length != Primitives.SeedLength)
            {
                return ClientAbortReason.MalformedMessage;
            }

            ReadOnlySpan<byte> seed = reveal.Seed.Span;
            bool opens;
            if (id == context.Id)
            {
                opens = Primitives.FixedTimeEquals(seed, context.RelabelSeed);
            }
            else
            {
                commitments.Commitment(p.Digest, id, seed, commitment);
                opens = Primitives.FixedTimeEquals(commitment, Find(context.KeyList!, id)!.RelabelCommitment.Span);
            }

            if (!opens)
            {
                return ClientAbortReason.WrongRelabelReveal;
            }

            seedHash.AddPart(seed);
        }

        relabelSeed = seedHash.Finish();
        return null;
    }
}
