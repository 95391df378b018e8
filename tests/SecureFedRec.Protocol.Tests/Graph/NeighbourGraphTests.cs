using FsCheck;
using FsCheck.Fluent;
using SecureFedRec.Protocol.Graph;

namespace SecureFedRec.Protocol.Tests.GraphTests;

public sealed class NeighbourGraphTests
{
    private static readonly byte[] SeedA = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] SeedB = Enumerable.Range(0, 32).Select(i => (byte)(i + 1)).ToArray();

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(10)]
    [InlineData(101)]
    public void FullGraphIsComplete(int n)
    {
        NeighbourGraph g = NeighbourGraph.Full(n);
        Assert.Equal(GraphKind.Full, g.Kind);
        Assert.Equal(n, g.Count);
        Assert.Equal(n - 1, g.Degree);
        for (int a = 0; a < n; a++)
        {
            int[] expected = Enumerable.Range(0, n).Where(b => b != a).ToArray();
            Assert.Equal(expected, g.NeighboursOf(a).ToArray());
            for (int b = 0; b < n; b++)
            {
                Assert.Equal(a != b, g.AreNeighbours(a, b));
            }
        }
    }

    [Theory]
    [InlineData(10, 2)]
    [InlineData(10, 4)]
    [InlineData(11, 4)]
    [InlineData(10, 3)]
    [InlineData(10, 9)]
    [InlineData(11, 10)]
    [InlineData(100, 28)]
    [InlineData(1000, 72)]
    [InlineData(2, 1)]
    public void HararyGraphHasTheRequiredStructure(int n, int k)
    {
        var g = (HararyGraph)NeighbourGraph.Harary(n, k, SeedA);
        AssertStructure(g, n, k);
    }

    [Fact]
    public void HararyStructureHoldsForRandomSizesAndSeeds()
    {
        Gen<(int N, int K, byte[] Seed)> gen =
            from n in Gen.Choose(2, 160)
            from k in Gen.Choose(Math.Min(2, n - 1), n - 1)
            from seed in Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), 32)
            select (n, (k % 2 == 1 && n % 2 == 1) ? k - 1 : k, seed);
        Property property = Prop.ForAll(
            gen.Where(c => c.K >= Math.Min(2, c.N - 1)).ToArbitrary(),
            c =>
            {
                var g = (HararyGraph)NeighbourGraph.Harary(c.N, c.K, c.Seed);
                AssertStructure(g, c.N, c.K);
            });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(150), property);
    }

    [Fact]
    public void HararyRingHasConnectivityKForSmallGraphs()
    {
        // Harary (1962): H(k, n) is k-connected, so removing any k − 1 nodes leaves it connected.
        foreach ((int n, int k) in new[] { (8, 2), (9, 4), (10, 3), (10, 4), (11, 6), (12, 5) })
        {
            NeighbourGraph g = NeighbourGraph.Harary(n, k, SeedB);
            foreach (int removed in SubsetsOfSize(n, k - 1))
            {
                Assert.True(IsConnected(g, removed), $"H({k},{n}) minus mask {removed:b} is disconnected");
            }
        }
    }

    [Fact]
    public void SameSeedGivesTheSameGraph()
    {
        var a = (HararyGraph)NeighbourGraph.Harary(500, 40, SeedA);
        var b = (HararyGraph)NeighbourGraph.Harary(500, 40, SeedA.ToArray());
        for (int v = 0; v < 500; v++)
        {
            Assert.Equal(a.LabelAt(v), b.LabelAt(v));
            Assert.Equal(a.NeighboursOf(v).ToArray(), b.NeighboursOf(v).ToArray());
        }
    }

    [Fact]
    public void DifferentSeedsGiveDifferentLabellings()
    {
        var a = (HararyGraph)NeighbourGraph.Harary(500, 40, SeedA);
        var b = (HararyGraph)NeighbourGraph.Harary(500, 40, SeedB);
        int same = Enumerable.Range(0, 500).Count(p => a.LabelAt(p) == b.LabelAt(p));
        Assert.True(same < 20, $"{same} of 500 positions have the same label");
        Assert.Contains(Enumerable.Range(0, 500), v => !a.NeighboursOf(v).SequenceEqual(b.NeighboursOf(v)));
    }

    [Fact]
    public void TheRelabellingIsNotTheIdentity()
    {
        var g = (HararyGraph)NeighbourGraph.Harary(1000, 10, SeedA);
        int fixedPoints = Enumerable.Range(0, 1000).Count(p => g.LabelAt(p) == p);
        Assert.True(fixedPoints < 10, $"{fixedPoints} fixed points");
    }

    [Fact]
    public void RelabellingDependsOnCountAndDegree()
    {
        var a = (HararyGraph)NeighbourGraph.Harary(300, 10, SeedA);
        var b = (HararyGraph)NeighbourGraph.Harary(300, 12, SeedA);
        Assert.Contains(Enumerable.Range(0, 300), p => a.LabelAt(p) != b.LabelAt(p));
    }

    [Fact]
    public void RelabellingIsAUniformLookingShuffle()
    {
        // Each label lands at position 0 about equally often over many seeds (chi-square, 9 degrees of freedom).
        const int n = 10;
        const int trials = 2000;
        var counts = new int[n];
        var seed = new byte[32];
        for (int s = 0; s < trials; s++)
        {
            BitConverter.TryWriteBytes(seed, s);
            counts[((HararyGraph)NeighbourGraph.Harary(n, 2, seed)).LabelAt(0)]++;
        }

        double expected = trials / (double)n;
        double chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.True(chi2 < 27.9, $"chi-square {chi2:F1} (p < 0.001 threshold 27.9); counts {string.Join(",", counts)}");
    }

    [Fact]
    public void NeighboursOfDoesNotAllocateAfterTheFirstCall()
    {
        NeighbourGraph g = NeighbourGraph.Harary(2000, 100, SeedA);
        NeighbourGraph f = NeighbourGraph.Full(300);
        _ = g.NeighboursOf(7);
        _ = f.NeighboursOf(7);
        long before = GC.GetAllocatedBytesForCurrentThread();
        int sum = 0;
        for (int i = 0; i < 100; i++)
        {
            sum += g.NeighboursOf(7)[0] + f.NeighboursOf(7)[0];
            sum += g.AreNeighbours(7, i) ? 1 : 0;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.True(sum >= 0);
    }

    [Fact]
    public void ConcurrentQueriesAgreeWithSequentialOnes()
    {
        NeighbourGraph shared = NeighbourGraph.Harary(3000, 60, SeedB);
        NeighbourGraph reference = NeighbourGraph.Harary(3000, 60, SeedB);
        var rows = new int[3000][];
        Parallel.For(0, 3000 * 4, i => rows[i % 3000] = shared.NeighboursOf(i % 3000).ToArray());
        for (int v = 0; v < 3000; v++)
        {
            Assert.Equal(reference.NeighboursOf(v).ToArray(), rows[v]);
        }
    }

    /// <summary>
    /// protocol-spec/graphs.md §2.4: seed 00 01 .. 1f. The expected values were computed by an independent Python
    /// implementation written from the spec text (HKDF-SHA256 and AES-256-CTR from the `cryptography` package).
    /// </summary>
    [Theory]
    [InlineData(10, 4, new[] { 7, 3, 1, 9, 5, 8, 2, 6, 0, 4 }, new[] { 2, 4, 6, 7 })]
    [InlineData(16, 5, new[] { 9, 13, 7, 6, 15, 10, 3, 4, 8, 12, 1, 14, 2, 11, 5, 0 }, new[] { 4, 5, 9, 11, 13 })]
    public void PinnedRelabellingVector(int n, int k, int[] labelOfPosition, int[] neighboursOf0)
    {
        var g = (HararyGraph)NeighbourGraph.Harary(n, k, SeedA);
        Assert.Equal(labelOfPosition, Enumerable.Range(0, n).Select(g.LabelAt).ToArray());
        Assert.Equal(neighboursOf0, g.NeighboursOf(0).ToArray());
    }

    [Theory]
    [InlineData(1, 1, 32, "count")]
    [InlineData(0, 1, 32, "count")]
    [InlineData(10, 0, 32, "degree")]
    [InlineData(10, 1, 32, "degree")]
    [InlineData(10, 10, 32, "degree")]
    [InlineData(10, -2, 32, "degree")]
    [InlineData(11, 3, 32, "degree")]
    [InlineData(10, 4, 31, "relabelSeed32")]
    [InlineData(10, 4, 0, "relabelSeed32")]
    [InlineData(10, 4, 33, "relabelSeed32")]
    public void HararyRefusesBadArguments(int n, int k, int seedLength, string param)
    {
        var seed = new byte[seedLength];
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => NeighbourGraph.Harary(n, k, seed));
        Assert.Equal(param, e.ParamName);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(-1)]
    public void FullRefusesTooFewNodes(int n)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => NeighbourGraph.Full(n));
        Assert.Equal("count", e.ParamName);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(10)]
    [InlineData(int.MinValue)]
    public void QueriesRefuseUnknownNodes(int node)
    {
        foreach (NeighbourGraph g in new[] { NeighbourGraph.Full(10), NeighbourGraph.Harary(10, 4, SeedA) })
        {
            Assert.Equal("node", Assert.Throws<ArgumentOutOfRangeException>(() => g.NeighboursOf(node)).ParamName);
            Assert.Equal("a", Assert.Throws<ArgumentOutOfRangeException>(() => g.AreNeighbours(node, 0)).ParamName);
            Assert.Equal("b", Assert.Throws<ArgumentOutOfRangeException>(() => g.AreNeighbours(0, node)).ParamName);
        }
    }

    private static void AssertStructure(HararyGraph g, int n, int k)
    {
        Assert.Equal(GraphKind.Harary, g.Kind);
        Assert.Equal(n, g.Count);
        Assert.Equal(k, g.Degree);

        // The labelling is a permutation and PositionOf is its inverse.
        var seen = new bool[n];
        for (int p = 0; p < n; p++)
        {
            int label = g.LabelAt(p);
            Assert.InRange(label, 0, n - 1);
            Assert.False(seen[label], $"label {label} used twice");
            seen[label] = true;
            Assert.Equal(p, g.PositionOf(label));
        }

        for (int v = 0; v < n; v++)
        {
            ReadOnlySpan<int> row = g.NeighboursOf(v);
            Assert.Equal(k, row.Length);
            for (int i = 0; i < row.Length; i++)
            {
                Assert.NotEqual(v, row[i]);
                Assert.True(i == 0 || row[i - 1] < row[i], "neighbours must be strictly ascending");
                Assert.True(g.NeighboursOf(row[i]).BinarySearch(v) >= 0, "symmetry");
                Assert.True(g.AreNeighbours(v, row[i]));

                // Ring structure: neighbours sit at ring distance ≤ k/2, or n/2 for the odd-degree diameter edge.
                int d = Math.Abs(g.PositionOf(v) - g.PositionOf(row[i]));
                d = Math.Min(d, n - d);
                Assert.True(d <= k / 2 || (k % 2 == 1 && 2 * d == n), $"ring distance {d}");
            }

            Assert.False(g.AreNeighbours(v, v));
            int adjacent = 0;
            for (int u = 0; u < n; u++)
            {
                adjacent += g.AreNeighbours(v, u) ? 1 : 0;
            }

            // AreNeighbours agrees with the lists: exactly k hits, all of them listed above.
            if (adjacent != k)
            {
                Assert.Fail($"node {v}: AreNeighbours true for {adjacent} nodes, degree {k}");
            }
        }

        Assert.True(IsConnected(g, 0));
    }

    private static bool IsConnected(NeighbourGraph g, long removedMask)
    {
        int n = g.Count;
        int start = Enumerable.Range(0, n).First(v => (removedMask >> v & 1) == 0);
        var visited = new bool[n];
        var queue = new Queue<int>();
        visited[start] = true;
        queue.Enqueue(start);
        int reached = 1;
        while (queue.Count > 0)
        {
            int v = queue.Dequeue();
            foreach (int u in g.NeighboursOf(v))
            {
                if (!visited[u] && (removedMask >> u & 1) == 0)
                {
                    visited[u] = true;
                    reached++;
                    queue.Enqueue(u);
                }
            }
        }

        int alive = n - (int)long.PopCount(removedMask);
        return reached == alive;
    }

    private static IEnumerable<long> SubsetsOfSize(int n, int size)
    {
        for (long mask = 0; mask < 1L << n; mask++)
        {
            if (long.PopCount(mask) == size)
            {
                yield return mask;
            }
        }
    }
}
