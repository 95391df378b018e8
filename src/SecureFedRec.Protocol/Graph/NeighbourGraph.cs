namespace SecureFedRec.Protocol.Graph;

/// <summary>
/// The communication graph of a SecAgg / SecAgg+ round: which clients share pairwise masks and Shamir shares with
/// each other. Undirected, no self edges, nodes are the integers <c>0 .. Count-1</c>.
/// </summary>
/// <remarks>
/// <para>Two constructions: <see cref="Full"/> (Bonawitz et al., CCS 2017: everyone is everyone's neighbour) and
/// <see cref="Harary"/> (Bell et al., CCS 2020, "Secure Single-Server Aggregation with (Poly)Logarithmic Overhead",
/// a Harary graph H(k, n) whose nodes are relabelled by a permutation derived from a public 32-byte seed).
/// The normative definition, including the byte-exact relabelling derivation, is <c>protocol-spec/graphs.md</c>.</para>
/// <para>Sizes: O(n) memory at construction; each node's sorted neighbour list (k ints) is built on its first request
/// and cached, so the worst case is O(n·k). <see cref="NeighboursOf"/> does not allocate after the first call for a
/// node; <see cref="AreNeighbours"/> is O(1) and never allocates.</para>
/// <para>Thread-safety: instances are immutable in meaning and safe for concurrent use by any number of threads
/// (the per-node cache is published with an interlocked compare-exchange).</para>
/// <para>Failures: the factories throw <see cref="ArgumentOutOfRangeException"/> for a count below 2, a degree
/// outside <c>[2, count-1]</c> (1 only for count 2), or an odd degree with an odd count (no such regular graph exists), and
/// <see cref="ArgumentException"/> for a seed that is not 32 bytes. Queries throw
/// <see cref="ArgumentOutOfRangeException"/> for a node outside <c>[0, Count)</c>.</para>
/// </remarks>
public abstract class NeighbourGraph
{
    /// <summary>Length in bytes of the public relabelling seed of <see cref="Harary"/>.</summary>
    public const int SeedLength = 32;

    private protected NeighbourGraph()
    {
    }

    /// <summary>Number of nodes n; nodes are <c>0 .. Count-1</c>.</summary>
    public abstract int Count { get; }

    /// <summary>Degree k of every node, excluding the node itself (the full graph has <c>Count - 1</c>).</summary>
    public abstract int Degree { get; }

    /// <summary>Which construction this is.</summary>
    public abstract GraphKind Kind { get; }

    /// <summary>The neighbours of <paramref name="node"/>, sorted ascending, never containing the node itself.</summary>
    /// <param name="node">A node in <c>[0, Count)</c>.</param>
    /// <returns>A read-only view of exactly <see cref="Degree"/> distinct nodes, valid for the graph's lifetime.</returns>
    public abstract ReadOnlySpan<int> NeighboursOf(int node);

    /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> are joined by an edge (false when equal).</summary>
    public abstract bool AreNeighbours(int a, int b);

    /// <summary>The complete graph on <paramref name="count"/> nodes (degree <c>count - 1</c>).</summary>
    /// <param name="count">Number of clients, at least 2.</param>
    public static NeighbourGraph Full(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 2);
        return new FullGraph(count);
    }

    /// <summary>
    /// A Harary graph H(<paramref name="degree"/>, <paramref name="count"/>) with its nodes relabelled by a
    /// pseudorandom permutation derived deterministically from the public <paramref name="relabelSeed32"/>.
    /// </summary>
    /// <remarks>
    /// Ring position p (0 ≤ p &lt; n) is joined to p ± 1, …, p ± ⌊k/2⌋ (mod n); for odd k (which needs even n) it is
    /// also joined to the diametric position p + n/2. Ring position p carries label π(p); π is derived from the seed as
    /// specified in <c>protocol-spec/graphs.md</c>. The same seed, count and degree always give the same graph.
    /// </remarks>
    /// <param name="count">Number of clients n, at least 2.</param>
    /// <param name="degree">Degree k in <c>[2, n-1]</c> (k = 1 only for n = 2: otherwise H(1, n) is a disconnected
    /// matching); odd k requires even n.</param>
    /// <param name="relabelSeed32">Public 32-byte seed (the protocol derives it from the session).</param>
    public static NeighbourGraph Harary(int count, int degree, ReadOnlySpan<byte> relabelSeed32)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 2);
        int minDegree = Math.Min(2, count - 1);
        if (degree < minDegree || degree > count - 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(degree),
                degree,
                $"The degree must be in [{minDegree}, count-1] = [{minDegree}, {count - 1}] (degree 1 is a disconnected matching).");
        }

        if ((degree & 1) == 1 && (count & 1) == 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(degree), degree, "An odd degree needs an even count: no regular graph has odd n and odd k.");
        }

        if (relabelSeed32.Length != SeedLength)
        {
            throw new ArgumentException(
                $"The relabelling seed must be {SeedLength} bytes, got {relabelSeed32.Length}.", nameof(relabelSeed32));
        }

        int[] labelOfPosition = Relabelling.DerivePermutation(relabelSeed32, count, degree);
        return new HararyGraph(count, degree, labelOfPosition);
    }

    /// <summary>Throws unless <paramref name="node"/> is in <c>[0, Count)</c>.</summary>
    private protected void CheckNode(int node, string paramName)
    {
        if ((uint)node >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(paramName, node, $"Node must be in [0, {Count}).");
        }
    }
}
