namespace SecureFedRec.Protocol.Graph;

/// <summary>
/// One node's row of a neighbour graph, built without the graph: what a client needs of it (its own neighbours), so a client
/// no longer builds the whole graph (two n-entry permutations and a row cache) per round. Same rows as
/// <see cref="NeighbourGraph.NeighboursOf"/> of <see cref="NeighbourGraph.Full"/> / <see cref="NeighbourGraph.Harary"/>
/// (pinned by the graph tests' row comparison).
/// </summary>
internal static class NeighbourRow
{
    /// <summary>The sorted neighbours of <paramref name="node"/> (never the node itself). Parameters as the graph factories
    /// take them and already checked by the caller (<see cref="SecAggParameters"/>); the seed is used for Harary only.</summary>
    internal static int[] Of(GraphKind kind, int count, int degree, ReadOnlySpan<byte> relabelSeed32, int node)
    {
        if ((uint)node >= (uint)count)
        {
            throw new ArgumentOutOfRangeException(nameof(node), node, $"Node must be in [0, {count}).");
        }

        if (kind == GraphKind.Full)
        {
            var all = new int[count - 1];
            for (int v = 0, j = 0; v < count; v++)
            {
                if (v != node)
                {
                    all[j++] = v;
                }
            }

            return all;
        }

        if (relabelSeed32.Length != NeighbourGraph.SeedLength)
        {
            throw new ArgumentException(
                $"The relabelling seed must be {NeighbourGraph.SeedLength} bytes, got {relabelSeed32.Length}.", nameof(relabelSeed32));
        }

        int[] labelOfPosition = System.Buffers.ArrayPool<int>.Shared.Rent(count);
        try
        {
            Span<int> labels = labelOfPosition.AsSpan(0, count);
            Relabelling.DerivePermutation(relabelSeed32, degree, labels);
            int p = labels.IndexOf(node);
            int half = degree / 2;
            var row = new int[degree];
            int j = 0;
            for (int offset = 1; offset <= half; offset++)
            {
                row[j++] = labels[(int)(((long)p + offset) % count)];
                row[j++] = labels[(int)(((long)p - offset + count) % count)];
            }

            if ((degree & 1) == 1)
            {
                row[j] = labels[(int)(((long)p + (count / 2)) % count)];
            }

            Array.Sort(row);
            return row;
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(labelOfPosition);
        }
    }
}
