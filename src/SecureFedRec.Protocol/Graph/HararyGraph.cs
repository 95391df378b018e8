namespace SecureFedRec.Protocol.Graph;

/// <summary>
/// Harary graph H(k, n) on ring positions, with node labels assigned by a permutation (Bell et al., CCS 2020).
/// Ring position p is joined to p ± 1 .. p ± ⌊k/2⌋ (mod n), and for odd k (even n) also to p + n/2.
/// </summary>
internal sealed class HararyGraph : NeighbourGraph
{
    private readonly int _count;
    private readonly int _degree;
    private readonly int _halfDegree;
    private readonly int[] _labelOfPosition;
    private readonly int[] _positionOfLabel;
    private readonly int[]?[] _rows;

    /// <param name="count">n ≥ 2.</param>
    /// <param name="degree">k in [2, n-1] (or 1 when n = 2); odd only when n is even (checked by the caller).</param>
    /// <param name="labelOfPosition">A permutation of 0..n-1, owned by this instance from now on.</param>
    internal HararyGraph(int count, int degree, int[] labelOfPosition)
    {
        _count = count;
        _degree = degree;
        _halfDegree = degree / 2;
        _labelOfPosition = labelOfPosition;
        _positionOfLabel = new int[count];
        for (int p = 0; p < count; p++)
        {
            _positionOfLabel[labelOfPosition[p]] = p;
        }

        _rows = new int[]?[count];
    }

    public override int Count => _count;

    public override int Degree => _degree;

    public override GraphKind Kind => GraphKind.Harary;

    /// <summary>The ring position of a label (the inverse relabelling); for tests and the spec.</summary>
    internal int PositionOf(int node) => _positionOfLabel[node];

    /// <summary>The label at a ring position; for tests and the spec.</summary>
    internal int LabelAt(int position) => _labelOfPosition[position];

    public override ReadOnlySpan<int> NeighboursOf(int node)
    {
        CheckNode(node, nameof(node));
        int[]? row = Volatile.Read(ref _rows[node]);
        if (row is null)
        {
            row = BuildRow(node);
            row = Interlocked.CompareExchange(ref _rows[node], row, null) ?? row;
        }

        return row;
    }

    public override bool AreNeighbours(int a, int b)
    {
        CheckNode(a, nameof(a));
        CheckNode(b, nameof(b));
        if (a == b)
        {
            return false;
        }

        int distance = Math.Abs(_positionOfLabel[a] - _positionOfLabel[b]);
        distance = Math.Min(distance, _count - distance);
        return distance <= _halfDegree || ((_degree & 1) == 1 && 2 * distance == _count);
    }

    private int[] BuildRow(int node)
    {
        int p = _positionOfLabel[node];
        var row = new int[_degree];
        int j = 0;
        for (int offset = 1; offset <= _halfDegree; offset++)
        {
            row[j++] = _labelOfPosition[(int)(((long)p + offset) % _count)];
            row[j++] = _labelOfPosition[(int)(((long)p - offset + _count) % _count)];
        }

        if ((_degree & 1) == 1)
        {
            row[j] = _labelOfPosition[(int)(((long)p + (_count / 2)) % _count)];
        }

        Array.Sort(row);
        return row;
    }
}
