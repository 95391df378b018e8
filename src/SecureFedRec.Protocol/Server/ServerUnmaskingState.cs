using System.Buffers;
using System.Collections.Concurrent;
using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Server;

/// <summary>
/// Round 4: collects revealed shares (for each neighbour of the sender in U2: its self-seed share if the neighbour
/// survived, its mask-key share if it dropped; anything else drops the sender with <c>BadShare</c>). Closing
/// reconstructs every survivor's self-mask seed and every dropped client's mask key (holder sets chosen so that Lagrange
/// coefficients are shared across owners) and removes the masks from the running sum in one parallel pass on
/// <see cref="ServerOptions.Threads"/> threads (a dropped owner's pair masks, or a group of survivors' self masks, fused in
/// L1-sized chunks per work item), each adding into its own pooled d-word accumulator (cleared before and after use),
/// merged at the end only if every owner succeeded (memory: (threads + 1)·d words).
/// </summary>
public sealed class ServerUnmaskingState : ServerState
{
    internal ServerUnmaskingState(ServerContext context)
        : base(context)
    {
    }

    /// <inheritdoc />
    public override Phase Phase => Phase.Unmasking;

    internal static ServerTransition Open(ServerContext context, int[] recipients)
    {
        SecAggParameters p = context.Parameters;
        int[] dropped = context.ShareSenders.Except(context.Survivors).Order().ToArray();
        uint[] survivorIds = Array.ConvertAll(context.Survivors, id => (uint)id);
        uint[] droppedIds = Array.ConvertAll(dropped, id => (uint)id);
        var messages = new List<OutgoingMessage>(recipients.Length);
        if (!p.IsMalicious)
        {
            // Every recipient gets the same request (the survivor and dropped lists): one message object for all of them,
            // as the other broadcast phases do (an n-entry list per recipient was ≈ 8 MiB per round at n = 1,000).
            var shared = new ServerToClient { UnmaskingRequest = NewRequest(p, survivorIds, droppedIds) };
            foreach (int u in recipients)
            {
                messages.Add(new OutgoingMessage(u, shared));
            }

            context.UnmaskingAsked = recipients;
            return new ServerTransition(new ServerUnmaskingState(context), messages);
        }

        foreach (int u in recipients)
        {
            UnmaskingRequest request = NewRequest(p, survivorIds, droppedIds);
            foreach ((int v, Google.Protobuf.ByteString signature) in context.Signatures)
            {
                if (v != u && context.AreNeighbours(u, v))
                {
                    request.Signatures.Add(new SurvivorSignature { ClientId = (uint)v, Signature = signature });
                }
            }

            messages.Add(new OutgoingMessage(u, new ServerToClient { UnmaskingRequest = request }));
        }

        context.UnmaskingAsked = recipients;
        return new ServerTransition(new ServerUnmaskingState(context), messages);
    }

    /// <summary>An unmasking request with the given lists (added from arrays: sized once, no growth).</summary>
    private static UnmaskingRequest NewRequest(SecAggParameters p, uint[] survivors, uint[] dropped)
    {
        var request = new UnmaskingRequest { RoundNumber = p.RoundNumber };
        request.Survivors.AddRange(survivors);
        request.Dropped.AddRange(dropped);
        return request;
    }

    /// <inheritdoc />
    public override ServerTransition Close()
    {
        SecAggParameters p = Context.Parameters;
        int[] u5 = Live(Context.Responders);
        if (u5.Length < p.Threshold)
        {
            return AbortRound(RoundOutcome.AbortedTooFewClients, Context.UnmaskingAsked);
        }

        int[] survivors = Context.Survivors;
        int[] dropped = Context.ShareSenders.Except(survivors).Order().ToArray();
        try
        {
            // Owners to reconstruct: every survivor's self seed, and the mask key of every dropped client that has a
            // surviving neighbour (no survivor masked with the others).
            var survivorSet = new HashSet<int>(survivors);
            int[] droppedOwners = dropped.Where(o => Context.NeighbourIds(o).Any(survivorSet.Contains)).ToArray();
            int[] owners = [.. droppedOwners, .. survivors];
            if (!TryChooseHolders(owners, out int[][] chosen, out Lazy<LagrangeCache>[] caches))
            {
                return AbortRound(RoundOutcome.AbortedReconstructionFailed, u5);
            }

            if (!TryRemoveMasks(owners, droppedOwners.Length, chosen, caches, survivorSet))
            {
                return AbortRound(RoundOutcome.AbortedReconstructionFailed, u5);
            }
        }
        finally
        {
            Context.Release();
        }

        var result = new RoundResult { RoundNumber = p.RoundNumber, Outcome = RoundOutcome.Completed };
        result.Contributors.AddRange(survivors.Select(id => (uint)id));
        var message = new ServerToClient { Result = result };
        uint[] sum = Context.Sum!;
        return new ServerTransition(new ServerCompletedState(Context, sum, survivors),
            u5.Select(id => new OutgoingMessage(id, message)).ToList());
    }

    private protected override ServerStep OnUnmasking(int sender, UnmaskingResponse message)
    {
        SecAggParameters p = Context.Parameters;
        if (message.RoundNumber != p.RoundNumber)
        {
            return Reject(ProtocolRejection.WrongRound, "Shares for another round.");
        }

        if (Array.IndexOf(Context.UnmaskingAsked, sender) < 0)
        {
            return Reject(ProtocolRejection.SenderNotExpectedInPhase, "The sender was not asked to unmask.");
        }

        if (Context.Responders.Contains(sender))
        {
            return Reject(ProtocolRejection.Duplicate, "Duplicate unmasking response.");
        }

        // Expected: one share per owner in N[sender] ∩ U2, of the kind fixed by the owner's survival, increasing owner id.
        int[] expected = Context.NeighbourIds(sender).Append(sender)
            .Where(v => Array.BinarySearch(Context.ShareSenders, v) >= 0).Order().ToArray();
        if (message.ClientId != (uint)sender || message.Shares.Count != expected.Length)
        {
            return Drop(sender, DropReason.BadShare);
        }

        for (int i = 0; i < expected.Length; i++)
        {
            RevealedShare share = message.Shares[i];
            ShareKind kind = Array.BinarySearch(Context.Survivors, expected[i]) >= 0 ? ShareKind.SelfMaskSeed : ShareKind.MaskPrivateKey;
            if (share.OwnerId != (uint)expected[i] || share.Kind != kind || share.Value.Length != Primitives.ShareValueLength)
            {
                return Drop(sender, DropReason.BadShare);
            }
        }

        for (int i = 0; i < expected.Length; i++)
        {
            if (!Context.Revealed.TryGetValue(expected[i], out List<(int X, byte[] Value)>? list))
            {
                // At most k + 1 holders reveal a share of one owner (its neighbours and itself): sized once.
                list = new List<(int X, byte[] Value)>(Context.Parameters.Degree + 1);
                Context.Revealed[expected[i]] = list;
            }

            list.Add((sender, message.Shares[i].Value.ToByteArray()));
        }

        Context.Responders.Add(sender);
        Context.Hold((long)expected.Length * (Primitives.ShareValueLength + 4));
        return Accept();
    }

    /// <summary>
    /// Picks, per owner, t holders whose shares are used (any t valid shares give the same secret). Holder sets are
    /// reused across owners where possible (owners in id order, a new set takes the t largest holder ids), so that the
    /// Lagrange coefficients are computed once per set rather than once per owner. False when an owner has fewer than t shares.
    /// </summary>
    private bool TryChooseHolders(int[] owners, out int[][] chosen, out Lazy<LagrangeCache>[] caches)
    {
        int t = Context.Parameters.Threshold;
        chosen = new int[owners.Length][];
        caches = new Lazy<LagrangeCache>[owners.Length];
        var byKey = new Dictionary<string, (int[] Xs, Lazy<LagrangeCache> Cache)>(StringComparer.Ordinal);
        int[]? current = null;
        Lazy<LagrangeCache>? currentCache = null;
        var available = new HashSet<int>();
        foreach (int i in Enumerable.Range(0, owners.Length).OrderBy(i => owners[i]))
        {
            if (!Context.Revealed.TryGetValue(owners[i], out List<(int X, byte[] Value)>? shares) || shares.Count < t)
            {
                return false;
            }

            available.Clear();
            foreach ((int x, _) in shares)
            {
                available.Add(x);
            }

            if (current is null || !current.All(available.Contains))
            {
                int[] xs = [.. available.Order().Skip(available.Count - t)];
                string key = string.Join(',', xs);
                if (!byKey.TryGetValue(key, out (int[] Xs, Lazy<LagrangeCache> Cache) entry))
                {
                    entry = (xs, new Lazy<LagrangeCache>(() => new LagrangeCache(xs), LazyThreadSafetyMode.ExecutionAndPublication));
                    byKey[key] = entry;
                }

                (current, currentCache) = entry;
            }

            chosen[i] = current;
            caches[i] = currentCache!;
        }

        return true;
    }

    private bool TryReconstruct(int owner, int[] xs, LagrangeCache cache, Span<byte> secret)
    {
        List<(int X, byte[] Value)> shares = Context.Revealed[owner];
        // The y values of the chosen holders, in the cache's x order, in one wiped buffer (no share objects per holder).
        int length = Primitives.ShareValueLength * xs.Length;
        byte[]? rented = length > YsOnStackBytes ? System.Buffers.ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> ys = (rented is not null ? rented.AsSpan() : stackalloc byte[YsOnStackBytes])[..length];
        try
        {
            for (int i = 0; i < xs.Length; i++)
            {
                byte[]? value = null;
                foreach ((int x, byte[] y) in shares)
                {
                    if (x == xs[i])
                    {
                        value = y;
                        break;
                    }
                }

                if (value is null || value.Length != Primitives.ShareValueLength)
                {
                    return false;
                }

                value.CopyTo(ys.Slice(Primitives.ShareValueLength * i, Primitives.ShareValueLength));
            }

            return cache.TryReconstruct(ys, secret) == ShamirResult.Ok;
        }
        finally
        {
            Primitives.Wipe(ys);
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>y values of up to 64 holders (t ≤ 64) reconstruct from the stack.</summary>
    private const int YsOnStackBytes = Primitives.ShareValueLength * 64;

    /// <summary>
    /// One parallel pass over the owners (dropped first: their items are the longest): reconstruct the owner's secret,
    /// then undo its masks into the worker's pooled accumulator (a survivor's self mask; a dropped client's pair masks
    /// with each surviving neighbour, seeds derived and wiped one at a time). The accumulators are merged into the sum
    /// only when every owner succeeded, so a failure leaves the sum untouched; they are cleared before going back to the pool.
    /// </summary>
    private bool TryRemoveMasks(int[] owners, int droppedCount, int[][] chosen, Lazy<LagrangeCache>[] caches, HashSet<int> survivorSet)
    {
        SecAggParameters p = Context.Parameters;
        byte[] session = Context.SessionId;
        uint[] sum = Context.Sum!;
        int d = sum.Length;
        int bits = p.Bits;
        uint mask = p.ValueMask;
        int threads = Math.Max(1, Math.Min(Context.Threads, owners.Length));
        var accumulators = new ConcurrentBag<uint[]>();
        bool ok = true;
        Context.Hold(4L * d * threads);
        try
        {
            // Work items: each dropped owner alone (its ~k pair masks are the longest items, so they go first), survivors in
            // groups of SurvivorsPerItem whose self masks are fused into the accumulator in one chunked pass.
            List<int[]> items = [];
            for (int i = 0; i < droppedCount; i++)
            {
                items.Add([i]);
            }

            for (int i = droppedCount; i < owners.Length; i += SurvivorsPerItem)
            {
                items.Add([.. Enumerable.Range(i, Math.Min(SurvivorsPerItem, owners.Length - i))]);
            }

            Parallel.ForEach(Partitioner.Create(items, EnumerablePartitionerOptions.NoBuffering),
                new ParallelOptions { MaxDegreeOfParallelism = threads },
                () =>
                {
                    uint[] accumulator = ArrayPool<uint>.Shared.Rent(d);
                    accumulator.AsSpan(0, d).Clear();
                    accumulators.Add(accumulator);
                    return accumulator;
                },
                (item, state, accumulator) =>
                {
                    if (!Volatile.Read(ref ok))
                    {
                        state.Stop();
                        return accumulator;
                    }

                    var streams = new List<(MaskStream Stream, bool Subtract)>();
                    try
                    {
                        foreach (int i in item)
                        {
                            if (!TryOpenOwnerStreams(owners[i], i < droppedCount, chosen[i], caches[i].Value, survivorSet, session, bits, streams))
                            {
                                Volatile.Write(ref ok, false);
                                state.Stop();
                                return accumulator;
                            }
                        }

                        ApplyFused(accumulator.AsSpan(0, d), streams);
                    }
                    finally
                    {
                        foreach ((MaskStream stream, _) in streams)
                        {
                            stream.Dispose();
                        }
                    }

                    return accumulator;
                },
                _ => { });

            if (ok)
            {
                foreach (uint[] accumulator in accumulators)
                {
                    VectorCodec.AddInto(sum, accumulator.AsSpan(0, d), mask);
                }
            }
        }
        finally
        {
            foreach (uint[] accumulator in accumulators)
            {
                accumulator.AsSpan(0, d).Clear();
                ArrayPool<uint>.Shared.Return(accumulator);
            }

            Context.Free(4L * d * threads);
        }

        return ok;
    }

    /// <summary>Survivors whose self masks one work item removes in a single chunked pass.</summary>
    private const int SurvivorsPerItem = 8;

    /// <summary>Words per chunk of the fused pass (16 KiB: stays in L1 while every stream of the item passes over it).</summary>
    private const int ChunkWords = 4096;

    /// <summary>accumulator ±= every stream, chunk by chunk (each stream read at the chunk's offset).</summary>
    private static void ApplyFused(Span<uint> accumulator, List<(MaskStream Stream, bool Subtract)> streams)
    {
        for (int start = 0; start < accumulator.Length; start += ChunkWords)
        {
            Span<uint> piece = accumulator.Slice(start, Math.Min(ChunkWords, accumulator.Length - start));
            foreach ((MaskStream stream, bool subtract) in streams)
            {
                if (subtract)
                {
                    stream.SubtractMask(start, piece);
                }
                else
                {
                    stream.AddMask(start, piece);
                }
            }
        }
    }

    /// <summary>
    /// Reconstructs <paramref name="owner"/>'s secret and opens the streams that undo its masks: a survivor's self mask
    /// (subtracted), or a dropped client's pair masks with each surviving neighbour (seeds derived and wiped one at a time).
    /// </summary>
    private bool TryOpenOwnerStreams(int owner, bool isDropped, int[] xs, LagrangeCache cache, HashSet<int> survivorSet,
        byte[] session, int bits, List<(MaskStream Stream, bool Subtract)> streams)
    {
        Span<byte> secret = stackalloc byte[Primitives.SeedLength];
        Span<byte> seed = stackalloc byte[Primitives.SeedLength];
        try
        {
            if (!TryReconstruct(owner, xs, cache, secret))
            {
                return false;
            }

            if (!isDropped)
            {
                // The client added +PRG(b_u); undo it (secagg.md §"Masked input").
                streams.Add((MaskStream.Open(secret, Derivations.SelfMaskContext(session, owner), bits), true));
                return true;
            }

            SecAggParameters p = Context.Parameters;
            using PrivateKey key = Primitives.ImportKey(p.Suite, secret);
            foreach (int v in Context.NeighbourIds(owner))
            {
                if (!survivorSet.Contains(v))
                {
                    continue;
                }

                if (!Derivations.TryPairKey(p.Suite, key, Context.Keys[v].MaskPublicKey.Span, session,
                        Derivations.PairwiseSeedLabel, owner, v, seed))
                {
                    return false;
                }

                // v added +PRG(s_vd) when d > v and −PRG(s_vd) when d < v; undo it (subtract when owner > v).
                streams.Add((MaskStream.Open(seed, Derivations.PairwiseMaskContext(session, owner, v), bits), owner > v));
            }

            return true;
        }
        finally
        {
            Primitives.Wipe(secret);
            Primitives.Wipe(seed);
        }
    }
}
