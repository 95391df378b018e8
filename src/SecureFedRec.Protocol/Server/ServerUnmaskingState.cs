using System.Collections.Concurrent;
using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Server;

/// <summary>
/// Round 4: collects revealed shares (for each neighbour of the sender in U2: its self-seed share if the neighbour
/// survived, its mask-key share if it dropped; anything else drops the sender with <c>BadShare</c>). Closing
/// reconstructs every survivor's self-mask seed and every dropped client's mask key (Lagrange coefficients cached per
/// holder set), and removes the masks from the running sum in parallel: work items (survivor self masks, and
/// dropped × surviving-neighbour pair masks) are spread over <see cref="ServerOptions.Threads"/> threads, each adding
/// into its own d-word accumulator, merged at the end (memory: (threads + 1)·d words).
/// </summary>
public sealed class ServerUnmaskingState : ServerState
{
    internal ServerUnmaskingState(ServerContext context)
        : base(context)
    {
    }

    /// <inheritdoc />
    public override ServerPhase Phase => ServerPhase.Unmasking;

    internal static ServerTransition Open(ServerContext context, int[] recipients)
    {
        SecAggParameters p = context.Parameters;
        int[] dropped = context.ShareSenders.Except(context.Survivors).Order().ToArray();
        var messages = new List<OutgoingMessage>(recipients.Length);
        foreach (int u in recipients)
        {
            var request = new UnmaskingRequest { RoundNumber = p.RoundNumber };
            request.Survivors.AddRange(context.Survivors.Select(id => (uint)id));
            request.Dropped.AddRange(dropped.Select(id => (uint)id));
            if (p.IsMalicious)
            {
                foreach ((int v, Google.Protobuf.ByteString signature) in context.Signatures)
                {
                    if (v != u && context.AreNeighbours(u, v))
                    {
                        request.Signatures.Add(new SurvivorSignature { ClientId = (uint)v, Signature = signature });
                    }
                }
            }

            messages.Add(new OutgoingMessage(u, new ServerToClient { UnmaskingRequest = request }));
        }

        context.UnmaskingAsked = recipients;
        return new ServerTransition(new ServerUnmaskingState(context), messages);
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
        var lagrange = new ConcurrentDictionary<string, LagrangeCache>(StringComparer.Ordinal);
        var selfSeeds = new Dictionary<int, byte[]>();
        var maskKeys = new Dictionary<int, byte[]>();
        try
        {
            // Owners to reconstruct: every survivor's self seed, and the mask key of every dropped client that has a
            // surviving neighbour (no survivor masked with the others). Reconstructions run in parallel.
            var survivorSet = new HashSet<int>(survivors);
            int[] droppedOwners = dropped.Where(o => Context.NeighbourIds(o).Any(survivorSet.Contains)).ToArray();
            int[] owners = [.. survivors, .. droppedOwners];
            var secrets = new byte[owners.Length][];
            bool reconstructed = true;
            Parallel.For(0, owners.Length, new ParallelOptions { MaxDegreeOfParallelism = Context.Threads }, i =>
            {
                if (TryReconstruct(owners[i], lagrange, out byte[] secret))
                {
                    secrets[i] = secret;
                }
                else
                {
                    Primitives.Wipe(secret);
                    Volatile.Write(ref reconstructed, false);
                }
            });
            for (int i = 0; i < owners.Length; i++)
            {
                if (secrets[i] is { } secret)
                {
                    (i < survivors.Length ? selfSeeds : maskKeys)[owners[i]] = secret;
                }
            }

            if (!reconstructed)
            {
                return AbortRound(RoundOutcome.AbortedReconstructionFailed, u5);
            }

            if (!TryRemoveMasks(selfSeeds, maskKeys, survivorSet))
            {
                return AbortRound(RoundOutcome.AbortedReconstructionFailed, u5);
            }
        }
        finally
        {
            foreach (byte[] secret in selfSeeds.Values.Concat(maskKeys.Values))
            {
                Primitives.Wipe(secret);
            }

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
            return Reject("Shares for another round.");
        }

        if (Array.IndexOf(Context.UnmaskingAsked, sender) < 0)
        {
            return Reject("The sender was not asked to unmask.");
        }

        if (Context.Responders.Contains(sender))
        {
            return Reject("Duplicate unmasking response.");
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
                list = [];
                Context.Revealed[expected[i]] = list;
            }

            list.Add((sender, message.Shares[i].Value.ToByteArray()));
        }

        Context.Responders.Add(sender);
        Context.Hold((long)expected.Length * (Primitives.ShareValueLength + 4));
        return Accept();
    }

    private bool TryReconstruct(int owner, ConcurrentDictionary<string, LagrangeCache> lagrange, out byte[] secret)
    {
        secret = new byte[Primitives.SeedLength];
        int t = Context.Parameters.Threshold;
        if (!Context.Revealed.TryGetValue(owner, out List<(int X, byte[] Value)>? shares) || shares.Count < t)
        {
            return false;
        }

        // The first t holders by id: for the same holder set, the Lagrange coefficients are computed once.
        List<(int X, byte[] Value)> chosen = [.. shares.OrderBy(s => s.X).Take(t)];
        int[] xs = chosen.Select(s => s.X).ToArray();
        LagrangeCache cache = lagrange.GetOrAdd(string.Join(',', xs), _ => new LagrangeCache(xs));
        var holders = new List<ShamirShare>(t);
        try
        {
            foreach ((int x, byte[] value) in chosen)
            {
                holders.Add(ShamirShare.Import(x, value));
            }

            return cache.TryReconstruct(holders, secret) == ShamirResult.Ok;
        }
        finally
        {
            foreach (ShamirShare share in holders)
            {
                share.Dispose();
            }
        }
    }

    private bool TryRemoveMasks(Dictionary<int, byte[]> selfSeeds, Dictionary<int, byte[]> maskKeys, HashSet<int> survivorSet)
    {
        SecAggParameters p = Context.Parameters;
        byte[] session = Context.SessionId;

        // Work items: (seed, context, add?) — the sign undoes what the client added (secagg.md §"Masked input").
        var items = new List<(byte[] Seed, byte[] Context, bool Add)>(selfSeeds.Count);
        foreach ((int owner, byte[] seed) in selfSeeds)
        {
            items.Add((seed, Derivations.SelfMaskContext(session, owner), false));
        }

        // Pair seeds of each dropped client with its surviving neighbours, derived in parallel over dropped clients.
        var pairItems = new ConcurrentBag<(byte[] Seed, byte[] Context, bool Add)>();
        bool ok = true;
        Parallel.ForEach(maskKeys, new ParallelOptions { MaxDegreeOfParallelism = Context.Threads }, entry =>
        {
            (int dropped, byte[] scalar) = entry;
            using PrivateKey key = Primitives.ImportKey(p.Suite, scalar);
            foreach (int v in Context.NeighbourIds(dropped))
            {
                if (!survivorSet.Contains(v))
                {
                    continue;
                }

                var seed = new byte[Primitives.SeedLength];
                if (!Derivations.TryPairKey(p.Suite, key, Context.Keys[v].MaskPublicKey.Span, session,
                        Derivations.PairwiseSeedLabel, dropped, v, seed))
                {
                    Volatile.Write(ref ok, false);
                    return;
                }

                // v added +PRG(s_vd) when d > v and −PRG(s_vd) when d < v; undo it.
                pairItems.Add((seed, Derivations.PairwiseMaskContext(session, dropped, v), dropped < v));
            }
        });
        items.AddRange(pairItems);
        if (!ok)
        {
            WipeSeeds(pairItems);
            return false;
        }

        uint[] sum = Context.Sum!;
        int bits = p.Bits;
        uint mask = p.ValueMask;
        int threads = Math.Max(1, Math.Min(Context.Threads, items.Count));
        Context.Hold(4L * p.Dimension * threads);
        var gate = new object();
        Parallel.For(0, items.Count, new ParallelOptions { MaxDegreeOfParallelism = threads },
            () => new uint[sum.Length],
            (i, _, accumulator) =>
            {
                (byte[] seed, byte[] context, bool add) = items[i];
                if (add)
                {
                    Primitives.AddMask(seed, context, bits, accumulator);
                }
                else
                {
                    Primitives.SubtractMask(seed, context, bits, accumulator);
                }

                return accumulator;
            },
            accumulator =>
            {
                lock (gate)
                {
                    for (int j = 0; j < sum.Length; j++)
                    {
                        sum[j] = unchecked(sum[j] + accumulator[j]) & mask;
                    }
                }
            });
        Context.Free(4L * p.Dimension * threads);
        WipeSeeds(pairItems);
        return true;
    }

    private static void WipeSeeds(IEnumerable<(byte[] Seed, byte[] Context, bool Add)> items)
    {
        foreach ((byte[] seed, _, _) in items)
        {
            Primitives.Wipe(seed);
        }
    }
}
