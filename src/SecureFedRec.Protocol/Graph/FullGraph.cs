namespace SecureFedRec.Protocol.Graph;

/// <summary>The complete graph K_n: every node is joined to every other node.</summary>
internal sealed class FullGraph : NeighbourGraph
{
    private readonly int _count;

    // Row i is built on first request and then shared; see NeighbourGraph remarks.
    private readonly int[]?[] _rows;

    internal FullGraph(int count)
    {
        _count = count;
        _rows = new int[]?[count];
    }

    public override int Count => _count;

    public override int Degree => _count - 1;

    public override GraphKind Kind => GraphKind.Full;

    public override ReadOnlySpan<int> NeighboursOf(int node)
    {
        CheckNode(node, nameof(node));
        int[]? row = Volatile.Read(ref _rows[node]);
        if (row is null)
        {
            row = new int[_count - 1];
            for (int i = 0, j = 0; i < _count; i++)
            {
                if (i != node)
                {
                    row[j++] = i;
                }
            }

            row = Interlocked.CompareExchange(ref _rows[node], row, null) ?? row;
        }

        return row;
    }

    public override bool AreNeighbours(int a, int b)
    {
        CheckNode(a, nameof(a));
        CheckNode(b, nameof(b));
        return a != b;
    }
}
